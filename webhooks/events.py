"""The outbox: events are rows written in the transaction that made them happen.

Call :func:`event_emit` inside the service's ``duro.db.atomic()`` block; if
the transaction rolls back, the event never existed. In the same transaction
one :class:`~webhooks.models.Delivery` is written for every enabled endpoint
of the merchant subscribed to the type (or ``*``); after commit the delivery
ids are handed to Celery. A lost message is found again by the sweep.

    event_emit(merchant_id=m.id, type="payment_success", data={...})
    events_emit([Event(merchant_id=m.id, type="subscription_payment_success", data={...}), …])
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import partial

from django.utils import timezone

from duro.db import after_commit, atomic
from duro.modes import current_mode
from webhooks.dispatch import deliveries_enqueue
from webhooks.models import Delivery, Event, WebhookEndpoint

EVENT_TYPES = (
    "payment_success",
    "subscription_created",
    "subscription_payment_success",
    "subscription_payment_failed",
    "subscription_canceled",
    "subscription_completed",
    "subscription_trial_will_end",
    "subscription_non_renewing",
    "subscription_renewing",
    "subscription_updated",
    "subscription_paused",
    "subscription_resumed",
    "refund_succeeded",
    "refund_failed",
)


def _fan_out(events: list[Event], mode: str) -> list[Delivery]:
    """A delivery of each event to each endpoint of its merchant that wants it: one read of
    the endpoints and one insert, however many events."""
    endpoints: dict[str, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        merchant_id__in={event.merchant_id for event in events},
        status=WebhookEndpoint.Status.ENABLED,
    ):
        endpoints[endpoint.merchant_id].append(endpoint)
    now = timezone.now()
    deliveries = [
        Delivery(merchant_id=event.merchant_id, event=event, endpoint=endpoint,
                 next_attempt_at=now, enqueued_at=now)
        for event in events for endpoint in endpoints[event.merchant_id]
        if endpoint.subscribes_to(event.type)
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        after_commit(partial(deliveries_enqueue, ids=[d.id for d in deliveries], mode=mode),
                     what="deliveries")
    return deliveries


def event_emit(*, merchant_id: str, type: str, data: dict) -> Event:
    [event] = events_emit([Event(merchant_id=merchant_id, type=type, data=data)])
    return event


def events_emit(events: list[Event]) -> list[Event]:
    """Several unsaved events (``merchant_id``, ``type``, ``data``) written at once, in the
    order given (a microsecond apart): one insert for the events, one endpoint read and one
    insert for their deliveries, however many (a first pay's two events, a renewal batch's
    hundreds). No savepoint: ``bulk_create`` joins the caller's transaction and fails it
    whole."""
    if not events:
        return []
    unknown = {event.type for event in events} - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"Unknown event type {sorted(unknown)[0]!r}")
    mode = current_mode()
    now = timezone.now()
    for n, event in enumerate(events):
        event.mode, event.created_at = mode, now + timedelta(microseconds=n)
    with atomic(savepoint=False):
        Event.objects.bulk_create(events)
        _fan_out(events, mode)
    return events


TEST_EVENT_TYPE = "webhook_test"  # sent to one endpoint on request; no subscriber chooses it


def event_send_test(*, endpoint: WebhookEndpoint) -> Delivery:
    """A ``webhook_test`` event delivered to this endpoint only (enabled or not), signed
    like any other, so a merchant can check its receiver from the dashboard."""
    mode = current_mode()
    now = timezone.now()
    with atomic():
        event = Event.objects.create(
            merchant_id=endpoint.merchant_id, type=TEST_EVENT_TYPE, mode=mode,
            data={"endpointId": endpoint.pk,
                  "message": "A test event from the Duro dashboard."})
        delivery = Delivery.objects.create(merchant_id=endpoint.merchant_id, event=event,
                                           endpoint=endpoint, next_attempt_at=now,
                                           enqueued_at=now)
        after_commit(partial(deliveries_enqueue, ids=[delivery.id], mode=mode),
                     what="deliveries")
    return delivery


def event_resend(*, event: Event) -> list[Delivery]:
    """Fresh deliveries (new attempt history, same event id) to the endpoints that are
    enabled and subscribed *now*; earlier deliveries are left as they are."""
    mode = current_mode()
    with atomic():
        return _fan_out([event], mode)
