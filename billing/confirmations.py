"""The one door for a rail's late answer: a processor's webhook, the sandbox's simulate.

An asynchronous rail (a bank transfer) answers long after the pay; its answer
enters here and is settled exactly as a card's would be::

    payment_confirmed(attempt_id="pay_…", result=ChargeResult(status="succeeded", …))

A first payment goes through its checkout session's settle, which checkout
registers when it starts (billing may not import checkout, so the caller passes
it down); an invoice payment goes straight to :func:`billing.payments.payments_settle`.

A confirmation that never comes must not leave a payment ``processing`` for ever: the
``checkout.recover_payments`` sweep asks the rail about whatever is still awaited (a
session's: ``checkout.pay.attempts_recover``; the invoice page's:
``checkout.invoice_pay.invoice_attempts_recover``) — the rail answers ``failed`` once the
account or code has expired — and settles the answer the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from billing.models import PaymentAttempt
from billing.payments import Outcome, payments_settle
from billing.rails.base import ChargeResult
from billing.receipts import receipt_enqueue
from duro.db import after_commit
from duro.modes import current_mode

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
        _session_settler(attempt_id=attempt_id, result=result, session_id=session_id)
    else:
        [settled] = payments_settle([Outcome(attempt_id, result)])
        if settled.applied and settled.status == "succeeded" and settled.invoice is not None:
            # The hosted invoice page's payer is waiting for the receipt: queue it now (a
            # broker that is down leaves it to the receipt sweep).
            after_commit(partial(receipt_enqueue, current_mode(), settled.invoice.pk),
                         what="receipt email")
