"""Strict input fields shared by every API: money and currency."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from duro.models import CURRENCIES


class AmountField(serializers.Field):
    """A positive integer in minor units. Floats, strings, booleans, zero, negatives: refused."""

    default_error_messages = {
        "invalid": "Must be a positive integer amount in the currency's minor unit (kobo for NGN).",
        "max": "Must be at most {max}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Integer in minor units: 1500000 is ₦15,000.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int) or data <= 0:
            self.fail("invalid")
        limit = settings.DURO_MAX_AMOUNT
        if data > limit:
            self.fail("max", max=limit)
        return data

    def to_representation(self, value):
        return int(value)


class CurrencyField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=CURRENCIES, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.upper()
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer, not a string or float."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
