"""Reads of webhooks data, always scoped to one merchant, with their joins already made.

The dashboard's :func:`delivery_stats` also takes ``merchant_id=None``: every
merchant, for operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import TruncDate

from duro.errors import NotFound
from webhooks.models import Delivery, Event, WebhookEndpoint


def endpoint_list(*, merchant_id: str) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant_id=merchant_id)


def endpoint_get(*, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = endpoint_list(merchant_id=merchant_id).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No such webhook endpoint: {endpoint_id!r}.", param="id")
    return endpoint


def event_list(*, merchant_id: str, type: str | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(merchant_id=merchant_id)
    return events.filter(type=type) if type else events


def event_get(*, merchant_id: str, event_id: str, with_deliveries: bool = False) -> Event:
    events = event_list(merchant_id=merchant_id)
    if with_deliveries:
        events = events.prefetch_related(Prefetch(
            "deliveries",
            queryset=Delivery.objects.select_related("endpoint")
            .prefetch_related("attempts").order_by("created_at", "id"),
        ))
    event = events.filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"No such event: {event_id!r}.", param="id")
    return event


@dataclass(frozen=True)
class DeliveryStats:
    """Deliveries created since a moment that are finished (not pending), and succeeded;
    per day (in the current time zone) how many succeeded and how many failed."""

    finished: int
    succeeded: int
    succeeded_by_day: dict[date, int]
    failed_by_day: dict[date, int]


def delivery_stats(*, merchant_id: str | None, since: datetime) -> DeliveryStats:
    scope = {} if merchant_id is None else {"merchant_id": merchant_id}
    finished = Delivery.objects.filter(created_at__gte=since, **scope).exclude(
        status=Delivery.Status.PENDING)
    succeeded_by_day: dict[date, int] = {}
    failed_by_day: dict[date, int] = {}
    for row in (finished.annotate(day=TruncDate("created_at")).values("day", "status")
                .annotate(n=Count("id"))):
        target = (succeeded_by_day if row["status"] == Delivery.Status.SUCCEEDED
                  else failed_by_day)
        target[row["day"]] = target.get(row["day"], 0) + row["n"]
    return DeliveryStats(finished=sum(succeeded_by_day.values()) + sum(failed_by_day.values()),
                         succeeded=sum(succeeded_by_day.values()),
                         succeeded_by_day=succeeded_by_day, failed_by_day=failed_by_day)
