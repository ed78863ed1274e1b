"""Secrets Duro must keep but never show again — a merchant's processor secret key —
encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256, :mod:`cryptography`).

The keys come from ``DURO_ENCRYPTION_KEY``: one or more Fernet keys, comma-separated. The
first encrypts; every one decrypts, so a key is rotated by putting the new one first,
re-encrypting what is stored (:func:`secret_rotate`), then dropping the old one::

    token = secret_encrypt("sk_live_…")       # store this, never the secret
    secret_decrypt(token)                      # "sk_live_…"
    secret_rotate(token)                       # the same secret under the first key

    # a new key:
    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

Without the setting, local development (``DEBUG``) uses a key derived from ``SECRET_KEY``;
anywhere else encrypting or decrypting raises ImproperlyConfigured, before anything is
stored under a key the operator does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENERATE = ('python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"')


class SecretUnreadable(Exception):
    """The token was not made with any configured key, or was altered."""


def _keys() -> list[str]:
    configured = settings.DURO_ENCRYPTION_KEY
    keys = [configured] if isinstance(configured, str) else list(configured)
    keys = [key.strip() for key in keys if key and key.strip()]
    if keys:
        return keys
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            "DURO_ENCRYPTION_KEY must be set when DEBUG is off: it encrypts merchants' "
            f"processor secrets. Generate one with: {GENERATE}")
    derived = hmac.new(settings.SECRET_KEY.encode(), b"duro.encryption", hashlib.sha256)
    return [base64.urlsafe_b64encode(derived.digest()).decode()]


def _fernet() -> MultiFernet:
    fernets = []
    for position, key in enumerate(_keys(), start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"DURO_ENCRYPTION_KEY: key {position} is not a Fernet key (32 url-safe "
                f"base64-encoded bytes). Generate one with: {GENERATE}") from exc
    return MultiFernet(fernets)


def secret_encrypt(secret: str) -> str:
    """The secret, encrypted under the first key: a url-safe text to store."""
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    """The secret back, with whichever configured key made the token."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured "
                               "DURO_ENCRYPTION_KEY.") from exc


def secret_rotate(token: str) -> str:
    """The same secret re-encrypted under the first key (after a new key was put first)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured "
                               "DURO_ENCRYPTION_KEY.") from exc
