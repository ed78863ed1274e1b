"""The one door for a rail's late answer: a processor's webhook, the sandbox's simulate.

An asynchronous rail (a bank transfer) answers long after the pay; its answer
enters here and is settled exactly as a card's would be::

    payment_confirmed(attempt_id="pay_…", result=ChargeResult(status="succeeded", …))

A first payment goes through its checkout session's settle, which checkout
registers when it starts (billing may not import checkout, so the caller passes
it down); an invoice payment goes straight to :func:`billing.payments.payments_settle`.

A confirmation that never comes must not leave a payment ``processing`` for ever:
:func:`invoice_payments_recover` (beat, every minute) asks the rail about invoice payments
still awaited — the rail answers ``failed`` once the account or code has expired — and
feeds the answer through the same door. (A checkout session's are swept by
``checkout.pay.attempts_recover``.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from billing.models import PaymentAttempt
from billing.payments import Outcome, payments_settle
from billing.rails import REGISTRY, get_rail
from billing.rails.base import ChargeResult
from duro.modes import current_mode

STUCK_AFTER = timedelta(minutes=2)

# Checkout's settle, which completes the session in the same transaction.
_session_settler: Callable[..., object] | None = None


def session_settler_register(settle: Callable[..., object]) -> None:
    global _session_settler
    _session_settler = settle


def payment_confirmed(*, attempt_id: str, result: ChargeResult) -> None:
    """The one door for a rail's late answer: a processor's webhook, the sandbox's simulate.

    A first payment goes through its checkout session's settle; an invoice payment straight
    to :func:`payments_settle`. Asked twice, or concurrently, it applies the answer once.
    """
    session_id = (PaymentAttempt.objects.filter(pk=attempt_id)
                  .values_list("session_id", flat=True).first())
    if session_id is None:
        raise ValueError(f"No such payment attempt: {attempt_id!r}")
    if session_id:
        assert _session_settler is not None, "checkout registers its settle when it starts"
        _session_settler(attempt_id=attempt_id, result=result)
    else:
        payments_settle([Outcome(attempt_id, result)])


def invoice_payments_recover(*, now: datetime | None = None, limit: int = 500) -> int:
    """Ask the rail about invoice payments an asynchronous rail still owes an answer for;
    settle those it has answered (paid, bounced, expired). Returns how many were settled."""
    now = now or timezone.now()
    waiting = list(PaymentAttempt.objects.filter(
        status=PaymentAttempt.Status.PROCESSING, session_id="", updated_at__lt=now - STUCK_AFTER,
        rail__in=[r.identifier for r in REGISTRY.values() if r.asynchronous],
    ).order_by("updated_at").values_list("id", "rail")[:limit])
    settled = 0
    for attempt_id, rail_id in waiting:
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=attempt_id,
                                          now=now)
        if result is None or result.status == "processing":
            continue  # the rail never saw it (phase 2 is the caller's) or still waits
        payments_settle([Outcome(attempt_id, result)], now=now)
        settled += 1
    return settled
