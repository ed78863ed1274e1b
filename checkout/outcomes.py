"""What a pay, the status call and the hosted page answer for a session as it stands.

    outcome_of(session).as_dict()   # {"status": "completed", "reference": …, "redirectUrl": …}
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from billing.models import PaymentAttempt
from checkout.models import CheckoutSession


@dataclass
class PayOutcome:
    status: str  # completed | failed | requires_otp | requires_action | processing | open
    #              | expired
    reference: str
    redirect_url: str | None = None
    error: dict | None = None
    instructions: dict | None = None  # what the payer must do: {"transfer": {…}}
    step: str | None = None  # requires_otp: "otp" or "pin"; requires_action: "redirect"

    def as_dict(self) -> dict:
        body: dict[str, object] = {"status": self.status, "reference": self.reference,
                                   "redirectUrl": self.redirect_url, **(self.instructions or {})}
        if self.step:
            body["step"] = self.step
        if self.error:
            body["error"] = self.error
        return body


def success_redirect(session: CheckoutSession) -> str | None:
    """``successUrl`` with ``reference=<ref>`` appended, its own query kept."""
    if not session.success_url:
        return None
    parts = urlsplit(session.success_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "reference"]
    query.append(("reference", session.reference))
    return urlunsplit(parts._replace(query=urlencode(query)))


def outcome_of(session: CheckoutSession) -> PayOutcome:
    """The outcome of the session's latest pay, or where it stands without one."""
    if session.status == CheckoutSession.Status.COMPLETED:
        return PayOutcome("completed", session.reference, success_redirect(session))
    if session.status == CheckoutSession.Status.PROCESSING:
        payment = session.payment if session.payment_id else None
        return PayOutcome("processing", session.reference,
                          instructions=payment.instructions if payment is not None else None)
    payment = session.payment if session.payment_id else None
    if payment is not None and payment.status == PaymentAttempt.Status.REQUIRES_OTP:
        error = ({"code": payment.failure_code, "message": payment.failure_message}
                 if payment.failure_code else None)
        if payment.step == "redirect":  # 3-D Secure: the payer goes to the bank's page
            return PayOutcome("requires_action", session.reference,
                              redirect_url=payment.step_url, error=error, step="redirect")
        return PayOutcome("requires_otp", session.reference, error=error,
                          step=payment.step or "otp")
    unapplied = (payment is not None and payment.status == PaymentAttempt.Status.SUCCEEDED
                 and payment.failure_code)  # money arrived but paid nothing: being refunded
    if payment is not None and (payment.status == PaymentAttempt.Status.FAILED or unapplied):
        return PayOutcome("failed", session.reference, error={
            "code": payment.failure_code, "message": payment.failure_message})
    if session.status == CheckoutSession.Status.EXPIRED:
        return PayOutcome("expired", session.reference)
    return PayOutcome("open", session.reference)
