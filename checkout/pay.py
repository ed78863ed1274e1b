"""The pay: charge once, then create everything a subscriber needs, atomically.

Three phases (API.md §5), so that no money moves inside a long transaction and
a crash between them is recoverable:

1. *claim* — one transaction: lock the session, check it is open and unexpired,
   resolve the customer by contact, refuse a blacklisted one before any charge,
   record a pending ``PaymentAttempt`` and mark the session ``processing``.
   A concurrent or repeated pay sees ``processing``/``completed`` and charges
   nothing.
2. *charge* — ask the rail, with the attempt id as idempotency key.
3. *settle* — one transaction: on success the subscription (or not, for a
   one-off amount), the paid invoice, the attempt, the outbox events and the
   completed session; on decline the failed attempt and the session reopened.

:func:`attempts_recover` settles attempts a crash left between phases 2 and 3,
by asking the rail what happened.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from billing.contacts import InvalidPhone, normalise_email, normalise_phone
from billing.customers import customer_find_by_contact, customer_resolve
from billing.cycle import subscription_start
from billing.invoices import invoice_create
from billing.models import Card, Invoice, PaymentAttempt, Subscription
from billing.payloads import (
    customer_payload,
    invoice_payload,
    payment_payload,
    subscription_payload,
)
from billing.rails import ChargeResult, RailError, get_rail
from billing.tasks import send_receipt
from checkout.models import CheckoutSession
from checkout.payloads import session_payload
from duro.models import Merchant
from duro.modes import current_mode
from webhooks.events import event_emit

logger = logging.getLogger(__name__)

BLOCKED_MESSAGE = "We couldn't process this payment. Please contact the merchant."
STUCK_AFTER = timedelta(minutes=2)


@dataclass
class PayOutcome:
    status: str  # completed | failed | requires_otp | processing
    reference: str
    redirect_url: str | None = None
    error: dict | None = None

    def as_dict(self) -> dict:
        body: dict[str, object] = {"status": self.status, "reference": self.reference,
                                   "redirectUrl": self.redirect_url}
        if self.error:
            body["error"] = self.error
        return body


class PayRejected(Exception):
    """The pay cannot start: bad fields, expired, blacklisted. Nothing was charged."""

    def __init__(self, code: str, message: str, *, param: str | None = None,
                 field_errors: dict[str, str] | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.field_errors = field_errors or ({param: message} if param else {})
        self.status = status


@dataclass
class PayRequest:
    email: str = ""
    phone: str = ""
    rail: str = "card"
    card: dict = field(default_factory=dict)
    otp: str | None = None


def success_redirect(session: CheckoutSession) -> str | None:
    """``successUrl`` with ``reference=<ref>`` appended, its own query kept."""
    if not session.success_url:
        return None
    parts = urlsplit(session.success_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "reference"]
    query.append(("reference", session.reference))
    return urlunsplit(parts._replace(query=urlencode(query)))


def outcome_of(session: CheckoutSession) -> PayOutcome:
    """What a pay (or the status call) answers for a session as it stands."""
    if session.status == CheckoutSession.Status.COMPLETED:
        return PayOutcome("completed", session.reference, success_redirect(session))
    if session.status == CheckoutSession.Status.PROCESSING:
        return PayOutcome("processing", session.reference)
    payment = session.payment if session.payment_id else None
    if payment is not None and payment.status == PaymentAttempt.Status.REQUIRES_OTP:
        return PayOutcome("requires_otp", session.reference)
    if payment is not None and payment.status == PaymentAttempt.Status.FAILED:
        return PayOutcome("failed", session.reference, error={
            "code": payment.failure_code, "message": payment.failure_message})
    if session.status == CheckoutSession.Status.EXPIRED:
        return PayOutcome("expired", session.reference)
    return PayOutcome("open", session.reference)


def _clean_contact(request: PayRequest) -> tuple[str, str]:
    email = normalise_email(request.email)
    errors = {}
    if not email:
        errors["email"] = "Enter your email address."
    else:
        try:
            validate_email(email)
        except Exception:
            errors["email"] = "Enter a valid email address."
    try:
        phone = normalise_phone(request.phone)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
        phone = ""
    if errors:
        first = next(iter(errors))
        raise PayRejected("invalid_contact", errors[first], param=first, field_errors=errors)
    return email, phone


def _lock(session_id: str) -> CheckoutSession:
    return (CheckoutSession.objects.select_for_update(of=("self",))
            .select_related("payment").get(pk=session_id))


def pay_session(*, session_id: str, request: PayRequest, now: datetime | None = None) -> PayOutcome:
    """Pay a session: API.md §5. Safe to call any number of times, concurrently."""
    mode = current_mode()
    now = now or timezone.now()
    try:
        rail = get_rail(request.rail)
    except RailError as exc:
        raise PayRejected(exc.code, exc.message, param="rail") from None

    # Phase 1: claim.
    claimed = _claim(session_id=session_id, request=request, rail=rail, mode=mode, now=now)
    if isinstance(claimed, PayOutcome):
        return claimed
    if claimed is None:  # another pay holds the session: answer with its outcome
        return _outcome_when_settled(session_id)
    attempt, pending_otp = claimed

    # Phase 2: charge (no transaction held).
    try:
        if attempt is pending_otp:
            result = rail.submit_otp(mode=mode, idempotency_key=attempt.id, otp=str(request.otp))
        else:
            result = rail.charge(mode=mode, amount=attempt.amount, currency=attempt.currency,
                                 details=request.card, idempotency_key=attempt.id)
    except RailError as exc:
        result = ChargeResult(status="failed", failure_code=exc.code, failure_message=exc.message)

    # Phase 3: settle.
    return attempt_settle(attempt_id=attempt.id, result=result, now=now)


def _claim(*, session_id: str, request: PayRequest, rail, mode: str, now: datetime):
    """Phase 1, under the session's row lock. Returns the earlier outcome (completed),
    None when another pay is in flight, or the attempt to charge and any pending OTP one."""
    with transaction.atomic(using=mode):
        session = _lock(session_id)
        if session.status == CheckoutSession.Status.COMPLETED:
            return outcome_of(session)
        if session.status == CheckoutSession.Status.PROCESSING:
            return None
        if session.status == CheckoutSession.Status.EXPIRED or session.is_expired(now):
            if session.status != CheckoutSession.Status.EXPIRED:
                session.status = CheckoutSession.Status.EXPIRED
                session.save(update_fields=["status"])
            raise PayRejected("session_expired", "This checkout session has expired.",
                              status=410)
        pending_otp = (session.payment if session.payment is not None
                       and session.payment.status == PaymentAttempt.Status.REQUIRES_OTP else None)
        if request.otp is not None and pending_otp is not None:
            attempt = pending_otp
            attempt.status = PaymentAttempt.Status.PROCESSING
            attempt.save(update_fields=["status", "updated_at"])
        else:
            if request.otp is not None and not request.card:
                raise PayRejected("no_otp_pending", "No payment is waiting for an OTP.",
                                  param="otp")
            email, phone = _clean_contact(request)
            field_errors = rail.validate(request.card, now=now, mode=mode)
            if field_errors:
                first = next(iter(field_errors))
                raise PayRejected("invalid_card", field_errors[first], param=first,
                                  field_errors=field_errors)
            customer = customer_find_by_contact(merchant_id=session.merchant_id, email=email,
                                                phone=phone)
            if customer is not None and customer.blacklisted:
                logger.info("pay refused: blacklisted customer",
                            extra={"session": session.id, "customer": customer.id})
                raise PayRejected("customer_blocked", BLOCKED_MESSAGE, status=402)
            if pending_otp is not None:
                _fail(pending_otp, "abandoned", "Replaced by a new payment attempt.")
            trial = session.plan is not None and session.plan.trial_days > 0
            charge_amount = 0 if trial else session.amount
            attempt = PaymentAttempt.objects.create(
                merchant_id=session.merchant_id, customer=customer, session_id=session.id,
                rail=rail.identifier, amount=charge_amount, currency=session.currency,
                status=PaymentAttempt.Status.PROCESSING,
            )
            session.customer_email, session.customer_phone = email, phone
        session.status = CheckoutSession.Status.PROCESSING
        session.payment = attempt
        session.save(update_fields=["status", "payment", "customer_email", "customer_phone"])
    return attempt, pending_otp


def _outcome_when_settled(session_id: str) -> PayOutcome:
    """Wait briefly for a concurrent pay to settle, then answer with the session's outcome."""
    deadline = time.monotonic() + settings.DURO_PAY_WAIT_SECONDS
    pause = 0.05
    while True:
        session = CheckoutSession.objects.select_related("payment").get(pk=session_id)
        if session.status != CheckoutSession.Status.PROCESSING or time.monotonic() > deadline:
            return outcome_of(session)
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)  # back off: the waiters must not starve the payer


def _fail(attempt: PaymentAttempt, code: str, message: str) -> None:
    attempt.status = PaymentAttempt.Status.FAILED
    attempt.failure_code, attempt.failure_message = code, message[:300]
    attempt.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])


def attempt_settle(*, attempt_id: str, result: ChargeResult, now: datetime | None = None
                   ) -> PayOutcome:
    """Phase 3: record the rail's answer; on success create everything, atomically."""
    mode = current_mode()
    now = now or timezone.now()
    with transaction.atomic(using=mode):
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        session = _lock(attempt.session_id)
        if attempt.status in (PaymentAttempt.Status.SUCCEEDED, PaymentAttempt.Status.FAILED):
            return outcome_of(session)  # settled already (by a retry or the recovery sweep)
        if result.card:
            attempt.card_brand, attempt.card_last4 = result.card.brand, result.card.last4
            attempt.card_exp_month, attempt.card_exp_year = (result.card.exp_month,
                                                             result.card.exp_year)
        attempt.rail_reference = result.reference or attempt.rail_reference
        if result.status == "succeeded":
            _complete(session=session, attempt=attempt, result=result, now=now)
        elif result.status == "requires_otp":
            attempt.status = PaymentAttempt.Status.REQUIRES_OTP
            attempt.save()
            session.status = CheckoutSession.Status.OPEN
            session.save(update_fields=["status"])
        elif result.status == "processing":
            attempt.save()
        else:
            attempt.status = PaymentAttempt.Status.FAILED
            attempt.failure_code = result.failure_code or "card_declined"
            attempt.failure_message = (result.failure_message or "The payment failed.")[:300]
            attempt.save()
            session.status = CheckoutSession.Status.OPEN
            session.save(update_fields=["status"])
        session.payment = attempt
        return outcome_of(session)


def _complete(*, session: CheckoutSession, attempt: PaymentAttempt, result: ChargeResult,
              now: datetime) -> None:
    merchant_id = session.merchant_id
    customer = customer_resolve(merchant_id=merchant_id, email=session.customer_email,
                                phone=session.customer_phone)
    card = None
    if result.authorization and result.card:
        card = Card.objects.create(
            merchant_id=merchant_id, customer=customer, rail=attempt.rail,
            brand=result.card.brand, last4=result.card.last4, exp_month=result.card.exp_month,
            exp_year=result.card.exp_year, authorization=result.authorization,
        )
    subscription = None
    period_start = period_end = None
    plan = session.plan
    if plan is not None:
        timezone_name = (Merchant.objects.filter(pk=merchant_id)
                         .values_list("timezone", flat=True).first() or "Africa/Lagos")
        start = subscription_start(interval=plan.interval, interval_count=plan.interval_count,
                                   trial_days=plan.trial_days, paid_at=now, tz=timezone_name)
        subscription = Subscription.objects.create(
            merchant_id=merchant_id, customer=customer, plan=plan, card=card,
            status=start.status, anchor=start.anchor, period_index=start.period_index,
            current_period_start=start.current_period_start,
            current_period_end=start.current_period_end, trial_end=start.trial_end,
            invoices_paid=0 if start.trial_end else 1, metadata=session.metadata,
        )
        period_start, period_end = start.current_period_start, start.current_period_end
    invoice = invoice_create(
        merchant_id=merchant_id, customer=customer, subscription=subscription,
        amount=attempt.amount, currency=attempt.currency,
        description=(plan.name if plan is not None else session.description),
        period_start=period_start, period_end=period_end, status=Invoice.Status.PAID, paid_at=now,
    )
    invoice.receipt_status = "pending"  # the receipt email's outbox row
    invoice.checkout_reference, invoice.receipt_email = session.reference, session.customer_email
    invoice.save(update_fields=["receipt_status", "checkout_reference", "receipt_email"])
    attempt.status = PaymentAttempt.Status.SUCCEEDED
    attempt.customer, attempt.invoice, attempt.paid_at = customer, invoice, now
    attempt.save()
    session.status = CheckoutSession.Status.COMPLETED
    session.customer, session.subscription, session.invoice = customer, subscription, invoice
    session.payment, session.completed_at = attempt, now
    session.save()

    data = {
        "session": session_payload(session),
        "customer": customer_payload(customer),
        "subscription": subscription_payload(subscription) if subscription else None,
        "invoice": invoice_payload(invoice, payments=[attempt]),
        "payment": payment_payload(attempt),
        "metadata": session.metadata,
    }
    if subscription is not None:
        event_emit(merchant_id=merchant_id, type="subscription_created", data=data)
        event_emit(merchant_id=merchant_id, type="subscription_payment_success", data=data)
    else:
        event_emit(merchant_id=merchant_id, type="payment_success", data=data)
    mode = current_mode()  # bound now: the callback may run where no mode is set
    transaction.on_commit(lambda: _after_pay(session.id, invoice.id, mode), using=mode)


def _after_pay(session_id: str, invoice_id: str, mode: str) -> None:
    """Side effects after commit: queue the receipt email now.

    A broker that is down must never fail a pay that has already committed: the
    failure is logged and swallowed, and the receipt — still ``pending`` on its
    invoice — goes out with the next sweep instead.
    """
    logger.info("checkout completed", extra={"session": session_id})
    try:
        send_receipt.apply_async(args=(mode, invoice_id), retry=False)
    except Exception:  # any broker/transport failure: the pay stands regardless
        logger.exception("receipt email not queued; the sweep will send it",
                         extra={"session": session_id, "invoice": invoice_id, "mode": mode})


def attempts_recover(*, now: datetime | None = None) -> int:
    """Settle attempts left ``processing`` by a crash between charge and settle."""
    now = now or timezone.now()
    stuck = PaymentAttempt.objects.filter(
        status=PaymentAttempt.Status.PROCESSING, updated_at__lt=now - STUCK_AFTER,
    ).exclude(session_id="").values_list("id", "rail")
    settled = 0
    for attempt_id, rail_id in stuck:
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=attempt_id)
        if result is None:
            result = ChargeResult(status="failed", failure_code="interrupted",
                                  failure_message="The payment was interrupted; nothing was "
                                                  "charged. Please try again.")
        elif result.status == "processing":
            continue
        attempt_settle(attempt_id=attempt_id, result=result, now=now)
        settled += 1
    return settled
