"""Billing models (mode-scoped: they live in the ``test`` or ``live`` store).

Merchants live in ``core``, so ``merchant_id`` here is a plain id, never a
cross-store foreign key.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing.cycle import BillingCycle
from duro.ids import new_id
from duro.models import CURRENCY_CHOICES


def _plan_id() -> str:
    return new_id("pln")


class Interval(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    BIANNUALLY = "biannually"
    ANNUALLY = "annually"


class Plan(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_plan_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="NGN")
    interval = models.CharField(max_length=12, choices=Interval.choices)
    interval_count = models.PositiveIntegerField(default=1)
    trial_days = models.PositiveIntegerField(default=0)
    invoice_limit = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "-created_at"])]

    def __str__(self) -> str:
        return self.name


def _customer_id() -> str:
    return new_id("cus")


def _card_id() -> str:
    return new_id("card")


def _subscription_id() -> str:
    return new_id("sub")


def _invoice_id() -> str:
    return new_id("inv")


def _payment_id() -> str:
    return new_id("pay")


def _refund_id() -> str:
    return new_id("re")


class Customer(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_customer_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    email = models.CharField(max_length=254, blank=True)  # lower-cased
    phone = models.CharField(max_length=20, blank=True)  # E.164
    name = models.CharField(max_length=120, blank=True)
    blacklisted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant_id", "email"], condition=~models.Q(email=""),
                name="customer_unique_email",
            ),
        ]
        indexes = [models.Index(fields=["merchant_id", "phone"])]

    def __str__(self) -> str:
        return self.email or self.phone or self.id


class Card(models.Model):
    """A customer's saved card: what may be shown (brand, last4, expiry) and the rail's
    reusable authorization for renewals. Never the number or the CVC."""

    id = models.CharField(primary_key=True, max_length=40, default=_card_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cards")
    rail = models.CharField(max_length=24, default="card")
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    authorization = models.CharField(max_length=120)
    # HMAC-SHA256 of the number with a server key (billing.rails.cards.card_fingerprint):
    # the same card paid again by the same customer is this row, refreshed.
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "fingerprint"],
                                    condition=~models.Q(fingerprint=""),
                                    name="card_one_per_fingerprint"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class Subscription(models.Model):
    class Status(models.TextChoices):
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due"
        NON_RENEWING = "non_renewing"
        CANCELED = "canceled"
        COMPLETED = "completed"
        PAUSED = "paused"

    id = models.CharField(
        primary_key=True, max_length=32, default=_subscription_id, editable=False
    )
    merchant_id = models.CharField(max_length=32, db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    card = models.ForeignKey(Card, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    anchor = models.DateTimeField()
    # The merchant's IANA zone when the subscription was sold: its periods start at local
    # midnight there for good, whatever zone the merchant chooses later.
    time_zone = models.CharField(max_length=64)
    # The terms it was sold with, copied from the plan when it was opened: editing the plan
    # later (its invoice limit, its trial) changes only the subscriptions sold after.
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    interval = models.CharField(max_length=12, choices=Interval.choices)
    interval_count = models.PositiveIntegerField()
    invoice_limit = models.PositiveIntegerField(null=True, blank=True)
    trial_days = models.PositiveIntegerField()
    period_index = models.IntegerField(default=0)  # -1 while trialing
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    invoices_paid = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The renewal engine's schedule: when it must next act (trial notice, renewal, retry).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dunning_attempts = models.PositiveSmallIntegerField(default=0)  # failures on the open invoice
    trial_will_end_sent = models.BooleanField(default=False)
    # Test clock (test mode): this subscription's own "now"; the beat engine leaves it alone.
    clock = models.DateTimeField(null=True, blank=True)
    # Changes (API.md §13). A downgrade waiting for the period's end; the credit a change
    # left (never refunded), taken off the next invoices; a pause and its planned end.
    pending_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    credit_balance = models.BigIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    resumes_at = models.DateTimeField(null=True, blank=True)
    # The coupon its invoices take, and for a "repeating" one how many invoices still do.
    coupon = models.ForeignKey("Coupon", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="subscriptions")
    coupon_periods_left = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "-created_at"]),
            models.Index(fields=["next_attempt_at", "id"], name="subscription_due",
                         condition=models.Q(next_attempt_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.id

    def cycle(self) -> BillingCycle:
        """Its periods: from its own anchor, interval and zone, never the plan's of today."""
        return BillingCycle.for_anchor(self.interval, self.interval_count, self.anchor,
                                       self.time_zone)


class InvoiceCounter(models.Model):
    """The last invoice number of a merchant in this mode; locked to number without gaps."""

    merchant_id = models.CharField(primary_key=True, max_length=32)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.last_number}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        VOID = "void"
        UNCOLLECTIBLE = "uncollectible"

    CARD_CHECK = "card_check"  # a purpose: see ``purpose`` below
    PRORATION = "proration"  # a plan change's prorated charge (billing.changes)

    id = models.CharField(primary_key=True, max_length=32, default=_invoice_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    number = models.PositiveIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    description = models.CharField(max_length=500, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The receipt email is an outbox row: set "pending" in the transaction that marks the
    # invoice paid, sent after commit, and picked up by a sweep if that send was lost.
    receipt_status = models.CharField(max_length=8, blank=True, default="",
                                      choices=[("", "none"), ("pending", "pending"),
                                               ("sent", "sent"), ("skipped", "skipped"),
                                               ("failed", "failed")])
    receipt_attempts = models.PositiveSmallIntegerField(default=0)
    # What the receipt of a checkout's invoice quotes, copied from the session when the
    # pay creates the invoice (blank for renewals: "INV-<number>", the customer's email).
    checkout_reference = models.CharField(max_length=40, blank=True, default="")
    receipt_email = models.CharField(max_length=254, blank=True, default="")
    # What the merchant attached to the purchase (the checkout session's metadata, which a
    # subscription keeps): every event about this invoice's money carries it.
    metadata = models.JSONField(default=dict, blank=True)
    # The succeeded refunds of its payments, kept by billing.refunds when one settles.
    amount_refunded = models.BigIntegerField(default=0)
    # The hosted invoice page (billing.invoice_links): ``in_test_…`` / ``in_live_…``, minted
    # when a renewal without a reusable authorization opens the invoice; the merchant's
    # name is copied then, so that the page reads one store only.
    hosted_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    merchant_name = models.CharField(max_length=120, blank=True, default="")
    # The latest attempt made on the hosted page (its transfer panel, its OTP step).
    hosted_payment = models.ForeignKey("PaymentAttempt", on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="+")
    # The link email and its reminders are an outbox like the receipt: "pending" with the
    # step to send (0: the link, n: the n-th reminder), sent after commit, swept if lost.
    notice_status = models.CharField(max_length=8, blank=True, default="",
                                     choices=[("", "none"), ("pending", "pending"),
                                              ("sent", "sent"), ("skipped", "skipped"),
                                              ("failed", "failed")])
    notice_step = models.PositiveSmallIntegerField(default=0)
    notice_at = models.DateTimeField(null=True, blank=True)
    # "card_check": a small charge the customer portal asks to save a new card when nothing
    # is due (billing.portal): it pays no period, sends no receipt, and is refunded at once.
    purpose = models.CharField(max_length=12, blank=True, default="",
                               choices=[("", "charge"), (CARD_CHECK, "card check"),
                                        (PRORATION, "proration")])
    # How ``amount`` (what is charged) was reached (billing.pricing): the price before
    # anything (``subtotal``; null on invoices from before), a coupon's discount, VAT on
    # what was left at ``vat_rate`` percent, and a change's credit taken off the total.
    subtotal = models.BigIntegerField(null=True, blank=True)
    discount_amount = models.BigIntegerField(default=0)
    coupon_code = models.CharField(max_length=64, blank=True, default="")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    vat_amount = models.BigIntegerField(default=0)
    credit_applied = models.BigIntegerField(default=0)
    # The seller as the invoice was issued (legal name, address, tax id): a document keeps
    # what it said, whatever the merchant's details become.
    seller = models.JSONField(default=dict, blank=True)
    # A proration invoice's change (billing.changes): the plan it buys and the terms it
    # switches to once paid; a decline leaves the old plan in force.
    change = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="invoice_one_per_period"
            ),
            models.UniqueConstraint(fields=["merchant_id", "number"], name="invoice_number_unique"),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "-created_at"]),
            models.Index(fields=["receipt_status", "paid_at"],
                         condition=models.Q(receipt_status="pending"),
                         name="invoice_receipt_pending"),
            models.Index(fields=["notice_status", "notice_at"],
                         condition=models.Q(notice_status="pending"),
                         name="invoice_notice_pending"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class PaymentAttempt(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        REQUIRES_OTP = "requires_otp"
        PROCESSING = "processing"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ABANDONED = "abandoned"  # the failure code of an attempt a newer one replaced

    id = models.CharField(primary_key=True, max_length=32, default=_payment_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    session_id = models.CharField(max_length=32, blank=True, db_index=True)
    rail = models.CharField(max_length=24)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    rail_reference = models.CharField(max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)  # what the rail was asked with
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    # What an asynchronous rail asked the payer to do (the account to transfer to), shown
    # on the page and in the pay answer until the rail confirms.
    instructions = models.JSONField(default=dict, blank=True)
    # The step a ``requires_otp`` attempt waits for: "otp", "pin" (the card's PIN, never
    # kept) or "redirect" (3-D Secure: the payer authorises at ``step_url``, the bank's page).
    step = models.CharField(max_length=16, blank=True)
    step_url = models.CharField(max_length=1000, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    amount_refunded = models.BigIntegerField(default=0)  # its succeeded refunds
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant_id", "-created_at"]),
            models.Index(fields=["status", "updated_at"]),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def rail_key(self) -> str:
        """The idempotency key the rail was charged with (a checkout's: the attempt id)."""
        return self.idempotency_key or self.id


class Refund(models.Model):
    """Money given back on a succeeded payment, asked of the rail with the refund id as
    idempotency key. ``pending`` until the rail answers; pending and succeeded refunds
    count against what is left to refund."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer"
        DUPLICATE = "duplicate"
        FRAUDULENT = "fraudulent"
        # Automatic: money Duro cannot apply (API.md §9).
        SUBSCRIPTION_CANCELED = "subscription_canceled"
        LATE = "late"
        OVERPAYMENT = "overpayment"
        UNDERPAYMENT = "underpayment"
        # The customer portal's card check (a new card saved when nothing is due).
        CARD_CHECK = "card_check"

    id = models.CharField(primary_key=True, max_length=32, default=_refund_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    payment = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT,
                                related_name="refunds")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    metadata = models.JSONField(default=dict, blank=True)
    rail_reference = models.CharField(max_length=120, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["merchant_id", "-created_at"]),
            models.Index(fields=["status", "updated_at"], name="refund_pending",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return self.id


class DunningPolicy(models.Model):
    """A merchant's retry schedule in this mode: days after a failed renewal was due.

    Without a row, ``settings.DURO_DUNNING_DAYS`` (default ``[1, 3, 5]``) applies."""

    merchant_id = models.CharField(primary_key=True, max_length=32)
    retry_days = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "dunning policies"

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.retry_days}"


class RailSettings(models.Model):
    """A merchant's payment methods in this mode: the rails it switched off.

    Without a row every rail Duro offers is on; a rail registered later is on too (only
    what is *off* is stored). Read through :func:`billing.rails.switches.rails_switched_off`,
    which caches it; written by :func:`billing.rails.switches.rails_switch`."""

    merchant_id = models.CharField(primary_key=True, max_length=32)
    switched_off = models.JSONField(default=list, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "payment methods"
        verbose_name_plural = "payment methods"

    def __str__(self) -> str:
        return f"Payment methods of {self.merchant_id}"


class SandboxCharge(models.Model):
    """The sandbox rail's own ledger: one row per idempotency key, so a charge asked
    twice answers twice with the first outcome. It stands where a processor would."""

    idempotency_key = models.CharField(primary_key=True, max_length=80)
    rail = models.CharField(max_length=24)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.idempotency_key


class SandboxRefund(models.Model):
    """The sandbox rail's ledger of refunds, keyed like its charges: asking twice answers
    with the first outcome and never gives back twice."""

    idempotency_key = models.CharField(primary_key=True, max_length=80)
    charge_key = models.CharField(max_length=80, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.idempotency_key


class ProcessorConnection(models.Model):
    """A merchant's connected live processor (API.md §11): which one, and its secret
    encrypted under ``DURO_ENCRYPTION_KEY`` (:mod:`duro.crypto`). Only the live store holds
    rows (test mode always uses the sandbox); written and read through
    :mod:`billing.processors.connections`, never shown back: ``secret_hint`` is all a page
    displays (``sk_live_…1234``)."""

    merchant_id = models.CharField(primary_key=True, max_length=32)
    processor = models.CharField(max_length=24)
    secret_encrypted = models.TextField()
    secret_hint = models.CharField(max_length=40)
    # Flutterwave's webhook "secret hash" and its encryption key; Paystack needs neither.
    webhook_secret_encrypted = models.TextField(blank=True)
    encryption_key_encrypted = models.TextField(blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    connected_by = models.CharField(max_length=150, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)

    class Meta:
        verbose_name = "processor"
        verbose_name_plural = "processor"

    def __str__(self) -> str:
        return f"{self.processor} for {self.merchant_id}"


class ProcessorEvent(models.Model):
    """A processor's webhook Duro accepted (signature verified), once per delivery: the
    unique ``(processor, event_key)`` makes a redelivery answer 200 and do nothing
    (:mod:`billing.processors.events`). Paystack's events carry no id, so ``event_key`` is
    the sha256 of the raw body (a retry is the same bytes); Flutterwave's the same. Rows
    live in the live store only, as connections do."""

    class Outcome(models.TextChoices):
        APPLIED = "applied"  # the processor's verify answer was settled
        IGNORED = "ignored"  # an event Duro does not act on, or a payment it does not know

    processor = models.CharField(max_length=24)
    event_key = models.CharField(max_length=64)
    merchant_id = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=60)
    payment_id = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["processor", "event_key"],
                                               name="processor_event_once")]

    def __str__(self) -> str:
        return f"{self.processor} {self.name} {self.payment_id or '-'}"


def _notice_id() -> str:
    return new_id("ntc")


class CustomerNotice(models.Model):
    """An email to a subscription's customer about its billing (API.md §12): a failed
    renewal, a card expiring before the next renewal, a trial ending, a cancellation.

    An outbox row like the receipt: written ``pending`` in the transaction that changed
    the subscription, sent after commit by :mod:`billing.notices`, found again by a sweep
    when that send was lost. ``key`` is unique, so the same fact (this attempt failed,
    this card expires before this period's renewal) is emailed once however often it is
    recorded. ``facts`` is what the email says, as it stood at that change: a retry date
    or a decline's words do not drift if the send is late."""

    class Kind(models.TextChoices):
        PAYMENT_FAILED = "payment_failed"
        CARD_EXPIRING = "card_expiring"
        TRIAL_ENDING = "trial_ending"
        SUBSCRIPTION_CANCELED = "subscription_canceled"

    id = models.CharField(primary_key=True, max_length=32, default=_notice_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    key = models.CharField(max_length=160, unique=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT,
                                     related_name="notices")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, default="pending",
                              choices=[("pending", "pending"), ("sent", "sent"),
                                       ("skipped", "skipped"), ("failed", "failed")])
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"], name="customer_notice_pending",
                         condition=models.Q(status="pending")),
            models.Index(fields=["merchant_id", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subscription_id}"


class PortalLink(models.Model):
    """A single-use customer-portal URL (``/portal/pt_test_…``) minted by the API.

    Only the SHA-256 of the token is kept: a database read never yields a working link.
    Its first open marks it used and starts a portal session (:mod:`billing.portal`); the
    merchant's name is copied now so that the portal reads one store only."""

    token_hash = models.CharField(primary_key=True, max_length=64)
    merchant_id = models.CharField(max_length=32, db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    merchant_name = models.CharField(max_length=120, blank=True, default="")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"portal link for {self.customer_id}"


def _coupon_id() -> str:
    return new_id("cpn")


class Coupon(models.Model):
    """A discount a merchant offers (API.md §13): a percentage or a fixed amount in one
    currency, for one invoice, a number of periods or for ever, with an optional limit of
    redemptions and an end. ``code`` is what customers type, kept upper-case."""

    class Duration(models.TextChoices):
        ONCE = "once"
        REPEATING = "repeating"
        FOREVER = "forever"

    id = models.CharField(primary_key=True, max_length=32, default=_coupon_id, editable=False)
    merchant_id = models.CharField(max_length=32)
    code = models.CharField(max_length=64)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)  # 1–100
    amount_off = models.BigIntegerField(null=True, blank=True)  # minor units of currency
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True, default="")
    duration = models.CharField(max_length=10, choices=Duration.choices)
    duration_in_periods = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "code"],
                                               name="coupon_code_unique")]
        indexes = [models.Index(fields=["merchant_id", "-created_at"])]

    def __str__(self) -> str:
        return self.code
