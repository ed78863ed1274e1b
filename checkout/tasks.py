"""Celery entry points of checkout: thin, one service each, mode as an argument."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from billing.changes import changes_recover
from billing.receipts import MAIL_ERRORS
from checkout.identity import identity_code_send, identity_codes_sweep
from checkout.invoice_pay import invoice_attempts_recover
from checkout.pay import attempts_recover
from checkout.sessions import sessions_expire_due
from duro.tasks import ModeTask

logger = logging.getLogger(__name__)


@shared_task(base=ModeTask, name="checkout.recover_payments")
def recover_payments(mode: str) -> int:
    """Settle payments a crash left between charge and settle (every minute, per mode):
    checkout sessions' and hosted invoice pages'."""
    return (attempts_recover() + invoice_attempts_recover()
            + changes_recover(now=timezone.now()))


@shared_task(base=ModeTask, name="checkout.expire_sessions")
def expire_sessions(mode: str) -> int:
    """Mark open sessions past their expiry as expired (every minute, per mode), and delete
    "Use a saved card" asks older than a day."""
    identity_codes_sweep()
    return sessions_expire_due()


@shared_task(bind=True, base=ModeTask, name="checkout.send_identity_code", max_retries=2,
             acks_late=True)
def send_identity_code(self, mode: str, code_id: str) -> str:
    """Email a "Use a saved card" code now; a mail failure is retried twice, quickly (the
    code lives 10 minutes, and the customer can ask again)."""
    try:
        return identity_code_send(code_id)
    except MAIL_ERRORS as exc:
        logger.warning("identity code email failed; will retry",
                       extra={"identity": code_id, "mode": mode, "error": repr(exc)})
        raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1)) from exc
