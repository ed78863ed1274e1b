"""``Idempotency-Key`` on every POST: replay the first answer, refuse a changed body.

A key is claimed by inserting its row before the view runs (the unique
constraint decides between two concurrent requests), and the response is
stored when the view returns. Keys live at least
``DURO_IDEMPOTENCY_TTL_HOURS`` (24 h) per merchant and mode. A 5xx answer
frees the key so that the client can retry.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from duro.api.errors import IdempotencyError
from duro.errors import Invalid
from duro.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class Replay(Exception):
    """The stored first response of this key; raised to short-circuit the view."""

    def __init__(self, status: int, body: bytes):
        self.status = status
        self.body = body


def request_fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.body or b"")
    return digest.hexdigest()


def _ttl_cutoff():
    return timezone.now() - timedelta(hours=settings.DURO_IDEMPOTENCY_TTL_HOURS)


def idempotency_claim(*, merchant, mode: str, key: str, fingerprint: str) -> IdempotencyRecord:
    if len(key) > MAX_KEY_LENGTH or not key.strip():
        raise Invalid("Idempotency-Key must be 1–255 characters.", param="Idempotency-Key")
    IdempotencyRecord.objects.filter(
        merchant=merchant, mode=mode, key=key, created_at__lt=_ttl_cutoff()
    ).delete()
    try:
        with transaction.atomic(using="default"):
            return IdempotencyRecord.objects.create(
                merchant=merchant, mode=mode, key=key, request_hash=fingerprint
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(merchant=merchant, mode=mode, key=key).first()
    if existing is None:  # freed between our insert and read: the caller may retry
        raise IdempotencyError("That Idempotency-Key was just released; retry the request.")
    if existing.request_hash != fingerprint:
        raise IdempotencyError(
            "This Idempotency-Key was used with a different request body or path.",
            param="Idempotency-Key",
        )
    if not existing.completed:
        raise IdempotencyError(
            "A request with this Idempotency-Key is still running.", code="idempotency_in_flight"
        )
    raise Replay(existing.response_status or 200, bytes(existing.response_body or b""))


def idempotency_complete(record: IdempotencyRecord, *, status: int, body: bytes) -> None:
    if status >= 500:
        record.delete()
        return
    record.completed = True
    record.response_status = status
    record.response_body = body
    record.save(update_fields=["completed", "response_status", "response_body"])


def idempotency_release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, completed=False).delete()


def replay_body(body: bytes):
    return json.loads(body) if body else None
