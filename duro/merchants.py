"""Merchant services: create a merchant with its owner login and its four keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
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
