"""Paying an open invoice on its hosted page (``/invoice/{token}``): the same rails and the
same three phases as a checkout pay, on the invoice instead of a session.

    outcome = invoice_checkout_pay(token="in_test_…", ip=ip, request=PayRequest(rail="card",
                                                                                details={…}))
    outcome = invoice_simulate(token="in_test_…", outcome="paid")   # the sandbox's bank

1. *claim* — one transaction: lock the invoice's subscription, then the invoice
   (the order :func:`billing.payments.payments_settle` locks them in) and the
   latest attempt made on the page; an invoice no longer open, or with an
   attempt still in flight (a card being charged, a transfer awaited), charges
   nothing and answers where it stands. Otherwise open an attempt on the
   invoice (:func:`billing.attempts.attempt_open`, no session) and remember it
   as the page's.
2. *charge* — ask the rail, the attempt id as idempotency key.
3. *settle* — :func:`billing.payments.payments_settle`: the invoice is paid and its
   subscription advanced one period, or the attempt fails and the customer may
   try again. A transfer answers ``processing`` and is settled later through
   :func:`billing.confirmations.payment_confirmed`.

:func:`invoice_attempts_recover` settles page attempts a crash left between
phases 2 and 3, and transfers whose account expired.

A live card's processor steps are the page's, as on the checkout page: the card's PIN
(``PayRequest(pin=…)``), an OTP, and 3-D Secure (the bank's page returns the payer to
``/invoice/{token}/return``: :func:`invoice_step_return`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone

from billing.attempts import attempt_abandon, attempt_open, attempt_resume
from billing.invoice_links import invoice_for_token
from billing.models import Invoice, PaymentAttempt, Subscription
from billing.payments import Outcome, payment_expired, payments_settle
from billing.rails import ChargeResult, RailError, enabled_rails, get_rail
from billing.rails.live import offered_choice_errors
from billing.receipts import receipt_enqueue
from checkout.pay import (
    BLOCKED_MESSAGE,
    CARD_PIN,
    OTP_ABANDONED,
    OTP_TTL,
    PIN_STEPS,
    PayRequest,
    bank_step_decided,
    step_answer_check,
    step_card_check,
    within_pay_budgets,
)
from checkout.simulate import payment_simulate
from duro.db import after_commit, atomic
from duro.errors import Invalid, NotFound, PaymentRefused
from duro.modes import TEST, current_mode

logger = logging.getLogger(__name__)

A = PaymentAttempt.Status
STUCK_AFTER = timedelta(minutes=2)
REPLACED = "Replaced by a new payment attempt."


@dataclass
class InvoiceOutcome:
    status: str  # open | processing | requires_otp | failed | paid | void | uncollectible
    number: int
    error: dict | None = None
    instructions: dict | None = None  # what the payer must do: {"transfer": {…}}

    def as_dict(self) -> dict:
        body: dict[str, object] = {"status": self.status, "number": self.number,
                                   **(self.instructions or {})}
        if self.error:
            body["error"] = self.error
        return body


def invoice_outcome(invoice: Invoice) -> InvoiceOutcome:
    """Where the invoice stands for its page: its own status once settled, else that of the
    latest attempt made on the page."""
    if invoice.status != Invoice.Status.OPEN:
        return InvoiceOutcome(invoice.status, invoice.number)
    payment = invoice.hosted_payment if invoice.hosted_payment_id else None
    if payment is None:
        return InvoiceOutcome("open", invoice.number)
    if payment.status in (A.PROCESSING, A.PENDING):
        return InvoiceOutcome("processing", invoice.number,
                              instructions=payment.instructions or None)
    if payment.status == A.REQUIRES_OTP:
        error = ({"code": payment.failure_code, "message": payment.failure_message}
                 if payment.failure_code else None)
        return InvoiceOutcome("requires_otp", invoice.number, error=error)
    unapplied = payment.status == A.SUCCEEDED and payment.failure_code  # too little, too late
    if unapplied or (payment.status == A.FAILED and payment.failure_message != REPLACED):
        return InvoiceOutcome("failed", invoice.number, error={
            "code": payment.failure_code, "message": payment.failure_message})
    return InvoiceOutcome("open", invoice.number)


def invoice_checkout_pay(*, token: str, ip: str, request: PayRequest) -> InvoiceOutcome:
    """The one entrance of an invoice pay (the page's form). Raises ``NotFound``,
    ``RateLimited``, ``Invalid`` or ``PaymentRefused``; nothing was charged then."""
    invoice = invoice_for_token(token)
    return within_pay_budgets(token=token, ip=ip, request=request,
                              pay=lambda: invoice_pay(invoice_id=invoice.pk, request=request))


def _lock(invoice_id: str) -> Invoice:
    """Subscription, invoice, then the page's attempt: each under its row lock, re-read."""
    sub_id = Invoice.objects.filter(pk=invoice_id).values_list("subscription_id", flat=True).get()
    if sub_id:
        Subscription.objects.select_for_update().filter(pk=sub_id).first()
    invoice = (Invoice.objects.select_for_update(of=("self",)).select_related("customer")
               .get(pk=invoice_id))
    if invoice.hosted_payment_id:
        invoice.hosted_payment = (PaymentAttempt.objects.select_for_update()
                                  .get(pk=invoice.hosted_payment_id))
    return invoice


def invoice_pay(*, invoice_id: str, request: PayRequest,
                now: datetime | None = None) -> InvoiceOutcome:
    """Pay an open invoice on its page; safe to call any number of times, concurrently."""
    mode = current_mode()
    now = now or timezone.now()
    try:
        rail = get_rail(request.rail)
    except RailError as exc:
        raise Invalid(exc.message, code=exc.code, param="rail") from None

    with atomic():  # phase 1: claim
        invoice = _lock(invoice_id)
        payment = invoice.hosted_payment
        if invoice.status != Invoice.Status.OPEN:
            return invoice_outcome(invoice)
        if payment is not None and payment.status in (A.PROCESSING, A.PENDING) and not (
                payment.instructions and (rail.identifier != payment.rail
                                          or payment_expired(payment, now))):
            # One charge at a time: answer with that one. (A payer awaited by an asynchronous
            # rail may pay another way, or ask for fresh instructions once those expired; what
            # arrives for the one left behind is refunded, as a duplicate or late.)
            return invoice_outcome(invoice)
        pending_otp = payment if payment is not None and payment.status == A.REQUIRES_OTP else None
        if request.otp is not None or request.pin is not None:
            if pending_otp is None:
                raise Invalid("No payment is waiting for an OTP or a PIN.",
                              code="no_otp_pending",
                              param="otp" if request.otp is not None else "pin")
            step_answer_check(pending_otp, request)
            step_card_check(pending_otp, rail, request, now=now, currency=invoice.currency)
            attempt = attempt_resume(attempt=pending_otp)
        else:
            attempt = _open(invoice, rail=rail, request=request, now=now, pending=pending_otp)
        invoice.hosted_payment = attempt
        invoice.save(update_fields=["hosted_payment"])

    back = f"{settings.DURO_PUBLIC_URL}/invoice/{invoice.hosted_token}/return"
    try:  # phase 2: charge, no transaction held
        if attempt is pending_otp and pending_otp.step in PIN_STEPS:
            card = ({**request.details, "email": invoice.customer.email, "return_url": back}
                    if pending_otp.step == CARD_PIN else None)
            result = rail.submit_pin(mode=mode, idempotency_key=attempt.pk, pin=str(request.pin),
                                     merchant_id=attempt.merchant_id, amount=attempt.amount,
                                     currency=attempt.currency, details=card)
        elif attempt is pending_otp:
            result = rail.submit_otp(mode=mode, idempotency_key=attempt.pk, otp=str(request.otp),
                                     merchant_id=attempt.merchant_id)
        else:
            details = {**request.details, "email": invoice.customer.email, "return_url": back}
            result = rail.charge(mode=mode, amount=attempt.amount, currency=attempt.currency,
                                 details=details, idempotency_key=attempt.pk,
                                 merchant_id=attempt.merchant_id)
    except RailError as exc:
        result = ChargeResult(status="failed", failure_code=exc.code, failure_message=exc.message)
    return invoice_attempt_settle(attempt_id=attempt.pk, result=result, now=now)


def _open(invoice: Invoice, *, rail, request: PayRequest, now: datetime,
          pending: PaymentAttempt | None) -> PaymentAttempt:
    if rail not in enabled_rails(merchant_id=invoice.merchant_id, currency=invoice.currency,
                                 mode=current_mode(), fresh=True):  # or switched off
        raise Invalid(f"{rail.label} is not available for this payment. Please choose "
                      "another way to pay.", code="rail_unavailable", param="rail")
    errors = rail.validate(request.details, now=now, mode=current_mode(),
                           currency=invoice.currency) or offered_choice_errors(
        rail, request.details, merchant_id=invoice.merchant_id, mode=current_mode())
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first], code="invalid_card", param=first, fields=errors)
    if invoice.customer.blacklisted:
        logger.info("invoice pay refused: blacklisted customer", extra={"invoice": invoice.pk})
        raise PaymentRefused(BLOCKED_MESSAGE, code="customer_blocked")
    if pending is not None:
        attempt_abandon(attempt=pending, message=REPLACED)
    return attempt_open(merchant_id=invoice.merchant_id, customer=invoice.customer,
                        invoice=invoice, session_id="", rail=rail.identifier,
                        amount=invoice.amount, currency=invoice.currency)


def invoice_attempt_settle(*, attempt_id: str, result: ChargeResult,
                           now: datetime | None = None) -> InvoiceOutcome:
    """Phase 3: billing's one settlement path; a paid invoice's receipt is queued."""
    [settled] = payments_settle([Outcome(attempt_id, result)], now=now)
    if settled.applied and settled.status == A.SUCCEEDED and settled.invoice is not None:
        after_commit(partial(receipt_enqueue, current_mode(), settled.invoice.pk),
                     what="receipt email")
    return invoice_outcome(Invoice.objects.select_related("hosted_payment")
                           .get(pk=settled.attempt.invoice_id))


def invoice_step_return(*, token: str) -> InvoiceOutcome:
    """The payer is back from the bank's 3-D Secure page: the rail is asked what the bank
    decided and its answer settles the page's attempt; still undecided, nothing changes."""
    invoice = invoice_for_token(token)
    payment = invoice.hosted_payment
    if payment is not None and payment.status == A.REQUIRES_OTP and payment.step == "redirect":
        try:
            result = get_rail(payment.rail).lookup(
                mode=current_mode(), idempotency_key=payment.pk,
                merchant_id=payment.merchant_id)
        except RailError:
            result = None
        if result is not None and result.status in ("succeeded", "failed"):
            return invoice_attempt_settle(attempt_id=payment.pk, result=result)
    return invoice_outcome(invoice)


def invoice_simulate(*, token: str, outcome: str) -> InvoiceOutcome:
    """Test mode: the sandbox's bank confirms (or bounces) the transfer awaited on the
    invoice's page, through the door a processor's webhook uses. Live tokens: 404."""
    invoice = invoice_for_token(token)
    if current_mode() != TEST:
        raise NotFound("No such invoice.")
    payment_simulate(invoice.hosted_payment, outcome, what="this invoice")
    return invoice_outcome(Invoice.objects.select_related("hosted_payment").get(pk=invoice.pk))


def invoice_attempts_recover(*, now: datetime | None = None) -> int:
    """Settle page attempts left ``processing`` by a crash between charge and settle (or
    a transfer whose account expired), and abandon OTP steps nobody completed. The
    renewal engine's own attempts (keyed by invoice) are not these."""
    now = now or timezone.now()
    page_attempts = PaymentAttempt.objects.filter(session_id="", idempotency_key="",
                                                  invoice__isnull=False)
    stale = page_attempts.filter(status=A.REQUIRES_OTP, updated_at__lt=now - OTP_TTL)
    for attempt_id, step, rail_id, merchant_id in stale.values_list("pk", "step", "rail",
                                                                    "merchant_id"):
        if step == "redirect" and bank_step_decided(attempt_id, rail_id, merchant_id, now,
                                                    settle=invoice_attempt_settle):
            continue  # the bank answered a payer who never came back: settled as it said
        with atomic():
            attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
            if attempt.status == A.REQUIRES_OTP:
                attempt_abandon(attempt=attempt, message=OTP_ABANDONED)
    settled = 0
    stuck = page_attempts.filter(status=A.PROCESSING, updated_at__lt=now - STUCK_AFTER)
    for attempt_id, rail_id, merchant_id in stuck.values_list("pk", "rail", "merchant_id"):
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=attempt_id,
                                          now=now, merchant_id=merchant_id)
        if result is None:
            result = ChargeResult(status="failed", failure_code="interrupted",
                                  failure_message="The payment was interrupted; nothing was "
                                                  "charged. Please try again.")
        elif result.status == "processing":
            continue
        invoice_attempt_settle(attempt_id=attempt_id, result=result, now=now)
        settled += 1
    return settled
