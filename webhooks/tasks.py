"""Celery entry points of webhooks: each takes ids and the mode, and calls one service.

Retries are not Celery retries: the schedule lives in the database
(``Delivery.next_attempt_at``) and :func:`sweep` re-queues what is due.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from duro.tasks import ModeTask
from webhooks.delivery import deliveries_attempt, deliveries_sweep


@shared_task(base=ModeTask, name="webhooks.deliver")
def deliver(mode: str, *delivery_ids: str) -> None:
    """Deliver these ids, topped up with other due deliveries to a batch of
    ``DURO_WEBHOOK_BATCH`` (a backlog drains in batches, whatever its messages)."""
    deliveries_attempt(delivery_ids=delivery_ids,
                       top_up=settings.DURO_WEBHOOK_BATCH - len(delivery_ids))


@shared_task(base=ModeTask, name="webhooks.sweep")
def sweep(mode: str) -> int:
    return deliveries_sweep()
