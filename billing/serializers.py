"""Serializers of the billing API: inputs it validates, and the shapes of its answers.

Inputs are snake_case here and camelCase on the wire. The answers are built
by ``billing.payloads`` (shared with webhook events); the ``…Output``
classes below are schema-only (:class:`~duro.api.schema.SchemaOnly`): they
document those shapes in OpenAPI and never render anything.
"""

from __future__ import annotations

from rest_framework import serializers

from billing.models import (
    Coupon,
    Customer,
    Interval,
    Invoice,
    PaymentAttempt,
    Plan,
    Refund,
    Subscription,
)
from duro.api.fields import AmountField, CurrencyField, MetadataField, StrictIntegerField
from duro.api.schema import SchemaOnly

# A payment's status as API.md §9 names it (billing.payloads.payment_status).
PAYMENT_STATUSES = ["pending", "requires_action", "processing", "succeeded", "failed",
                    "abandoned"]
# What a merchant may give as a refund's reason; the others are Duro's automatic refunds.
MERCHANT_REFUND_REASONS = [Refund.Reason.REQUESTED_BY_CUSTOMER, Refund.Reason.DUPLICATE,
                           Refund.Reason.FRAUDULENT]


class PlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    amount = AmountField()
    currency = CurrencyField(required=False)
    interval = serializers.ChoiceField(choices=Interval.choices)
    interval_count = StrictIntegerField(min_value=1, max_value=365, required=False, default=1)
    trial_days = StrictIntegerField(min_value=0, max_value=730, required=False, default=0)
    invoice_limit = StrictIntegerField(min_value=1, max_value=10_000, required=False,
                                       allow_null=True, default=None)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                        default="")
    active = serializers.BooleanField(required=False, default=True)


class RefundInput(serializers.Serializer):
    payment_id = serializers.CharField(max_length=32, help_text="The payment to refund (pay_…).")
    amount = AmountField(required=False, help_text="Minor units; default: all that is left.")
    reason = serializers.ChoiceField(choices=MERCHANT_REFUND_REASONS, required=False,
                                     default=Refund.Reason.REQUESTED_BY_CUSTOMER)
    metadata = MetadataField(required=False, default=dict)


class CouponInput(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{3,64}$", max_length=64, help_text=(
        "What customers type: 3 to 64 letters, digits, - or _; kept upper-case and unique "
        "per merchant whatever its case."))
    percent_off = StrictIntegerField(min_value=1, max_value=100, required=False,
                                     help_text="1 to 100; or amountOff with currency.")
    amount_off = AmountField(required=False, help_text="Minor units off each invoice (never "
                                                       "below zero); needs currency.")
    currency = CurrencyField(required=False)
    duration = serializers.ChoiceField(choices=Coupon.Duration.choices)
    duration_in_periods = StrictIntegerField(min_value=1, max_value=1000, required=False,
                                             help_text="Only for duration repeating: the "
                                                       "invoices it discounts, the checkout's "
                                                       "first.")
    max_redemptions = StrictIntegerField(min_value=1, max_value=1_000_000_000, required=False)
    expires_at = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if ("percent_off" in attrs) == ("amount_off" in attrs):
            raise serializers.ValidationError(
                {"percent_off": "Give exactly one of percentOff and amountOff."})
        if "amount_off" in attrs and "currency" not in attrs:
            raise serializers.ValidationError({"currency": "amountOff needs a currency."})
        if "percent_off" in attrs and "currency" in attrs:
            raise serializers.ValidationError(
                {"currency": "A percentOff coupon takes no currency."})
        repeating = attrs["duration"] == Coupon.Duration.REPEATING
        if repeating and "duration_in_periods" not in attrs:
            raise serializers.ValidationError(
                {"duration_in_periods": "A repeating coupon needs durationInPeriods."})
        if not repeating and "duration_in_periods" in attrs:
            raise serializers.ValidationError(
                {"duration_in_periods": "Only a repeating coupon takes durationInPeriods."})
        return attrs


# --- Schema only: the shapes of billing.payloads in OpenAPI ---------------------------
# Each class names the function it documents. Their docstrings are published as component
# descriptions, so they speak to API users.

class PlanOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.plan_payload.
    class Meta:
        model = Plan
        fields = ["id", "name", "description", "amount", "currency", "interval",
                  "interval_count", "trial_days", "invoice_limit", "active", "created_at",
                  "updated_at"]


class CardOutput(SchemaOnly, serializers.Serializer):
    """The card a subscription charges, or a payment was made with."""
    # Documents payloads.card_payload.

    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()


class CustomerCardOutput(SchemaOnly, serializers.Serializer):
    """A card the customer saved."""
    # Part of payloads.customer_payload.

    id = serializers.CharField()
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()


class CustomerOutput(SchemaOnly, serializers.ModelSerializer):
    """A customer; events carry it without `cards`."""
    # Documents payloads.customer_payload.

    cards = CustomerCardOutput(many=True)

    class Meta:
        model = Customer
        fields = ["id", "email", "phone", "name", "blacklisted", "created_at", "cards"]


class SubscriptionOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.subscription_payload.
    plan_id = serializers.CharField()
    customer_id = serializers.CharField()
    card = CardOutput(allow_null=True)
    next_payment_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the next charge is planned: the period end, the next dunning retry, or "
                  "the end of a pause that has a date.")
    pending_plan_id = serializers.CharField(
        allow_null=True, help_text="A plan change waiting for the period's end.")
    credit_balance = serializers.IntegerField(
        help_text="Credit from plan changes, taken off the next invoices (never refunded).")
    paused_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current pause began (null unless `paused`).")
    resumes_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current pause ends by itself (null: paused "
                                   "until resumed, or not paused).")

    class Meta:
        model = Subscription
        fields = ["id", "status", "plan_id", "pending_plan_id", "customer_id",
                  "current_period_start", "current_period_end", "cancel_at_period_end",
                  "canceled_at", "trial_end", "invoices_paid", "paused_at", "resumes_at",
                  "next_payment_at", "card", "credit_balance", "metadata", "created_at"]


class FailureOutput(SchemaOnly, serializers.Serializer):
    """Why a payment or refund failed."""
    # Part of payloads.payment_payload and payloads.refund_payload.

    code = serializers.CharField()
    message = serializers.CharField()


class RefundOutput(SchemaOnly, serializers.ModelSerializer):
    """Money given back on a payment: `pending` until the rail answers, then `succeeded` or
    `failed`. Automatic refunds (money Duro cannot apply) carry the reason
    `subscription_canceled`, `duplicate`, `late` or `overpayment`."""
    # Documents payloads.refund_payload.

    payment_id = serializers.CharField()
    failure = FailureOutput(allow_null=True)

    class Meta:
        model = Refund
        fields = ["id", "status", "amount", "currency", "reason", "payment_id", "metadata",
                  "failure", "created_at"]


class PaymentOutput(SchemaOnly, serializers.ModelSerializer):
    """One attempt to take money: `requires_action` waits for the customer (an OTP),
    `abandoned` was replaced by a newer attempt."""
    # Documents payloads.payment_payload.

    status = serializers.ChoiceField(choices=PAYMENT_STATUSES)
    invoice_id = serializers.CharField(allow_null=True)
    session_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField(allow_null=True)
    card = CardOutput(allow_null=True)
    failure = FailureOutput(allow_null=True)
    amount_refunded = serializers.IntegerField(
        help_text="The sum of its succeeded refunds, in minor units.")
    refunds = RefundOutput(many=True)

    class Meta:
        model = PaymentAttempt
        fields = ["id", "status", "rail", "amount", "currency", "amount_refunded",
                  "invoice_id", "session_id", "customer_id", "card", "failure", "created_at",
                  "paid_at", "refunds"]


class InvoiceVatOutput(SchemaOnly, serializers.Serializer):
    rate = serializers.CharField(help_text='The merchant\'s rate when it was issued, in '
                                           'percent: "7.5".')
    amount = serializers.IntegerField(help_text="VAT on the price after any discount, "
                                                "rounded half-up, in minor units.")


class InvoiceDiscountOutput(SchemaOnly, serializers.Serializer):
    coupon_code = serializers.CharField(allow_null=True)
    amount_off = serializers.IntegerField(help_text="In minor units.")


class InvoiceOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.invoice_payload.
    subtotal = serializers.IntegerField(help_text="The price before discount, VAT and "
                                                  "credit, in minor units.")
    discount = InvoiceDiscountOutput(allow_null=True)
    vat = InvoiceVatOutput(allow_null=True, help_text="Added on top of the price as its own "
                                                      "line; null when none was charged.")
    hosted_url = serializers.URLField(help_text="The invoice as a page a customer or an "
                                                "accountant can open: a signed link, no key.")
    pdf_url = serializers.URLField(help_text="The same as a PDF (signed link, no key).")
    subscription_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField()
    payments = PaymentOutput(many=True)
    amount_refunded = serializers.IntegerField(
        help_text="The sum of its payments' succeeded refunds, in minor units.")

    class Meta:
        model = Invoice
        fields = ["id", "number", "status", "amount", "amount_refunded", "currency",
                  "subtotal", "discount", "vat", "hosted_url", "pdf_url",
                  "description",
                  "period_start", "period_end", "subscription_id", "customer_id", "paid_at",
                  "created_at", "payments"]


# --- List filters and actions ------------------------------------------------------

class SubscriptionFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Subscription.Status.choices, required=False)
    customer_id = serializers.CharField(max_length=32, required=False)


class InvoiceFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
    subscription_id = serializers.CharField(max_length=32, required=False)
    customer_id = serializers.CharField(max_length=32, required=False)


class PaymentFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=PAYMENT_STATUSES, required=False)
    customer_id = serializers.CharField(max_length=32, required=False)
    invoice_id = serializers.CharField(max_length=32, required=False)
    session_id = serializers.CharField(max_length=32, required=False)


class RefundFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Refund.Status.choices, required=False)
    payment_id = serializers.CharField(max_length=32, required=False)


class SubscriptionCancelInput(serializers.Serializer):
    at_period_end = serializers.BooleanField(required=False, default=True)


class SubscriptionChangeInput(serializers.Serializer):
    plan_id = serializers.CharField(max_length=32, help_text="The plan to change to (same "
                                    "currency).")
    at = serializers.ChoiceField(choices=["now", "period_end"], required=False,
                                 allow_null=True, default=None, help_text=(
                                     "`now` (an upgrade's default) or `period_end` (a "
                                     "downgrade's default)."))


class ChangePreviewOutput(SchemaOnly, serializers.Serializer):
    """What a plan change would do now: `amountDueNow` is charged on the saved card at
    once; the old plan's unused time is `credit` (never refunded: what is not charged
    against is taken off the next invoices)."""
    # Documents changes.preview_payload.

    amount_due_now = serializers.IntegerField(help_text="Charged now, VAT included.")
    vat_due_now = serializers.IntegerField(help_text="The VAT in `amountDueNow` (0 without "
                                           "a merchant VAT rate).")
    currency = serializers.CharField()
    credit = serializers.IntegerField()
    charge = serializers.IntegerField()
    next_invoice_amount = serializers.IntegerField()
    effective_at = serializers.DateTimeField()
    at = serializers.ChoiceField(choices=["now", "period_end"])
    direction = serializers.ChoiceField(choices=["upgrade", "downgrade", "lateral"])
    plan_id = serializers.CharField()
    anchor_changes = serializers.BooleanField()


class SubscriptionPauseInput(serializers.Serializer):
    resumes_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="Resume by itself at this ISO-8601 time (in the future, at most five years "
                  "ahead); without it, the subscription stays paused until resumed.")


class SubscriptionAdvanceInput(serializers.Serializer):
    to = serializers.DateTimeField(help_text="Move the test clock to this ISO-8601 time.")


class PortalSessionOutput(SchemaOnly, serializers.Serializer):
    """A customer-portal link: open it once, before `expiresAt`, to start a one-hour portal
    session; a second open shows "link used or expired" (410)."""

    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class CouponOutput(SchemaOnly, serializers.Serializer):
    """A coupon (`DELETE` deactivates it: `active` false)."""
    # Documents payloads.coupon_payload.

    id = serializers.CharField()
    code = serializers.CharField()
    percent_off = serializers.IntegerField(allow_null=True)
    amount_off = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    duration = serializers.ChoiceField(choices=Coupon.Duration.choices)
    duration_in_periods = serializers.IntegerField(allow_null=True)
    max_redemptions = serializers.IntegerField(allow_null=True)
    times_redeemed = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
