"""The sandbox's stand-in for a bank: answer a test session's pending asynchronous pay.

    session_simulate(token="cs_test_…", outcome="overpaid")   # → the session's outcome

Outcomes (API.md §10): ``paid`` (the exact amount), ``underpaid`` (half of it),
``overpaid`` (a tenth more), ``late`` (the account or code expires with nothing
received, then the money arrives) and ``failed``. Each asks the rail's sandbox
(:mod:`billing.rails.pending`), whose answer then travels the door a processor's
webhook will use (:func:`billing.confirmations.payment_confirmed`): nothing here
decides or settles anything itself. Live tokens do not have it (a 404, as for an
unknown token).
"""

from __future__ import annotations

from billing.confirmations import payment_confirmed
from billing.models import PaymentAttempt
from billing.rails import RailError, get_rail
from billing.rails.pending import PendingRail
from checkout.models import CheckoutSession
from checkout.outcomes import PayOutcome, outcome_of
from checkout.selectors import session_for_token
from duro.errors import Invalid, NotFound
from duro.modes import TEST, current_mode

OUTCOMES = ("paid", "underpaid", "overpaid", "late", "failed")
A = PaymentAttempt.Status


def session_simulate(*, token: str, outcome: str) -> PayOutcome:
    session = session_for_token(token)
    if current_mode() != TEST:
        raise NotFound("No such checkout session.")
    payment = PaymentAttempt.objects.filter(pk=session.payment_id).first()
    payment_simulate(payment, outcome, what="this session")
    return outcome_of(CheckoutSession.objects.select_related("payment").get(pk=session.pk))


def payment_simulate(payment: PaymentAttempt | None, outcome: str, *, what: str) -> None:
    """The sandbox's bank answers ``payment`` (a session's or an invoice page's) with
    ``outcome``; the answer goes through :func:`payment_confirmed`."""
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}.", param="outcome")
    rail = get_rail(payment.rail) if payment is not None else None
    if payment is None or not isinstance(rail, PendingRail):
        raise Invalid(f"No payment of {what} is waiting for a bank's confirmation.",
                      code="nothing_to_simulate", param="outcome")
    if outcome == "late" and payment.status == A.PROCESSING:
        _answer(rail, payment.pk, "expire")  # nothing arrived in time …
        payment.refresh_from_db()
    if payment.status == A.PROCESSING or (
            outcome == "late" and payment.failure_code == rail.expired_code):
        _answer(rail, payment.pk, outcome)  # … and then the money did


def _answer(rail: PendingRail, attempt_id: str, outcome: str) -> None:
    try:
        result = rail.simulate(mode=TEST, idempotency_key=attempt_id, outcome=outcome)
    except RailError as exc:
        raise Invalid(exc.message, code=exc.code, param="outcome") from None
    payment_confirmed(attempt_id=attempt_id, result=result)
