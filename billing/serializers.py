"""Input and output serializers of the billing API (snake_case here, camelCase on the wire)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Customer, Interval, Invoice, PaymentAttempt, Plan, Subscription
from billing.payloads import iso, next_payment_at
from duro.api.fields import AmountField, CurrencyField, StrictIntegerField


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


class PlanOutput(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "description", "amount", "currency", "interval",
                  "interval_count", "trial_days", "invoice_limit", "active", "created_at",
                  "updated_at"]


# --- Customers, subscriptions, invoices, payments ------------------------------------

class CardOutput(serializers.Serializer):
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()


class CustomerOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "email", "phone", "name", "blacklisted", "created_at"]


class SubscriptionOutput(serializers.ModelSerializer):
    plan_id = serializers.CharField()
    customer_id = serializers.CharField()
    card = CardOutput(allow_null=True)
    next_payment_at = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = ["id", "status", "plan_id", "customer_id", "current_period_start",
                  "current_period_end", "cancel_at_period_end", "canceled_at", "trial_end",
                  "invoices_paid", "next_payment_at", "card", "metadata", "created_at"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_payment_at(self, sub) -> str | None:
        """When the next charge is planned: the period end, or the next dunning retry."""
        return iso(next_payment_at(sub))


class PaymentOutput(serializers.ModelSerializer):
    invoice_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField(allow_null=True)
    card = serializers.SerializerMethodField()

    class Meta:
        model = PaymentAttempt
        fields = ["id", "invoice_id", "customer_id", "rail", "status", "amount", "currency",
                  "card", "failure_code", "failure_message", "paid_at", "created_at"]

    @extend_schema_field(CardOutput(allow_null=True))
    def get_card(self, payment) -> dict | None:
        if not payment.card_last4:
            return None
        return {"brand": payment.card_brand, "last4": payment.card_last4,
                "exp_month": payment.card_exp_month, "exp_year": payment.card_exp_year}


class InvoiceOutput(serializers.ModelSerializer):
    subscription_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField()
    payments = PaymentOutput(many=True)

    class Meta:
        model = Invoice
        fields = ["id", "number", "status", "amount", "currency", "description",
                  "period_start", "period_end", "subscription_id", "customer_id", "paid_at",
                  "created_at", "payments"]


class SubscriptionFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Subscription.Status.choices, required=False)
    customer_id = serializers.CharField(max_length=32, required=False)


class InvoiceFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)
    subscription_id = serializers.CharField(max_length=32, required=False)
    customer_id = serializers.CharField(max_length=32, required=False)


class SubscriptionCancelInput(serializers.Serializer):
    at_period_end = serializers.BooleanField(required=False, default=True)


class SubscriptionAdvanceInput(serializers.Serializer):
    to = serializers.DateTimeField(help_text="Move the test clock to this ISO-8601 time.")
