"""Celery entry points of appearance: the receipt email, sent after a pay commits.

The task takes ids, calls one service, and owns its retries: a mail server
that is down is retried with backoff (1, 2, 4, 8 minutes), then logged and
given up. Nothing here can fail or delay a pay, which only enqueues.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

from appearance.receipts import receipt_send
from duro.modes import mode_context

logger = logging.getLogger(__name__)

MAIL_ERRORS = (OSError, smtplib.SMTPException)
RETRY_BASE_SECONDS = 60


@shared_task(bind=True, name="appearance.send_receipt", max_retries=4, acks_late=True)
def send_receipt(self, mode: str, session_id: str) -> bool:
    with mode_context(mode):
        try:
            return receipt_send(session_id=session_id)
        except MAIL_ERRORS as exc:
            if self.request.called_directly or self.request.retries >= self.max_retries:
                logger.error("receipt email failed; giving up",
                             extra={"session": session_id, "mode": mode, "error": repr(exc)})
                return False
            logger.warning("receipt email failed; will retry",
                           extra={"session": session_id, "mode": mode, "error": repr(exc),
                                  "retry": self.request.retries + 1})
            countdown = RETRY_BASE_SECONDS * 2 ** self.request.retries
            raise self.retry(exc=exc, countdown=countdown) from exc
