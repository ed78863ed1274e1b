"""Celery entry points of billing: the renewal engine, receipt emails and refunds.

    renewals_run_task.delay("test")            # what beat does (CELERY_BEAT_SCHEDULE)
    send_receipt.delay("test", "inv_…")        # what a pay queues after commit
    receipts_sweep.delay("test")               # beat: pending receipts (renewals, lost sends)
    send_invoice_notice.delay("test", "inv_…") # an invoice link or reminder, queued after commit
    invoice_notices_sweep.delay("test")        # beat: invoice emails still pending (lost sends)
    send_customer_notice.delay("test", "ntc_…") # a customer email (billing.notices), after commit
    customer_notices_sweep.delay("test")       # beat: customer emails still pending (lost sends)
    card_expiry_notices.delay("test")          # beat, daily: cards expiring before a renewal
    refund_execute_task.delay("test", "re_…")  # an automatic refund, queued after commit
    refunds_recover_task.delay("test")         # beat: refunds left pending (crash, lost task)

Tasks take ids, call one service, and own their retries: a mail server that
is down is retried with backoff (1, 2, 4, 8 minutes), then logged and given
up. Nothing here can fail or delay a pay, which only enqueues.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.card_expiry import card_expiry_notices_open
from billing.invoice_notices import invoice_notice_send, notices_due
from billing.notices import customer_notice_send, customer_notices_due
from billing.receipts import MAIL_ERRORS, invoice_receipt_send, receipts_due
from billing.refunds import refund_execute, refunds_recover
from billing.renewals import renewals_run
from duro.tasks import ModeTask

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60
# A checkout's receipt is queued on commit; give that a head start before the sweep.
SWEEP_AFTER = timedelta(minutes=2)


@shared_task(base=ModeTask, name="billing.renewals_run")
def renewals_run_task(mode: str, now: str | None = None) -> dict:
    """Run the engine once in ``mode`` at ``now`` (ISO-8601; default: the current time)."""
    when = (parse_datetime(now) if now else None) or timezone.now()
    return renewals_run(now=when).as_dict()


@shared_task(bind=True, base=ModeTask, name="billing.send_receipt", max_retries=4,
             acks_late=True)
def send_receipt(self, mode: str, invoice_id: str) -> str:
    """Send one paid invoice's receipt; retry a mail failure with backoff, then give up."""
    final = self.request.called_directly or self.request.retries >= self.max_retries
    try:
        return invoice_receipt_send(invoice_id=invoice_id, final=final)
    except MAIL_ERRORS as exc:
        logger.warning("receipt email failed; will retry",
                       extra={"invoice": invoice_id, "mode": mode, "error": repr(exc),
                              "retry": self.request.retries + 1})
        countdown = RETRY_BASE_SECONDS * 2 ** self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(base=ModeTask, name="billing.receipts_sweep")
def receipts_sweep(mode: str) -> int:
    """Every minute, per mode: queue the receipts still pending (renewals, lost sends)."""
    due = receipts_due(now=timezone.now(), older_than=SWEEP_AFTER)
    for invoice_id in due:
        send_receipt.delay(mode, invoice_id)
    return len(due)


@shared_task(bind=True, base=ModeTask, name="billing.send_invoice_notice", max_retries=4,
             acks_late=True)
def send_invoice_notice(self, mode: str, invoice_id: str) -> str:
    """Send an invoice's pending link or reminder; retry a mail failure with backoff."""
    final = self.request.called_directly or self.request.retries >= self.max_retries
    try:
        return invoice_notice_send(invoice_id=invoice_id, final=final)
    except MAIL_ERRORS as exc:
        logger.warning("invoice email failed; will retry",
                       extra={"invoice": invoice_id, "mode": mode, "error": repr(exc),
                              "retry": self.request.retries + 1})
        countdown = RETRY_BASE_SECONDS * 2 ** self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(base=ModeTask, name="billing.invoice_notices_sweep")
def invoice_notices_sweep(mode: str) -> int:
    """Every minute, per mode: queue the invoice emails whose first send was lost."""
    due = notices_due(now=timezone.now(), older_than=SWEEP_AFTER)
    for invoice_id in due:
        send_invoice_notice.delay(mode, invoice_id)
    return len(due)


@shared_task(bind=True, base=ModeTask, name="billing.send_customer_notice", max_retries=4,
             acks_late=True)
def send_customer_notice(self, mode: str, notice_id: str) -> str:
    """Send one customer email (a failed renewal, an expiring card, a trial ending, a
    cancellation); retry a mail failure with backoff, then give up."""
    final = self.request.called_directly or self.request.retries >= self.max_retries
    try:
        return customer_notice_send(notice_id=notice_id, final=final)
    except MAIL_ERRORS as exc:
        logger.warning("customer email failed; will retry",
                       extra={"notice": notice_id, "mode": mode, "error": repr(exc),
                              "retry": self.request.retries + 1})
        countdown = RETRY_BASE_SECONDS * 2 ** self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(base=ModeTask, name="billing.customer_notices_sweep")
def customer_notices_sweep(mode: str) -> int:
    """Every minute, per mode: queue the customer emails whose first send was lost."""
    due = customer_notices_due(now=timezone.now(), older_than=SWEEP_AFTER)
    for notice_id in due:
        send_customer_notice.delay(mode, notice_id)
    return len(due)


@shared_task(base=ModeTask, name="billing.card_expiry_notices")
def card_expiry_notices(mode: str, now: str | None = None) -> int:
    """Daily, per mode: warn the customers whose card expires before their next renewal
    (``now``: ISO-8601, default the current time). Returns how many were written."""
    when = (parse_datetime(now) if now else None) or timezone.now()
    return card_expiry_notices_open(now=when)


@shared_task(base=ModeTask, name="billing.refund_execute", acks_late=True)
def refund_execute_task(mode: str, refund_id: str) -> str:
    """Ask the rail for one pending refund and settle its answer; returns its status."""
    return refund_execute(refund_id=refund_id).status


@shared_task(base=ModeTask, name="billing.refunds_recover")
def refunds_recover_task(mode: str) -> int:
    """Every minute, per mode: settle refunds left pending, asking the rail by key."""
    return refunds_recover()
