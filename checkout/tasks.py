"""Celery entry points of checkout: thin, one service each, mode as an argument."""

from __future__ import annotations

from celery import shared_task

from checkout.invoice_pay import invoice_attempts_recover
from checkout.pay import attempts_recover
from checkout.sessions import sessions_expire_due
from duro.tasks import ModeTask


@shared_task(base=ModeTask, name="checkout.recover_payments")
def recover_payments(mode: str) -> int:
    """Settle payments a crash left between charge and settle (every minute, per mode):
    checkout sessions' and hosted invoice pages'."""
    return attempts_recover() + invoice_attempts_recover()


@shared_task(base=ModeTask, name="checkout.expire_sessions")
def expire_sessions(mode: str) -> int:
    """Mark open sessions past their expiry as expired (every minute, per mode)."""
    return sessions_expire_due()
