"""Checkout API serializers: inputs (every bad field is a 400 naming its param) and the
schema-only shapes of its answers."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.core.validators import validate_email
from django.utils import timezone
from rest_framework import serializers

from appearance.serializers import AppearanceOutput, MerchantNameOutput
from billing.contacts import InvalidPhone, normalise_email, normalise_phone
from billing.serializers import FailureOutput, PaymentOutput
from duro.api.fields import AmountField, CurrencyField, MetadataField
from duro.api.schema import SchemaOnly
from duro.regions import region_for

EXPIRY_MIN = timedelta(minutes=30)
EXPIRY_MAX = timedelta(hours=24)


class ReturnUrlField(serializers.CharField):
    """An absolute http(s) URL; https only in live mode."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, required=False, allow_blank=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- a port out of range raises here
        except ValueError:
            raise serializers.ValidationError("Not a valid URL.") from None
        live = self.context.get("mode") == "live"
        allowed = ("https",) if live else ("http", "https")
        if parts.scheme not in allowed or not parts.netloc or not parts.hostname:
            raise serializers.ValidationError(
                "Must be an absolute https:// URL." if live
                else "Must be an absolute http:// or https:// URL."
            )
        if parts.username or parts.password:
            raise serializers.ValidationError("Must not carry credentials.")
        return value


class SessionInput(serializers.Serializer):
    plan_id = serializers.CharField(required=False, max_length=40)
    amount = AmountField(required=False)
    currency = CurrencyField(required=False)
    description = serializers.CharField(required=False, max_length=500, allow_blank=True)
    success_url = ReturnUrlField()
    cancel_url = ReturnUrlField()
    customer_email = serializers.CharField(required=False, max_length=254, allow_blank=True)
    customer_phone = serializers.CharField(required=False, max_length=32, allow_blank=True)
    metadata = MetadataField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    coupon_code = serializers.CharField(required=False, max_length=64, help_text=(
        "A coupon of yours to apply (API.md §13): unknown, inactive, expired, used up or of "
        "another currency is a 400 naming couponCode."))
    allow_coupons = serializers.BooleanField(required=False, default=False, help_text=(
        "The hosted page asks for a promo code; the pay takes it as couponCode."))

    def validate_customer_email(self, value):
        value = normalise_email(value)
        if value:
            try:
                validate_email(value)
            except Exception:
                raise serializers.ValidationError("Enter a valid email address.") from None
        return value


    def validate_expires_at(self, value):
        ahead = value - timezone.now()
        if not EXPIRY_MIN <= ahead <= EXPIRY_MAX:
            raise serializers.ValidationError("Must be between 30 minutes and 24 hours ahead.")
        return value

    def validate(self, attrs):
        if attrs.get("customer_phone"):
            # Local numbers are read in the session's currency country.
            region = region_for(attrs.get("currency") or self.context.get("currency"))
            try:
                attrs["customer_phone"] = normalise_phone(attrs["customer_phone"], region)
            except InvalidPhone as exc:
                raise serializers.ValidationError({"customer_phone": str(exc)}) from None
        has_plan, has_amount = "plan_id" in attrs, "amount" in attrs
        if has_plan == has_amount:
            raise serializers.ValidationError(
                {"plan_id": "Give either planId or a one-off amount, not both or neither."})
        if attrs.get("coupon_code") and attrs.get("allow_coupons"):
            raise serializers.ValidationError(
                {"allow_coupons": "Give couponCode or allowCoupons, not both."})
        if has_plan and ("currency" in attrs):
            raise serializers.ValidationError(
                {"currency": "A plan session takes the plan's currency; omit currency."})
        return attrs


# --- Schema only: the shapes of checkout's answers in OpenAPI -------------------------
# Each class names the function it documents; the docstrings are published.

SESSION_STATUSES = ["open", "processing", "completed", "expired"]
PAY_STATUSES = ["completed", "failed", "requires_otp", "requires_action", "processing", "open",
                "expired"]
PAY_STEPS = ["otp", "pin", "card_pin", "redirect"]


class SessionOutput(SchemaOnly, serializers.Serializer):
    """A checkout session: `GET /v1/checkout/sessions/{id}` is the verify call."""
    # Documents payloads.session_payload.

    id = serializers.CharField()
    token = serializers.CharField()
    url = serializers.URLField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(SESSION_STATUSES)
    amount = serializers.IntegerField(help_text="Minor units: 1500000 is ₦15,000.")
    currency = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    plan_id = serializers.CharField(allow_null=True)
    success_url = serializers.CharField(allow_null=True)
    cancel_url = serializers.CharField(allow_null=True)
    customer_email = serializers.CharField(allow_null=True)
    customer_phone = serializers.CharField(allow_null=True)
    coupon_code = serializers.CharField(allow_null=True, help_text="The session's coupon: "
                                                                   "given at creation, or by "
                                                                   "the pay.")
    allow_coupons = serializers.BooleanField()
    metadata = serializers.DictField(child=serializers.JSONField())
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    customer_id = serializers.CharField(allow_null=True)
    subscription_id = serializers.CharField(allow_null=True)
    invoice_id = serializers.CharField(allow_null=True)
    payment = PaymentOutput(allow_null=True)


class PlanSummaryOutput(SchemaOnly, serializers.Serializer):
    # Documents payloads.plan_summary.
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    interval = serializers.CharField()
    interval_count = serializers.IntegerField()
    trial_days = serializers.IntegerField()
    cadence = serializers.CharField()


class PrefillOutput(SchemaOnly, serializers.Serializer):
    email = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)


class RailOutput(SchemaOnly, serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class UssdBankOutput(SchemaOnly, serializers.Serializer):
    code = serializers.CharField(help_text="The bank's USSD code: send it as `ussd.bank`.")
    name = serializers.CharField()


class MobileMoneyProviderOutput(SchemaOnly, serializers.Serializer):
    id = serializers.CharField(help_text="Send it as `mobileMoney.provider`.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class VatOutput(SchemaOnly, serializers.Serializer):
    rate = serializers.CharField(help_text='In percent, as a string: "7.5".')
    amount = serializers.IntegerField(help_text="In minor units, rounded half-up.")


class DiscountOutput(SchemaOnly, serializers.Serializer):
    coupon_code = serializers.CharField()
    amount_off = serializers.IntegerField(help_text="Minor units off the amount, before VAT.")


class HydrateOutput(SchemaOnly, serializers.Serializer):
    """What the hosted page shows: never the metadata, never anything secret."""
    # Documents api.hydrate_payload.

    merchant = MerchantNameOutput()
    mode = serializers.ChoiceField(["test", "live"])
    reference = serializers.CharField()
    status = serializers.ChoiceField(SESSION_STATUSES)
    amount = serializers.IntegerField(help_text="The session's amount, before any discount "
                                                "and VAT.")
    currency = serializers.CharField()
    discount = DiscountOutput(allow_null=True, help_text="The session's coupon (`couponCode`, "
                                                         "or the code a pay gave): null "
                                                         "without one.")
    allow_coupons = serializers.BooleanField(help_text="The page asks for a promo code (the "
                                                       "pay's `couponCode`).")
    vat = VatOutput(allow_null=True, help_text="The merchant's VAT, added on top of the "
                                                "amount; null when it charges none.")
    amount_due = serializers.IntegerField(help_text="What the pay charges: the amount less "
                                                    "the discount, plus VAT (after the "
                                                    "trial, for a trial).")
    amount_label = serializers.CharField(help_text="The amount due, formatted.")
    description = serializers.CharField(allow_null=True)
    plan = PlanSummaryOutput(allow_null=True)
    prefill = PrefillOutput()
    rails = RailOutput(many=True)
    ussd_banks = UssdBankOutput(many=True, help_text="The banks of the `ussd` rail; empty "
                                                     "when it is not offered.")
    mobile_money_providers = MobileMoneyProviderOutput(
        many=True, help_text="The providers of the `mobile_money` rail for the session's "
                             "currency; empty when it is not offered.")
    expires_at = serializers.DateTimeField()
    cancel_url = serializers.CharField(allow_null=True)
    appearance = AppearanceOutput()


class TransferOutput(SchemaOnly, serializers.Serializer):
    # Documents the bank-transfer rail's instructions (billing/rails/transfer.py).
    bank_name = serializers.CharField()
    account_number = serializers.CharField()
    account_name = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()


class UssdOutput(SchemaOnly, serializers.Serializer):
    # Documents the USSD rail's instructions (billing/rails/ussd.py).
    code = serializers.CharField(help_text="What to dial, e.g. `*737*000*123456#`.")
    bank = serializers.CharField()
    bank_code = serializers.CharField()
    expires_at = serializers.DateTimeField()


class MobileMoneyOutput(SchemaOnly, serializers.Serializer):
    # Documents the mobile-money rail's instructions (billing/rails/mobile_money.py).
    instructions = serializers.CharField(help_text="What the payer must do, in words.")
    provider = serializers.CharField()
    provider_name = serializers.CharField()
    phone = serializers.CharField(help_text="The wallet's number, E.164.")
    expires_at = serializers.DateTimeField()


class PayResult(serializers.Serializer):
    """Where a pay left the session; `error` only when it failed or asks for the OTP again;
    while an asynchronous rail waits, what the payer must do: `transfer` (bank transfer),
    `ussd` or `mobileMoney`. A live card's processor may ask for a step: `requires_otp`
    with `step` `otp` (send `otp`), `pin` (send `pin`) or `card_pin` (the processor takes
    the PIN only with the card again, and Duro keeps no card: send `pin` with `card`, the
    same card as the first try; another card is refused with `card_mismatch`), or
    `requires_action` with `step`
    `redirect` (3-D Secure): send the payer's browser to `redirectUrl`, the bank's page,
    which returns them to `/checkout/{token}/return`; then read `…/status`."""
    # Documents outcomes.PayOutcome.as_dict. Not SchemaOnly (nor named …Output): `error`
    # and the instructions are optional.

    status = serializers.ChoiceField(PAY_STATUSES)
    reference = serializers.CharField()
    redirect_url = serializers.CharField(allow_null=True, help_text=(
        "`completed`: the merchant's successUrl; `requires_action`: the bank's page."))
    step = serializers.ChoiceField(PAY_STEPS, required=False, help_text=(
        "What the processor asks for next (`requires_otp`, `requires_action`)."))
    error = FailureOutput(required=False)
    transfer = TransferOutput(required=False)
    ussd = UssdOutput(required=False)
    mobile_money = MobileMoneyOutput(required=False)


class IdentityAskOutput(SchemaOnly, serializers.Serializer):
    """The same for every email, known or not: a code went out only if the merchant knows
    the email. Keep `challenge` in the browser (memory, never a URL) and send it back with
    the code."""
    # Documents api.IdentityAskView's answer.

    challenge = serializers.CharField()
    expires_at = serializers.DateTimeField()
    message = serializers.CharField()


class SavedCardOutput(SchemaOnly, serializers.Serializer):
    """A saved card the proven customer can pay with: shown as `Visa •••• 4242`."""
    # Part of api.IdentityVerifyView's answer.

    id = serializers.CharField()
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()


class IdentityVerifyOutput(SchemaOnly, serializers.Serializer):
    """The right code: the customer's saved cards and the `proof` a pay with one of them
    presents (`{"rail": "card", "savedCard": "card_…", "identityProof": "idp_…"}`)."""
    # Documents api.IdentityVerifyView's answer.

    proof = serializers.CharField()
    expires_at = serializers.DateTimeField()
    email = serializers.CharField()
    cards = SavedCardOutput(many=True)


class StatusOutput(SchemaOnly, serializers.Serializer):
    # Documents api.StatusView's answer.
    status = serializers.ChoiceField(SESSION_STATUSES)
    reference = serializers.CharField()
    redirect_url = serializers.CharField(allow_null=True)


# --- The hosted invoice page's public endpoints ------------------------------------------
INVOICE_PAGE_STATUSES = ["open", "processing", "requires_otp", "failed", "paid", "void",
                         "uncollectible"]


class InvoicePeriodOutput(SchemaOnly, serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class InvoiceHydrateOutput(SchemaOnly, serializers.Serializer):
    """What the hosted invoice page shows: never the metadata, never anything secret."""
    # Documents api.invoice_hydrate_payload.

    merchant = MerchantNameOutput()
    mode = serializers.ChoiceField(["test", "live"])
    number = serializers.IntegerField()
    status = serializers.ChoiceField(INVOICE_PAGE_STATUSES)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    amount_label = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    plan = PlanSummaryOutput(allow_null=True)
    period = InvoicePeriodOutput(allow_null=True)
    rails = RailOutput(many=True)
    ussd_banks = UssdBankOutput(many=True, help_text="The banks of the `ussd` rail; empty "
                                                     "when it is not offered.")
    mobile_money_providers = MobileMoneyProviderOutput(
        many=True, help_text="The providers of the `mobile_money` rail for the invoice's "
                             "currency; empty when it is not offered.")
    appearance = AppearanceOutput()


class InvoicePageResult(serializers.Serializer):
    """Where the invoice stands for its page; `error` only after a failed attempt or a
    wrong OTP, `transfer` only while a bank transfer is awaited."""
    # Documents invoice_pay.InvoiceOutcome.as_dict. Not SchemaOnly: `error` and
    # `transfer` are optional.

    status = serializers.ChoiceField(INVOICE_PAGE_STATUSES)
    number = serializers.IntegerField()
    error = FailureOutput(required=False)
    transfer = TransferOutput(required=False)
