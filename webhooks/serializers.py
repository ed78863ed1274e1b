"""Serializers of the webhooks API: the endpoint input, and the shapes of its answers.

Inputs are snake_case here and camelCase on the wire. The answers are built
by ``webhooks.payloads`` (an event there is also every delivery's body); the
``…Output`` classes below are schema-only (:class:`~duro.api.schema.SchemaOnly`):
they document those shapes in OpenAPI and never render anything.
"""

from __future__ import annotations

from rest_framework import serializers

from duro.api.schema import SchemaOnly
from webhooks.events import EVENT_TYPES
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


class EndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[*EVENT_TYPES, "*"]), allow_empty=False,
        max_length=len(EVENT_TYPES) + 1,
        help_text='Event types to receive, or ["*"] for every type.', min_length=1,
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=WebhookEndpoint.Status.choices, required=False)

    def validate_events(self, value):
        if "*" in value and len(value) > 1:
            raise serializers.ValidationError('Use ["*"] alone, or list event types.')
        return list(dict.fromkeys(value))


# --- Schema only: the shapes of webhooks.payloads in OpenAPI --------------------------
# Each class names the function it documents. Their docstrings are published as component
# descriptions, so they speak to API users.

class EndpointOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.endpoint_payload.
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "status", "disabled_reason",
                  "failing_since", "created_at", "updated_at"]


class EndpointWithSecretOutput(EndpointOutput):
    """Only the create and rotate-secret answers carry the secret."""
    # Documents payloads.endpoint_payload(with_secret=True).

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]


class EventOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.event_payload, which is also the body of every delivery.
    class Meta:
        model = Event
        fields = ["id", "type", "mode", "created_at", "data"]


class AttemptOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.attempt_payload.
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "error"]


class DeliveryOutput(SchemaOnly, serializers.ModelSerializer):
    # Documents payloads.delivery_payload.
    endpoint_url = serializers.CharField(source="endpoint.url")
    attempts = AttemptOutput(many=True)

    class Meta:
        model = Delivery
        fields = ["id", "endpoint_id", "endpoint_url", "status", "attempt_count",
                  "last_status_code", "next_attempt_at", "created_at", "attempts"]


class EventDetailOutput(EventOutput):
    # Documents payloads.event_payload(deliveries=…).
    deliveries = DeliveryOutput(many=True)

    class Meta(EventOutput.Meta):
        fields = [*EventOutput.Meta.fields, "deliveries"]


class ResendOutput(SchemaOnly, serializers.Serializer):
    # Documents the answer of EventResendView.
    event_id = serializers.CharField()
    deliveries = DeliveryOutput(many=True)


class EndpointDeletedOutput(SchemaOnly, serializers.Serializer):
    # Documents the answer of DELETE /v1/webhook-endpoints/{id}.
    id = serializers.CharField()
    deleted = serializers.BooleanField()
