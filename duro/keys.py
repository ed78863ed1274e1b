"""API keys: minting, hashing, rolling, revoking and resolving.

A key is ``<sk|pk>_<mode>_<40 base62>``. Secret keys are stored as SHA-256
(keys carry ~238 bits of randomness, so a fast hash is safe and a slow one
would only slow every API call); the plain key is returned once, from
:func:`key_create` or :func:`key_roll`::

    plain, key = key_create(merchant=m, mode="test", kind=ApiKey.Kind.SECRET)
    key_resolve(plain)  # -> the ApiKey, or None
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from duro.ids import random_base62
from duro.models import ApiKey, Merchant
from duro.modes import mode_from_prefix

KEY_RANDOM_LENGTH = 40
LOOKUP_RANDOM_CHARS = 8
KIND_PREFIX: dict[str, str] = {ApiKey.Kind.SECRET: "sk", ApiKey.Kind.PUBLISHABLE: "pk"}
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _lookup_of(plain: str) -> str:
    prefix, mode, rest = plain.split("_", 2)
    return f"{prefix}_{mode}_{rest[:LOOKUP_RANDOM_CHARS]}"


def key_create(*, merchant: Merchant, mode: str, kind: str) -> tuple[str, ApiKey]:
    plain = f"{KIND_PREFIX[kind]}_{mode}_{random_base62(KEY_RANDOM_LENGTH)}"
    key = ApiKey(merchant=merchant, mode=mode, kind=kind, lookup=_lookup_of(plain))
    if kind == ApiKey.Kind.SECRET:
        key.secret_hash = hash_secret(plain)
    else:
        key.publishable_key = plain
    key.save()
    return plain, key


def key_roll(*, key: ApiKey, grace: timedelta | None = None) -> tuple[str, ApiKey]:
    """Mint the successor of ``key``; the old one stays valid for ``grace`` (default: none)."""
    now = timezone.now()
    with transaction.atomic(using="default"):
        old = ApiKey.objects.select_for_update().get(pk=key.pk)
        if not old.is_active(now) or old.expires_at is not None:
            # Rolled already (a double click): its successor exists; never mint two.
            raise ValueError("Only an active key that was not rolled yet can be rolled.")
        old.expires_at = now + grace if grace else now
        old.save(update_fields=["expires_at"])
        return key_create(merchant=old.merchant, mode=old.mode, kind=old.kind)


def key_revoke(*, key: ApiKey) -> ApiKey:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def key_resolve(plain: str, *, kind: str = ApiKey.Kind.SECRET) -> ApiKey | None:
    """The active key ``plain`` names, or None. Constant-time on the secret."""
    if mode_from_prefix(plain, (KIND_PREFIX[kind],)) is None:
        return None
    if len(plain) > 100:
        return None
    now = timezone.now()
    candidates = ApiKey.objects.select_related("merchant").filter(
        lookup=_lookup_of(plain), kind=kind
    )
    digest = hash_secret(plain)
    for key in candidates:
        stored = key.secret_hash if kind == ApiKey.Kind.SECRET else hash_secret(key.publishable_key)
        if hmac.compare_digest(stored, digest) and key.is_active(now):
            return key
    return None


def key_touch(key: ApiKey) -> None:
    """Record use, at most once a minute per key so reads stay reads."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def active_keys(merchant: Merchant):
    now = timezone.now()
    return [k for k in merchant.api_keys.all() if k.is_active(now)]
