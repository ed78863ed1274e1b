"""Webhook signatures: pure functions a merchant can copy, compatible with Standard Webhooks.

A delivery is signed as ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``
keyed with the bytes that ``whsec_<base64>`` encodes. While a rotated secret
is still valid the header carries one signature per secret, space-separated::

    header = sign("whsec_…", "evt_…", 1700000000, body)
    payload = verify("whsec_…", {"Duro-Event-Id": …, "Duro-Timestamp": …,
                                 "Duro-Signature": header}, body)

No ORM and no clock: ``verify`` takes ``now`` (Unix seconds) for tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
VERSION = "v1"


class WebhookVerificationError(ValueError):
    """The delivery is not authentic, or too old, or malformed."""


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("A webhook secret is 'whsec_' followed by base64.") from exc


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """``v1,<base64 signature>`` of one secret over ``{id}.{timestamp}.{body}``."""
    message = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_bytes(secret), message, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def sign_all(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The header value: one signature per valid secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def _header(headers: Mapping[str, str], *names: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value:
            return value
    raise WebhookVerificationError(f"Missing header {names[0]}.")


def verify(secrets: str | Iterable[str], headers: Mapping[str, str], body: bytes | str,
           now: float | None = None, tolerance: int = 300) -> dict:
    """Check a delivery and return its decoded JSON; raise WebhookVerificationError if not.

    ``secrets`` is one secret or several (while you roll yours). ``headers``
    may use the ``Duro-*`` or the ``webhook-*`` names. Pass the raw body bytes
    exactly as received, before any JSON parsing.
    """
    msg_id = _header(headers, "Duro-Event-Id", "webhook-id")
    raw_timestamp = _header(headers, "Duro-Timestamp", "webhook-timestamp")
    signatures = _header(headers, "Duro-Signature", "webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("Invalid timestamp header.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError("Timestamp outside the tolerance: a stale or replayed "
                                       "delivery (or a clock off by minutes).")
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    expected = [sign(s, msg_id, timestamp, body).encode() for s in candidates]
    for given in signatures.split(" "):
        version, _, _value = given.partition(",")
        if version != VERSION:
            continue
        for want in expected:
            if hmac.compare_digest(want, given.encode()):
                try:
                    return json.loads(_as_bytes(body))
                except ValueError:
                    raise WebhookVerificationError("The body is not JSON.") from None
    raise WebhookVerificationError("No signature matches: wrong secret or altered body.")
