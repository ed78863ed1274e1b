"""Celery entry points of billing: the renewal engine, run by beat every minute per mode.

    renewals_run_task.delay("test")            # what beat does (CELERY_BEAT_SCHEDULE)
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.renewals import renewals_run
from duro.tasks import ModeTask


@shared_task(base=ModeTask, name="billing.renewals_run")
def renewals_run_task(mode: str, now: str | None = None) -> dict:
    """Run the engine once in ``mode`` at ``now`` (ISO-8601; default: the current time)."""
    when = (parse_datetime(now) if now else None) or timezone.now()
    return renewals_run(now=when).as_dict()
