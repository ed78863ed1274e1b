"""Hand deliveries to Celery: ids and the mode only, and never let a broker outage raise.

Ids go in batches, one message per ``DURO_WEBHOOK_BATCH`` ids (an event fanned
out to several endpoints, a sweep's re-queue).

Called after commit (``transaction.on_commit``) and by the sweep. If the
broker is down the rows stay due in the database and the next sweep queues
them again; that is why a failure here is logged, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app
from django.conf import settings

from webhooks.models import Delivery

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.5}


def deliveries_enqueue(*, ids: Iterable[str], mode: str, countdown: float | None = None) -> int:
    """Send one task per ``DURO_WEBHOOK_BATCH`` delivery ids; returns how many ids were
    handed to the broker."""
    ids = list(ids)
    batch = settings.DURO_WEBHOOK_BATCH
    sent = 0
    try:
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            current_app.send_task(DELIVER_TASK, args=[mode, *chunk], countdown=countdown,
                                  retry_policy=PUBLISH_RETRY_POLICY)
            sent += len(chunk)
    except Exception as exc:  # any broker failure: the sweep recovers from the database
        logger.warning("webhooks: could not enqueue deliveries; the sweep will retry",
                       extra={"error": repr(exc), "pending": len(ids) - sent})
        try:
            Delivery.objects.filter(pk__in=ids[sent:]).update(enqueued_at=None)
        except Exception as db_exc:
            logger.warning("webhooks: could not clear enqueued_at",
                           extra={"error": repr(db_exc)})
    return sent
