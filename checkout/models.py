"""Checkout sessions (mode-scoped). A session is what the hosted page sells."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing.models import Coupon, Customer, Invoice, PaymentAttempt, Plan, Subscription
from duro.ids import new_id
from duro.models import CURRENCY_CHOICES


def _session_id() -> str:
    return new_id("cks")


class CheckoutSession(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        PROCESSING = "processing"
        COMPLETED = "completed"
        EXPIRED = "expired"

    id = models.CharField(primary_key=True, max_length=32, default=_session_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    merchant_name = models.CharField(max_length=120)
    token = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    description = models.CharField(max_length=500, blank=True)
    success_url = models.URLField(max_length=2000, blank=True)
    cancel_url = models.URLField(max_length=2000, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True)
    payment = models.ForeignKey(
        PaymentAttempt, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A coupon (API.md §13): the merchant's ``couponCode`` at creation, or the code the
    # customer typed on the page (``allow_coupons``), kept by the pay's claim.
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    allow_coupons = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "-created_at"])]

    def __str__(self) -> str:
        return self.reference

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def effective_status(self) -> str:
        """The status a reader should see: an open session past its expiry is expired,
        even before the sweep writes it down."""
        if self.status == self.Status.OPEN and self.is_expired():
            return self.Status.EXPIRED
        return self.status


def _identity_id() -> str:
    return new_id("idn")


class IdentityCode(models.Model):
    """One "Use a saved card" ask on a session: the email, the customer it names (none
    when the email is unknown: the row exists all the same, so that an unknown email
    behaves exactly like a known one), and what proves the asker.

    Nothing secret is stored in the clear: the 6-digit code is derived from ``salt`` with
    the server's key (:func:`checkout.identity.identity_code_of`), the browser's
    ``challenge`` and, once the code was right, its ``proof`` are kept as SHA-256 hashes.
    """

    id = models.CharField(primary_key=True, max_length=32, default=_identity_id,
                          editable=False)
    merchant_id = models.CharField(max_length=32)
    session = models.ForeignKey(CheckoutSession, on_delete=models.CASCADE,
                                related_name="identity_codes")
    email = models.CharField(max_length=254)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+")
    salt = models.CharField(max_length=32)
    challenge_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    proof_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    proof_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "email", "-created_at"]),
                   models.Index(fields=["created_at"])]  # the sweep

    def __str__(self) -> str:
        return self.id
