"""The sandbox's stand-in for a bank: confirm (or bounce) a test session's pending transfer.

    session_simulate(token="cs_test_…", outcome="paid")   # → the session's outcome

It asks the rail's sandbox, whose answer then travels the door a processor's webhook
will use (:func:`billing.payments.payment_confirmed`): nothing here settles anything
itself. Live tokens do not have it (a 404, as for an unknown token).
"""

from __future__ import annotations

from billing.confirmations import payment_confirmed
from billing.models import PaymentAttempt
from billing.rails import RailError, get_rail
from checkout.models import CheckoutSession
from checkout.outcomes import PayOutcome, outcome_of
from checkout.selectors import session_for_token
from duro.errors import Invalid, NotFound
from duro.modes import TEST, current_mode

OUTCOMES = ("paid", "failed")


def session_simulate(*, token: str, outcome: str) -> PayOutcome:
    session = session_for_token(token)
    if current_mode() != TEST:
        raise NotFound("No such checkout session.")
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}.", param="outcome")
    payment = PaymentAttempt.objects.filter(pk=session.payment_id).first()
    rail = get_rail(payment.rail) if payment is not None else None
    if payment is None or rail is None or not rail.asynchronous:
        raise Invalid("No payment of this session is waiting for a bank's confirmation.",
                      code="nothing_to_simulate", param="outcome")
    if payment.status == PaymentAttempt.Status.PROCESSING:
        try:
            result = rail.simulate(mode=TEST, idempotency_key=payment.pk, outcome=outcome)
        except RailError as exc:
            raise Invalid(exc.message, code=exc.code, param="outcome") from None
        payment_confirmed(attempt_id=payment.pk, result=result)
    return outcome_of(CheckoutSession.objects.select_related("payment").get(pk=session.pk))
