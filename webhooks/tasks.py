"""Celery entry points of webhooks: each takes ids and the mode, and calls one service.

Retries are not Celery retries: the schedule lives in the database
(``Delivery.next_attempt_at``) and :func:`sweep` re-queues what is due.
"""

from __future__ import annotations

from celery import shared_task

from duro.modes import mode_context
from webhooks.delivery import deliveries_sweep, delivery_attempt


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: str, mode: str) -> None:
    with mode_context(mode):
        delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep")
def sweep(mode: str) -> int:
    with mode_context(mode):
        return deliveries_sweep()
