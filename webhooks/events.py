"""The outbox: events are rows written in the transaction that made them happen.

Call :func:`event_emit` inside the service's ``transaction.atomic`` block; if
the transaction rolls back, the event never existed. Delivery to the
merchant's endpoints happens after commit (see the webhooks issue).

    event_emit(merchant_id=m.id, type="payment_success", data={...})
"""

from __future__ import annotations

from duro.modes import current_mode
from webhooks.models import Event

EVENT_TYPES = (
    "payment_success",
    "subscription_created",
    "subscription_payment_success",
    "subscription_payment_failed",
    "subscription_canceled",
    "subscription_completed",
    "subscription_trial_will_end",
    "subscription_non_renewing",
)


def event_emit(*, merchant_id: str, type: str, data: dict) -> Event:
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    return Event.objects.create(merchant_id=merchant_id, type=type, mode=current_mode(), data=data)
