"""Celery entry points of webhooks: each takes ids and the mode, and calls one service.

Retries are not Celery retries: the schedule lives in the database
(``Delivery.next_attempt_at``) and :func:`sweep` re-queues what is due.
"""

from __future__ import annotations

from celery import shared_task

from duro.tasks import ModeTask
from webhooks.delivery import deliveries_sweep, delivery_attempt


@shared_task(base=ModeTask, name="webhooks.deliver")
def deliver(mode: str, delivery_id: str) -> None:
    delivery_attempt(delivery_id=delivery_id)


@shared_task(base=ModeTask, name="webhooks.sweep")
def sweep(mode: str) -> int:
    return deliveries_sweep()
