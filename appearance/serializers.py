"""The shape of the published appearance in OpenAPI (schema only: ``as_payload`` builds it)."""

from __future__ import annotations

from rest_framework import serializers

from duro.api.schema import SchemaOnly


class MerchantNameOutput(SchemaOnly, serializers.Serializer):
    name = serializers.CharField()


class ColorsOutput(SchemaOnly, serializers.Serializer):
    brand = serializers.CharField()
    accent = serializers.CharField()
    background = serializers.CharField()
    surface = serializers.CharField()
    text = serializers.CharField()


class FontOutput(SchemaOnly, serializers.Serializer):
    key = serializers.CharField()
    stack = serializers.CharField()


class CopyOutput(SchemaOnly, serializers.Serializer):
    headline = serializers.CharField(allow_null=True)
    subheadline = serializers.CharField(allow_null=True)
    pay_label = serializers.CharField(allow_null=True)
    success_message = serializers.CharField(allow_null=True)


class AppearanceOutput(SchemaOnly, serializers.Serializer):
    """The merchant's published look: validated tokens only, never the draft."""
    # Documents selectors.PublishedAppearance.as_payload.

    version = serializers.IntegerField(allow_null=True)
    colors = ColorsOutput()
    font = FontOutput()
    radius = serializers.IntegerField()
    scheme = serializers.ChoiceField(["light", "dark"])
    logo_url = serializers.CharField(allow_null=True)
    copy = CopyOutput()
    support_contact = serializers.CharField(allow_null=True)
    terms_url = serializers.CharField(allow_null=True)
    css_variables = serializers.DictField(child=serializers.CharField())
    theme_url = serializers.CharField(allow_null=True)


class PublicAppearanceOutput(AppearanceOutput):
    # Documents api.PublicAppearanceView's answer: the tokens and the merchant's name.
    merchant = MerchantNameOutput()
