"""Small factories for webhooks tests: endpoints and emitted events in the test store."""

from __future__ import annotations

from django.db import transaction

from duro.modes import mode_context
from webhooks.endpoints import endpoint_create
from webhooks.events import event_emit


def endpoint_make(merchant_id: str, url: str, events=("*",), mode: str = "test", **kwargs):
    with mode_context(mode):
        return endpoint_create(merchant_id=merchant_id, url=url, events=list(events), **kwargs)


def pay_emit(merchant_id: str, order_id: str = "ord_1", mode: str = "test"):
    """What a plan pay writes: subscription_created + subscription_payment_success."""
    data = {"session": {"id": "cks_x", "metadata": {"orderId": order_id}},
            "subscription": {"id": "sub_x", "status": "active"},
            "invoice": {"id": "inv_x", "amount": 1500000, "currency": "NGN", "status": "paid"},
            "metadata": {"orderId": order_id}}
    with mode_context(mode), transaction.atomic(using=mode):
        return [event_emit(merchant_id=merchant_id, type=t, data=data)
                for t in ("subscription_created", "subscription_payment_success")]
