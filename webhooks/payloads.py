"""Webhooks objects as camelCase dicts: the one representation of each, for API and deliveries.

``GET /v1/webhook-endpoints/…`` and ``GET /v1/events/…`` answer with these,
and :func:`event_payload` is also the body every delivery signs and sends, so
a receiver gets exactly what the API lists. ``webhooks.serializers`` only
documents these shapes for OpenAPI (a test validates one against the other)::

    event_payload(event)                                    # the delivery body
    event_payload(event, deliveries=list(event.deliveries.all()))   # the API detail
"""

from __future__ import annotations

from duro.timestamps import iso
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def endpoint_payload(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    """The endpoint; ``with_secret`` only in the answers to create and rotate-secret."""
    data = {
        "id": endpoint.id, "url": endpoint.url, "events": endpoint.events,
        "description": endpoint.description, "status": endpoint.status,
        "disabledReason": endpoint.disabled_reason, "failingSince": iso(endpoint.failing_since),
        "createdAt": iso(endpoint.created_at), "updatedAt": iso(endpoint.updated_at),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def event_payload(event: Event, *, deliveries: list[Delivery] | None = None) -> dict:
    """The event; with ``deliveries`` (the API detail passes them), their history too."""
    data = {"id": event.id, "type": event.type, "mode": event.mode,
            "createdAt": iso(event.created_at), "data": event.data}
    if deliveries is not None:
        data["deliveries"] = [delivery_payload(d) for d in deliveries]
    return data


def delivery_payload(delivery: Delivery) -> dict:
    """One event owed to one endpoint, with every attempt (oldest first)."""
    return {
        "id": delivery.id, "endpointId": delivery.endpoint_id,
        "endpointUrl": delivery.endpoint.url, "status": delivery.status,
        "attemptCount": delivery.attempt_count, "lastStatusCode": delivery.last_status_code,
        "nextAttemptAt": iso(delivery.next_attempt_at), "createdAt": iso(delivery.created_at),
        "attempts": [attempt_payload(a) for a in delivery.attempts.all()],
    }


def attempt_payload(attempt: DeliveryAttempt) -> dict:
    return {"attemptedAt": iso(attempt.attempted_at), "statusCode": attempt.status_code,
            "durationMs": attempt.duration_ms, "error": attempt.error}
