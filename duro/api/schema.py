"""Schema-only serializers: they document a representation in OpenAPI and never build one.

Every resource has one representation, a plain function next to its model
(``billing.payloads.subscription_payload``, ``webhooks.payloads.event_payload``)
that the API answers and the webhook events both use. A serializer deriving
from :class:`SchemaOnly` tells drf-spectacular that shape: its fields are all
read-only, so the document marks every key as always present, and asking it
to render raises, so a second representation cannot creep back in::

    class PlanOutput(SchemaOnly, serializers.ModelSerializer):  # plan_payload's shape
        class Meta:
            model = Plan
            fields = ["id", "name", …]

The representation tests (``tests/*/test_representations.py``) validate what
the functions return against the generated components.
"""

from __future__ import annotations

from rest_framework import serializers


class SchemaOnly(serializers.Serializer):
    # No docstring on purpose: drf-spectacular would publish it on every component.

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields

    def to_representation(self, instance):
        raise TypeError(f"{type(self).__name__} only documents a shape for OpenAPI; "
                        "build the answer with the resource's payload function.")
