"""Input and output serializers of the billing API (snake_case here, camelCase on the wire)."""

from __future__ import annotations

from rest_framework import serializers

from billing.models import Interval, Plan
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
