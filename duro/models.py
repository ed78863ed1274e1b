"""Core models (schema ``core``): merchants, their staff, API keys, idempotency records."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone as dj_timezone

from duro.ids import new_id
from duro.modes import MODES
from duro.regions import DEFAULT_TIMEZONE

CURRENCIES = ("NGN", "GHS", "KES", "ZAR", "USD")
CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
MODE_CHOICES = [(m, m) for m in MODES]


def _merchant_id() -> str:
    return new_id("mer")


def _key_id() -> str:
    return new_id("key")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class Merchant(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_merchant_id, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    support_email = models.EmailField()
    timezone = models.CharField(
        max_length=64, default=DEFAULT_TIMEZONE, validators=[validate_timezone]
    )
    default_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="NGN")
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    # {"test": [origin, …], "live": […]}: the sites that may frame the hosted page
    # (the inline SDK), written only through duro.origins.checkout_origins_set.
    checkout_origins = models.JSONField(default=dict, blank=True, editable=False)
    # What its invoices print as the seller, and the VAT they add on top of the price
    # (percent; null: none). Written only through duro.tax.tax_details_set (it is cached).
    legal_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    address = models.CharField(max_length=500, blank=True, default="", editable=False)
    tax_id = models.CharField(max_length=64, blank=True, default="", editable=False)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                   editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff login's place in one merchant, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        DEVELOPER = "developer", "Developer"
        SUPPORT = "support", "Support"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OWNER)

    def __str__(self) -> str:
        return f"{self.user} · {self.merchant} ({self.role})"


class ApiKey(models.Model):
    """One of a merchant's keys. Secret keys are kept only as a SHA-256 hash.

    ``lookup`` (the mode prefix plus the first random characters) is indexed
    so authentication finds the row without scanning; the hash is then
    compared in constant time.
    """

    class Kind(models.TextChoices):
        SECRET = "secret", "Secret"
        PUBLISHABLE = "publishable", "Publishable"

    id = models.CharField(primary_key=True, max_length=32, default=_key_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    mode = models.CharField(max_length=4, choices=MODE_CHOICES)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    lookup = models.CharField(max_length=24, db_index=True)
    secret_hash = models.CharField(max_length=64, blank=True)
    publishable_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.display} ({self.merchant_id})"

    @property
    def display(self) -> str:
        """What can be shown again: the whole publishable key, a secret's prefix only."""
        if self.kind == self.Kind.PUBLISHABLE:
            return self.publishable_key
        return f"{self.lookup}…"

    def is_active(self, now=None) -> bool:
        now = now or dj_timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an ``Idempotency-Key``, per merchant and mode."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE)
    mode = models.CharField(max_length=4, choices=MODE_CHOICES)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "mode", "key"], name="idempotency_unique")
        ]

    def __str__(self) -> str:
        return self.key
