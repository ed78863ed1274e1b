"""Merchant services: create a merchant with its owner login and its four keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils.text import slugify

from duro.ids import random_base62
from duro.keys import key_create
from duro.models import ApiKey, Membership, Merchant
from duro.modes import MODES
from duro.regions import DEFAULT_TIMEZONE


@dataclass
class NewMerchant:
    merchant: Merchant
    admin_user: str
    password: str | None
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "merchantId": self.merchant.id,
            "adminUser": self.admin_user,
            "keys": self.keys,
        }


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "merchant"
    slug = base
    while Merchant.objects.filter(slug=slug).exists():
        slug = f"{base}-{random_base62(6).lower()}"
    return slug


def merchant_keys_create(*, merchant: Merchant) -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    for mode in MODES:
        secret, _ = key_create(merchant=merchant, mode=mode, kind=ApiKey.Kind.SECRET)
        publishable, _ = key_create(merchant=merchant, mode=mode, kind=ApiKey.Kind.PUBLISHABLE)
        keys[mode] = {"secret": secret, "publishable": publishable}
    return keys


def merchant_create(
    *, name: str, email: str, password: str | None = None, timezone: str = DEFAULT_TIMEZONE
) -> NewMerchant:
    """A merchant, its owner login (staff, able to use the admin) and its four keys."""
    User = get_user_model()
    with transaction.atomic(using="default"):
        merchant = Merchant.objects.create(
            name=name, slug=_unique_slug(name), support_email=email, timezone=timezone
        )
        username = email.lower()
        if User.objects.filter(username=username).exists():
            username = f"{username}+{merchant.slug}"
        user = User(username=username, email=email, is_staff=True)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, merchant=merchant, role=Membership.Role.OWNER)
        keys = merchant_keys_create(merchant=merchant)
    return NewMerchant(merchant=merchant, admin_user=username, password=password, keys=keys)


# --- time zones, cached ---------------------------------------------------------------
# A first pay opens its subscription in the merchant's zone (billing.periods). The zone
# lives on the core row; like the tax details (duro.tax) it is read from the Django cache
# so that a pay touches only its mode's store. The admin's merchant form is the one place
# it changes: it drops the cached value in its transaction and writes the new one after
# commit.
ZONE_TTL = 24 * 3600


def _zone_key(merchant_id: str) -> str:
    return f"duro:tz:{merchant_id}"


def merchant_timezones(merchant_ids) -> dict[str, str]:
    """Each merchant's IANA zone: one cache read, one core query for those not cached;
    the default zone for a merchant not found."""
    ids = sorted(set(merchant_ids))
    cached = cache.get_many([_zone_key(mid) for mid in ids])
    zones = {mid: cached[_zone_key(mid)] for mid in ids if _zone_key(mid) in cached}
    missing = [mid for mid in ids if mid not in zones]
    if missing:
        found = dict(Merchant.objects.filter(pk__in=missing).values_list("id", "timezone"))
        stored = {mid: found.get(mid) or DEFAULT_TIMEZONE for mid in missing}
        for mid in found:
            cache.add(_zone_key(mid), stored[mid], ZONE_TTL)  # never over a newer value
        zones.update(stored)
    return zones


def merchant_timezone_changed(merchant: Merchant) -> None:
    """Call in the transaction that saved ``merchant``: its cached zone is dropped now and
    the new one written after commit."""
    key = _zone_key(merchant.pk)
    cache.delete(key)
    zone = merchant.timezone or DEFAULT_TIMEZONE
    transaction.on_commit(lambda: cache.set(key, zone, ZONE_TTL), using="default")
