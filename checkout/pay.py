"""The pay: charge once, then let billing's one settlement path create everything.

:func:`checkout_pay` is the one entrance for the JSON pay and the hosted
page's form post: token → mode → session → rate limit → :func:`session_pay`.
A pay runs in three phases (API.md §5), so that no money moves inside a long
transaction and a crash between them is recoverable:

1. *claim* — one transaction: lock the session, check it is open and unexpired,
   resolve the customer by contact, refuse a blacklisted one before any charge,
   open a ``processing`` attempt (:func:`billing.payments.attempt_open`) and
   mark the session ``processing``. A concurrent or repeated pay sees
   ``processing``/``completed`` and charges nothing.
2. *charge* — ask the rail, with the attempt id as idempotency key.
3. *settle* — :func:`attempt_settle`: lock the session, hand the answer to
   :func:`billing.payments.payments_settle`, which creates the customer,
   subscription, paid invoice, attempt and events; checkout's own part —
   completing the session, or reopening it after a decline — is written in
   the same transaction.

:func:`attempts_recover` settles attempts a crash left between phases 2 and 3,
by asking the rail what happened.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from billing.attempts import attempt_abandon, attempt_open, attempt_resume
from billing.contacts import InvalidPhone, normalise_email, normalise_phone
from billing.coupons import coupon_usable
from billing.customers import customer_find_by_contact
from billing.models import Card, Coupon, PaymentAttempt
from billing.payments import (
    Order,
    Outcome,
    Settlement,
    payment_expired,
    payments_settle,
)
from billing.processors.connections import connection_of, processor_required_message
from billing.processors.gateway import CARD_AGAIN
from billing.rails import ChargeResult, PaymentRail, RailError, enabled_rails, get_rail
from billing.rails.base import CardDetails
from billing.rails.cards import card_digits
from billing.rails.live import offered_choice_errors
from checkout.identity import identity_for_proof, saved_card_for
from checkout.models import CheckoutSession
from checkout.outcomes import PayOutcome, outcome_of
from checkout.payloads import session_payload
from checkout.pricing import charge_price, charge_subtotal
from checkout.ratelimit import coupon_try_wait, pay_budgets, pay_spend, pay_wait
from checkout.selectors import token_mode_set
from duro.db import atomic
from duro.errors import Gone, Invalid, NotFound, PaymentRefused, RateLimited
from duro.modes import LIVE, current_mode
from duro.regions import region_for
from duro.tax import tax_details

logger = logging.getLogger(__name__)

BLOCKED_MESSAGE = "We couldn't process this payment. Please contact the merchant."
STUCK_AFTER = timedelta(minutes=2)
OTP_TTL = timedelta(minutes=15)  # an OTP step nobody completed by then is abandoned
OTP_ABANDONED = "The one-time code was not entered in time. Please pay again."
OTP_LEFT = "The customer chose to pay another way."
CARD_PIN = "card_pin"  # the processor takes the PIN only with the card again (Flutterwave)
PIN_STEPS = ("pin", CARD_PIN)
A = PaymentAttempt.Status
T = TypeVar("T")


@dataclass
class PayRequest:
    email: str = ""
    phone: str = ""
    rail: str = "card"
    details: dict = field(default_factory=dict)  # the rail's own: card, ussd bank, wallet
    otp: str | None = None
    pin: str | None = None  # the card's PIN, when the processor asked for it (never kept)
    saved_card: str = ""  # a saved card's id, paid through its authorization …
    identity_proof: str = ""  # … by the browser that proved the email (checkout.identity)
    coupon_code: str = ""  # a promo code, on a session with ``allow_coupons`` (blank: keep)


def checkout_pay(*, token: str, ip: str, request: PayRequest) -> PayOutcome:
    """The one entrance of a pay, for the JSON endpoint and the hosted page's form.

    Raises :class:`~duro.errors.NotFound` (no such token), ``RateLimited``,
    ``Invalid`` (bad fields), ``Gone`` (expired) or ``PaymentRefused``; nothing
    was charged then.
    """
    token_mode_set(token)  # the session itself is first read under its lock, by the claim
    if request.coupon_code and (wait := coupon_try_wait(token)):
        raise RateLimited("Too many promo codes tried; try again in "
                          f"{wait} seconds.", retry_after=wait)
    return within_pay_budgets(token=token, ip=ip, request=request,
                              pay=lambda: session_pay(token=token, request=request))


def within_pay_budgets(*, token: str, ip: str, request: PayRequest, pay: Callable[[], T]) -> T:
    """Run ``pay`` inside the rate budgets per token, card and IP (a checkout's or an invoice
    page's): refused with ``RateLimited`` when one is spent, and counted when the pay reached
    the rail or was refused as a blocked payer. ``Invalid`` and ``Gone`` leave before the
    rail and spend nothing."""
    budgets = pay_budgets(token=token, ip=ip, card=request.details)
    if wait := pay_wait(budgets):
        raise RateLimited(f"Too many payment attempts; try again in {wait} seconds.",
                          retry_after=wait)
    try:
        outcome = pay()
    except PaymentRefused:
        pay_spend(budgets)  # a blocked payer probing is still an attempt
        raise
    pay_spend(budgets)
    return outcome


def _clean_contact(request: PayRequest, *, region: str) -> tuple[str, str]:
    email = normalise_email(request.email)
    errors = {}
    if not email:
        errors["email"] = "Enter your email address."
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter a valid email address."
    try:
        phone = normalise_phone(request.phone, region)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
        phone = ""
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first], code="invalid_contact", param=first, fields=errors)
    return email, phone


def _lock(session_id: str | None = None, *, token: str | None = None) -> CheckoutSession:
    """The session (by id, or by its public token) under its row lock, with its latest
    payment re-read and locked too, and that payment's customer (not locked: shown, and
    reused by the settle, never decided on).

    The payment is read by a second statement on purpose: after waiting for the lock,
    PostgreSQL re-checks only the locked row, and a payment joined into the same
    ``SELECT … FOR UPDATE OF`` would still show its state from before the wait (an OTP
    step taken for a payment still processing)."""
    rows = CheckoutSession.objects.select_for_update(of=("self",)).select_related("plan")
    session = (rows.get(pk=session_id) if session_id is not None
               else rows.filter(token=token).first())
    if session is None:
        raise NotFound("No such checkout session.")
    if session.payment_id:
        session.payment = (PaymentAttempt.objects.select_for_update(of=("self",))
                           .select_related("customer").get(pk=session.payment_id))
    return session


def session_pay(*, token: str, request: PayRequest,
                now: datetime | None = None) -> PayOutcome:
    """Pay a session: API.md §5. Safe to call any number of times, concurrently.

    Two transactions, the claim and the settle, with the charge between them (none held
    while the rail is asked); a session that is no longer open answers from the claim."""
    mode = current_mode()
    now = now or timezone.now()
    try:
        rail = get_rail(request.rail)
    except RailError as exc:
        raise Invalid(exc.message, code=exc.code, param="rail") from None


    # Phase 1: claim.
    claimed = _claim(token=token, request=request, rail=rail, now=now)
    if isinstance(claimed, PayOutcome):
        return claimed
    if claimed is None:  # another pay holds the session: answer with its outcome
        return _outcome_when_settled(token)
    attempt, step, session, saved = claimed
    email, expires_at = session.customer_email, session.expires_at

    # Phase 2: charge (no transaction held).
    try:
        if saved is not None:
            result = rail.charge_authorization(
                mode=mode, amount=attempt.amount, currency=attempt.currency,
                authorization=saved.authorization, idempotency_key=attempt.id,
                merchant_id=attempt.merchant_id, email=email,
                card=CardDetails(brand=saved.brand, last4=saved.last4,
                                 exp_month=saved.exp_month, exp_year=saved.exp_year,
                                 fingerprint=saved.fingerprint))
        elif step in PIN_STEPS:
            card = ({**request.details, "email": email, "return_url": step_return_url(token)}
                    if step == CARD_PIN else None)
            result = rail.submit_pin(mode=mode, idempotency_key=attempt.id, pin=str(request.pin),
                                     merchant_id=attempt.merchant_id, amount=attempt.amount,
                                     currency=attempt.currency, details=card)
        elif step:
            result = rail.submit_otp(mode=mode, idempotency_key=attempt.id, otp=str(request.otp),
                                     merchant_id=attempt.merchant_id)
        else:
            details = {**request.details, "email": normalise_email(request.email),
                       "expires_before": expires_at.isoformat(),
                       "return_url": step_return_url(token)}
            result = rail.charge(mode=mode, amount=attempt.amount, currency=attempt.currency,
                                 details=details, idempotency_key=attempt.id,
                                 merchant_id=attempt.merchant_id)
    except RailError as exc:
        result = ChargeResult(status="failed", failure_code=exc.code, failure_message=exc.message)

    # Phase 3: settle.
    return attempt_settle(attempt_id=attempt.id, result=result, now=now, session_id=session.id)


def _claim(*, token: str, request: PayRequest, rail: PaymentRail, now: datetime
           ) -> PayOutcome | tuple[PaymentAttempt, str, CheckoutSession, Card | None] | None:
    """Phase 1, under the session's row lock. Returns the earlier outcome (completed),
    None when another pay is in flight, or the attempt to charge, the step of a pending
    one it completes ("otp", "pin", "card_pin"; "" for a new charge), the session as the
    claim left it (its expiry, token and the payer's email) and the saved card to charge
    (a pay with a saved card)."""
    answered = request.otp is not None or request.pin is not None
    saved: Card | None = None
    if request.saved_card and (answered or rail.identifier != "card"):
        raise Invalid("A saved card pays with rail \"card\" and nothing else.",
                      code="invalid_saved_card", param="savedCard")
    with atomic():
        session = _lock(token=token)
        if session.status == CheckoutSession.Status.COMPLETED:
            return outcome_of(session)
        if session.status == CheckoutSession.Status.PROCESSING:
            waiting = session.payment
            if waiting is None or not waiting.instructions:
                return None  # a charge in flight: its outcome is the answer
            if rail.identifier == waiting.rail and not payment_expired(waiting, now):
                return outcome_of(session)  # waiting for a transfer: show where to send it
            # The payer chose another way (or a fresh account): a new attempt. Money that
            # still arrives for the one left behind is refunded (``duplicate``, ``late``).
        if session.status == CheckoutSession.Status.EXPIRED or session.is_expired(now):
            if session.status != CheckoutSession.Status.EXPIRED:
                session.status = CheckoutSession.Status.EXPIRED
                session.save(update_fields=["status"])
            raise Gone("This checkout session has expired.", code="session_expired")
        if not rail.offered_for(currency=session.currency, mode=current_mode()):
            raise Invalid(f"{rail.label} is not offered for {session.currency} payments.",
                          code="rail_unavailable", param="rail")
        pending_otp = (session.payment if session.payment is not None
                       and session.payment.status == A.REQUIRES_OTP else None)
        if answered and pending_otp is not None:
            step_answer_check(pending_otp, request)
            step_card_check(pending_otp, rail, request, now=now, currency=session.currency)
            attempt = attempt_resume(attempt=pending_otp)
        else:
            if answered and not request.details:
                raise Invalid("No payment is waiting for an OTP or a PIN.",
                              code="no_otp_pending",
                              param="otp" if request.otp is not None else "pin")
            if rail not in enabled_rails(merchant_id=session.merchant_id,
                                         currency=session.currency, mode=current_mode(),
                                         fresh=True):  # switched off by the merchant
                raise Invalid(f"{rail.label} is not available for this payment. Please "
                              "choose another way to pay.", code="rail_unavailable",
                              param="rail")
            if request.saved_card:
                # Paid by a saved card: the email is the one the browser proved with a code.
                identity = identity_for_proof(session=session, proof=request.identity_proof,
                                              now=now)
                saved = saved_card_for(identity, request.saved_card, now=now)
                request = dataclasses.replace(request, email=identity.email, details={})
            email, phone = _clean_contact(request, region=region_for(session.currency))
            field_errors = {} if saved is not None else rail.validate(
                request.details, now=now, mode=current_mode(), currency=session.currency,
            ) or offered_choice_errors(rail, request.details, merchant_id=session.merchant_id,
                                       mode=current_mode())
            if field_errors:
                first = next(iter(field_errors))
                raise Invalid(field_errors[first], code=f"invalid_{rail.identifier}",
                              param=first, fields=field_errors)
            if current_mode() == LIVE and connection_of(session.merchant_id) is None:
                # Nothing is recorded: the merchant must connect a processor first.
                raise PaymentRefused(processor_required_message(), code="no_processor",
                                     param="rail")
            customer = customer_find_by_contact(merchant_id=session.merchant_id, email=email,
                                                phone=phone)
            if customer is not None and customer.blacklisted:
                logger.info("pay refused: blacklisted customer",
                            extra={"session": session.id, "customer": customer.id})
                raise PaymentRefused(BLOCKED_MESSAGE, code="customer_blocked")
            if pending_otp is not None:
                if saved is None and _same_payer(pending_otp, session, rail, request, email,
                                                 phone, now):
                    # The same card and contact again (a double click, a second tab, a
                    # burst): the OTP step already showing is the answer. No new charge.
                    return outcome_of(session)
                attempt_abandon(attempt=pending_otp, message="Replaced by a new payment attempt.")
            session.coupon = session_coupon_claim(session, request.coupon_code, now=now)
            attempt = attempt_open(
                merchant_id=session.merchant_id, customer=customer, session_id=session.id,
                rail=rail.identifier, amount=_charge_amount(session), currency=session.currency,
                card=saved,
            )
            session.customer_email, session.customer_phone = email, phone
        session.status = CheckoutSession.Status.PROCESSING
        session.payment = attempt
        session.save(update_fields=["status", "payment", "customer_email", "customer_phone",
                                    "coupon"])
    step = (pending_otp.step or "otp") if attempt is pending_otp else ""
    return attempt, step, session, saved


def coupons_in_flight(coupon: Coupon, *, session_id: str, now: datetime) -> int:
    """Pays claimed with this coupon and not settled (their sessions are ``processing``
    and unexpired: a transfer nobody sent by then holds nothing), this session's aside.
    Read under the coupon's row lock: they hold a redemption each."""
    return (CheckoutSession.objects.filter(coupon_id=coupon.id, expires_at__gt=now,
                                           status=CheckoutSession.Status.PROCESSING)
            .exclude(pk=session_id).count())


def session_coupon_claim(session: CheckoutSession, code: str, *, now: datetime
                         ) -> Coupon | None:
    """The coupon a new pay charges with, checked under the coupon's row lock (the session's
    is held): the code the payer gave (``allow_coupons``; blank keeps the session's), or
    the session's own. Unknown, inactive, expired, used up — counting the pays already in
    flight with it, so that no more pays are charged with it than it has redemptions
    left — or another currency: a 400 naming ``couponCode``, nothing charged."""
    code = (code or "").strip()[:64]
    if code and not session.allow_coupons:
        raise Invalid("This checkout takes no promo code.", code="coupons_not_allowed",
                      param="coupon_code")
    if not code:
        if session.coupon is None:
            return None
        code = session.coupon.code
    return coupon_usable(merchant_id=session.merchant_id, code=code, currency=session.currency,
                         now=now, lock=True,
                         in_flight=lambda c: coupons_in_flight(c, session_id=session.id, now=now))


def step_answer_check(pending: PaymentAttempt, request: PayRequest) -> None:
    """The answer must be the one the pending step asks for (a PIN for "pin", a code for
    "otp"); the bank's own page answers a 3-D Secure step."""
    step = pending.step or "otp"
    if step == "redirect":
        raise Invalid("This payment waits for your bank's authorisation: continue to your "
                      "bank's page.", code="bank_step_pending", param="otp")
    if step in PIN_STEPS and request.pin is None:
        raise Invalid("Enter your card PIN.", code="pin_required", param="pin")
    if step == CARD_PIN and not card_digits(str(request.details.get("number") or "")):
        raise Invalid(CARD_AGAIN, code="card_required", param="card.number",
                      fields={"card.number": "Enter your card number."})
    if step == "otp" and request.otp is None:
        raise Invalid("Enter the one-time code.", code="otp_required", param="otp")


def step_card_check(pending: PaymentAttempt, rail: PaymentRail, request: PayRequest, *,
                    now: datetime, currency: str) -> None:
    """The card sent again with its PIN (a ``card_pin`` step) must be valid and be the card
    the processor asked the PIN for: the same last four digits and expiry as the first
    try (what the attempt keeps of it; the whole number is never kept to compare).

    Another card is refused (``card_mismatch``), not charged: the PIN was asked for that
    card, the attempt records that card (its last digits are what the merchant and the
    payer's receipt show), and a new card must go through the checks a new pay makes
    (a new attempt, the blocked-payer check, the replaced attempt abandoned). The payer who
    wants another card leaves the step ("Use another card") and pays again."""
    if (pending.step or "otp") != CARD_PIN:
        return
    errors = rail.validate(request.details, now=now, mode=current_mode(), currency=currency)
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first], code=f"invalid_{rail.identifier}", param=first,
                      fields=errors)
    card = rail.card_of(request.details)
    if card is None or (card.last4, card.exp_month, card.exp_year) != (
            pending.card_last4, pending.card_exp_month, pending.card_exp_year):
        ending = f" ending {pending.card_last4}" if pending.card_last4 else ""
        message = (f"Enter the card you started with (the card{ending}) with its PIN, or "
                   "choose “Use another card” to pay with a different one.")
        raise Invalid(message, code="card_mismatch", param="card.number",
                      fields={"card.number": message})


def step_return_url(token: str) -> str:
    """Where the processor sends the payer back after the bank's 3-D Secure page."""
    return f"{settings.DURO_PUBLIC_URL}/checkout/{token}/return"


def session_step_return(*, session_id: str) -> PayOutcome:
    """The payer is back from the bank's 3-D Secure page: the rail is asked what the
    bank decided (never the query string, which anyone can write) and the answer settles
    through :func:`attempt_settle`. Still undecided: the step stays as it was."""
    session = CheckoutSession.objects.select_related("payment").get(pk=session_id)
    payment = session.payment if session.payment_id else None
    if payment is None or payment.status != A.REQUIRES_OTP or payment.step != "redirect":
        return outcome_of(session)
    try:
        result = get_rail(payment.rail).lookup(mode=current_mode(), idempotency_key=payment.id,
                                               merchant_id=payment.merchant_id)
    except RailError as exc:
        logger.warning("3-D Secure return: lookup refused",
                       extra={"session": session.id, "code": exc.code})
        return outcome_of(session)
    if result is None or result.status == "processing":
        return outcome_of(session)
    return attempt_settle(attempt_id=payment.id, result=result)


def _same_payer(pending: PaymentAttempt, session: CheckoutSession, rail: PaymentRail,
                request: PayRequest, email: str, phone: str, now: datetime) -> bool:
    """A pay that repeats the one waiting for its OTP: same rail, card and contact, while
    that OTP is still fresh. Another card or contact replaces the pending attempt."""
    card = rail.card_of(request.details)
    return (pending.rail == rail.identifier and card is not None
            and (card.last4, card.exp_month, card.exp_year) == (
                pending.card_last4, pending.card_exp_month, pending.card_exp_year)
            and (email, phone) == (session.customer_email, session.customer_phone)
            and pending.updated_at > now - OTP_TTL)


def _charge_amount(session: CheckoutSession) -> int:
    """The session's amount less its coupon, with the merchant's VAT (checkout.pricing); a
    plan with a trial only authorises the card now (₦0): the trial's end charges."""
    return charge_price(session).total


def _outcome_when_settled(token: str) -> PayOutcome:
    """Wait briefly for a concurrent pay to settle, then answer with the session's outcome."""
    deadline = time.monotonic() + settings.DURO_PAY_WAIT_SECONDS
    pause = 0.05
    while True:
        session = CheckoutSession.objects.select_related("payment").get(token=token)
        if session.status != CheckoutSession.Status.PROCESSING or time.monotonic() > deadline:
            return outcome_of(session)
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)  # back off: the waiters must not starve the payer


def attempt_settle(*, attempt_id: str, result: ChargeResult, now: datetime | None = None,
                   session_id: str | None = None) -> PayOutcome:
    """Phase 3: the rail's answer through billing's settlement path, and the session's
    own part (complete, or reopen), in one transaction. ``session_id``: the attempt's
    session, when the caller knows it (the pay that claimed it)."""
    now = now or timezone.now()
    with atomic():
        if session_id is None:
            session_id = (PaymentAttempt.objects.filter(pk=attempt_id)
                          .values_list("session_id", flat=True).get())
        session = _lock(session_id)
        # The session's latest payment is locked and re-read with it: billing decides
        # from that copy instead of locking the row again. An older attempt (replaced by a
        # newer pay) is locked by billing itself.
        held = session.payment if session.payment_id == attempt_id else None
        tax = tax_details(session.merchant_id)  # the VAT line and the seller: one cache read
        order = Order(merchant_id=session.merchant_id, email=session.customer_email,
                      phone=session.customer_phone, plan=session.plan,
                      description=session.description, metadata=session.metadata,
                      reference=session.reference, subtotal=charge_subtotal(session),
                      vat_rate=tax.vat_rate, seller=tax.seller(), coupon_id=session.coupon_id,
                      # Completed is the one state a paid order leaves its session in.
                      unpaid=session.status != CheckoutSession.Status.COMPLETED,
                      customer=held.customer if held is not None else None)

        def complete(settled: Settlement) -> dict:
            session.status = CheckoutSession.Status.COMPLETED
            session.customer, session.subscription = settled.customer, settled.subscription
            session.invoice, session.payment = settled.invoice, settled.attempt
            session.completed_at = now
            session.save(update_fields=["status", "customer", "subscription", "invoice",
                                        "payment", "completed_at"])
            return {"session": session_payload(session), "metadata": session.metadata}

        [settled] = payments_settle([Outcome(attempt_id, result, order=order, attempt=held)],
                                    now=now, fulfil=complete)
        declined = settled.status in (A.REQUIRES_OTP, A.FAILED)
        if settled.applied and (declined or settled.unapplied) and (
                session.status == CheckoutSession.Status.PROCESSING
                and session.payment_id == attempt_id):
            # The customer may try again; money that paid nothing (too little, too late)
            # is being refunded and the page says what arrived.
            session.status = CheckoutSession.Status.OPEN
            session.save(update_fields=["status"])
        if session.payment_id == attempt_id:  # else a newer pay is the session's answer
            session.payment = settled.attempt
        if settled.applied and settled.status == A.SUCCEEDED and not settled.unapplied:
            logger.info("checkout completed", extra={"session": session.id})
        return outcome_of(session)


def attempts_recover(*, now: datetime | None = None) -> int:
    """Settle attempts left ``processing`` by a crash between charge and settle, and
    abandon OTP steps nobody completed (the session stays open for another pay); a 3-D
    Secure step the bank answered though the payer never came back settles as it said."""
    now = now or timezone.now()
    _abandon_stale_otps(now)
    stuck = PaymentAttempt.objects.filter(
        status=A.PROCESSING, updated_at__lt=now - STUCK_AFTER,
    ).exclude(session_id="").values_list("id", "rail", "merchant_id")
    settled = 0
    for attempt_id, rail_id, merchant_id in stuck:
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=attempt_id,
                                          now=now, merchant_id=merchant_id)
        if result is None:
            result = ChargeResult(status="failed", failure_code="interrupted",
                                  failure_message="The payment was interrupted; nothing was "
                                                  "charged. Please try again.")
        elif result.status == "processing":
            continue
        attempt_settle(attempt_id=attempt_id, result=result, now=now)
        settled += 1
    return settled


def session_otp_leave(*, session_id: str) -> None:
    """The customer leaves the OTP step to pay another way (another card): the attempt
    waiting for its code is abandoned and the session's form is shown again."""
    with atomic():
        session = _lock(session_id)
        if session.payment is not None and session.payment.status == A.REQUIRES_OTP:
            attempt_abandon(attempt=session.payment, message=OTP_LEFT)


def _abandon_stale_otps(now: datetime) -> None:
    stale = PaymentAttempt.objects.filter(
        status=A.REQUIRES_OTP, updated_at__lt=now - OTP_TTL,
    ).exclude(session_id="").values_list("id", "session_id", "step", "rail", "merchant_id")
    for attempt_id, session_id, step, rail_id, merchant_id in stale:
        if step == "redirect" and bank_step_decided(attempt_id, rail_id, merchant_id, now,
                                                    settle=attempt_settle):
            continue  # the bank answered a payer who never came back: settled as it said
        with atomic():
            _lock(session_id)  # the session first, as every pay locks them
            attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
            if attempt.status == A.REQUIRES_OTP:
                attempt_abandon(attempt=attempt, message=OTP_ABANDONED)


def bank_step_decided(attempt_id: str, rail_id: str, merchant_id: str, now: datetime, *,
                      settle: Callable[..., object]) -> bool:
    """A 3-D Secure step left behind: ``settle`` it (a session's or an invoice page's
    settle) if the processor knows the bank's answer."""
    try:
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=attempt_id,
                                          now=now, merchant_id=merchant_id)
    except RailError:
        return False
    if result is None or result.status not in ("succeeded", "failed"):
        return False
    settle(attempt_id=attempt_id, result=result, now=now)
    return True
