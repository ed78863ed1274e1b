"""Input and output serializers of the webhooks API (snake_case here, camelCase on the wire)."""

from __future__ import annotations

from rest_framework import serializers

from webhooks.events import EVENT_TYPES
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


class EndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[*EVENT_TYPES, "*"]), allow_empty=False,
        max_length=len(EVENT_TYPES) + 1,
        help_text='Event types to receive, or ["*"] for every type.',
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=WebhookEndpoint.Status.choices, required=False)

    def validate_events(self, value):
        if "*" in value and len(value) > 1:
            raise serializers.ValidationError('Use ["*"] alone, or list event types.')
        return list(dict.fromkeys(value))


class EndpointOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "status", "disabled_reason",
                  "failing_since", "created_at", "updated_at"]


class EndpointWithSecretOutput(EndpointOutput):
    """Only the create and rotate-secret answers carry the secret."""

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]


class EventOutput(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "type", "mode", "created_at", "data"]


class AttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "error"]


class DeliveryOutput(serializers.ModelSerializer):
    endpoint_url = serializers.CharField(source="endpoint.url")
    attempts = AttemptOutput(many=True)

    class Meta:
        model = Delivery
        fields = ["id", "endpoint_id", "endpoint_url", "status", "attempt_count",
                  "last_status_code", "next_attempt_at", "created_at", "attempts"]


class EventDetailOutput(EventOutput):
    deliveries = DeliveryOutput(many=True)

    class Meta(EventOutput.Meta):
        fields = [*EventOutput.Meta.fields, "deliveries"]


class ResendOutput(serializers.Serializer):
    event_id = serializers.CharField()
    deliveries = DeliveryOutput(many=True)
