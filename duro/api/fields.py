"""Strict input fields shared by every API: money, currency and a merchant's metadata."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from duro.models import CURRENCIES

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": settings.DURO_MAX_AMOUNT,
                      "description": "Integer in minor units: 1500000 is ₦15,000."})
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


@extend_schema_field({
    "type": "object", "maxProperties": METADATA_MAX_KEYS,
    "description": f"A flat object: ≤ {METADATA_MAX_KEYS} keys of 1–{METADATA_MAX_KEY_LENGTH} "
                   f"characters; values are strings (≤ {METADATA_MAX_VALUE_LENGTH} characters), "
                   "numbers, booleans or null.",
    "additionalProperties": {"nullable": True, "oneOf": [
        {"type": "string", "maxLength": METADATA_MAX_VALUE_LENGTH}, {"type": "number"},
        {"type": "boolean"}]},
})
class MetadataField(serializers.JSONField):
    """A flat JSON object: ≤ 50 keys of 1–40 characters, no nesting, strings ≤ 500."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a flat JSON object.")
        if len(data) > METADATA_MAX_KEYS:
            raise serializers.ValidationError(f"At most {METADATA_MAX_KEYS} keys.")
        for key, value in data.items():
            if not key or len(key) > METADATA_MAX_KEY_LENGTH:
                raise serializers.ValidationError(
                    f"Keys must be 1–{METADATA_MAX_KEY_LENGTH} characters ({key[:50]!r}).")
            if isinstance(value, dict | list):
                raise serializers.ValidationError(f"{key!r}: values must not be nested.")
            if isinstance(value, str) and len(value) > METADATA_MAX_VALUE_LENGTH:
                raise serializers.ValidationError(
                    f"{key!r}: string values are at most {METADATA_MAX_VALUE_LENGTH} characters.")
        return data
