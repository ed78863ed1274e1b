"""Celery entry points of checkout: thin, one service each, mode as an argument."""

from __future__ import annotations

from celery import shared_task

from checkout.pay import attempts_recover
from duro.modes import mode_context


@shared_task(name="checkout.recover_payments")
def recover_payments(mode: str) -> int:
    """Settle payments a crash left between charge and settle (every minute, per mode)."""
    with mode_context(mode):
        return attempts_recover()
