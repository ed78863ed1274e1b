"""Payment outcomes: the one place where a rail's answer becomes billing state.

Every caller that moves money — the first pay of a checkout session, the
renewal engine, the recovery sweep, and later the invoice page, asynchronous
rails and processor events — opens its attempt (:mod:`billing.attempts`) and hands the rail's
answer to :func:`payments_settle`. In one transaction that function locks and
re-reads the rows it changes (subscription, then invoice, then attempt),
decides from what it read, never from copies taken before the charge, and
writes the events (outbox), the receipt's outbox row and the customer's email
about a declined renewal (:mod:`billing.notices`) with them::

    attempt = attempt_open(merchant_id=m, rail="card", amount=1_500_000, currency="NGN",
                           session_id=session.id)
    result = rail.charge(..., idempotency_key=attempt.id)        # no transaction held
    [settled] = payments_settle([Outcome(attempt.id, result, order=order)], now=now)

An attempt without an invoice pays for an :class:`Order` (a plan or a
one-off amount): success creates the customer, the saved card, the
subscription with its first BillingCycle period and the paid invoice. An
attempt on an invoice pays that invoice: success marks it paid and advances
its subscription one period; a decline moves the subscription along its
dunning schedule. A payer's own card on an invoice's hosted page is saved and becomes
the subscription's card; a *card check* invoice (the customer portal's way to save a
card when nothing is due) pays no period, sends no receipt and is refunded in full at
once (reason ``card_check``). A second answer for a settled attempt changes nothing.

Money that succeeded but cannot be applied is never kept: a charge on an
invoice voided meanwhile (a *cancel now* during the charge) or paid by
another attempt, and a second payment for an order (checkout session) another
attempt already paid, are recorded as they happened and refunded in full
(reason ``subscription_canceled`` or ``duplicate``). An asynchronous rail can
take a different amount than was asked, or take it too late
(``ChargeResult.amount``; :func:`_unapplied`): an overpayment pays and its excess is
refunded (``overpayment``); an underpayment pays nothing and is refunded in full
(``underpayment``); money arriving after its attempt failed or its account expired
pays nothing and is refunded in full (``late``). The refund row is opened in this
transaction (:func:`billing.refunds.refund_open_automatic`); the rail is asked after
commit, by :mod:`billing.refunds`, billing's second money path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.coupons import coupon_periods_after_first, coupon_redeem
from billing.customers import card_save, customer_resolve
from billing.invoices import invoice_create
from billing.models import (
    Customer,
    CustomerNotice,
    Invoice,
    PaymentAttempt,
    Plan,
    Refund,
    Subscription,
)
from billing.notices import (
    CANCELED_AT_PERIOD_END,
    CANCELED_UNPAID,
    notice_canceled,
    notice_payment_failed,
    notices_open,
)
from billing.payloads import (
    customer_payload,
    invoice_payload,
    payment_payload,
    renewal_payload,
    subscription_payload,
)
from billing.periods import dunning_step, is_next_period, period_advance, subscription_open
from billing.plan_switch import proration_switch
from billing.pricing import charged_price
from billing.rails.base import ChargeResult
from billing.receipts import receipt_enqueue
from billing.refunds import refund_open_automatic
from billing.selectors import dunning_days_for
from duro.db import after_commit, atomic, update_rows
from duro.modes import current_mode
from duro.money import format_amount
from webhooks.events import events_emit
from webhooks.models import Event

S = Subscription.Status
A = PaymentAttempt.Status
SETTLED = (A.SUCCEEDED, A.FAILED)
SUB_FIELDS = ["status", "period_index", "current_period_start", "current_period_end",
              "canceled_at", "invoices_paid", "next_attempt_at", "dunning_attempts", "card"]


@dataclass(frozen=True)
class Order:
    """What a first payment buys when there is no invoice yet: a plan, or a one-off amount."""

    merchant_id: str
    email: str
    phone: str
    plan: Plan | None
    description: str = ""
    metadata: dict = field(default_factory=dict)
    reference: str = ""  # the payer's reference (a checkout's), printed on the receipt
    # The price before VAT of what was charged (0 for a trial's card check) and the
    # merchant's VAT rate: the invoice's lines (billing.pricing). None: the charge alone.
    subtotal: int | None = None
    vat_rate: Decimal | None = None
    seller: dict | None = None  # the merchant's tax details as read with vat_rate (duro.tax)
    # The coupon the charge was priced with (billing.coupons): redeemed when it succeeds.
    coupon_id: str | None = None
    # The caller read under its lock that nothing has paid this order yet (checkout: its
    # session is not completed), so no other attempt needs looking for (_order_paid_by).
    unpaid: bool = False
    # The customer the pay's claim found by this contact and recorded on the attempt:
    # reused, not looked up again (customers are never deleted).
    customer: Customer | None = None


@dataclass(frozen=True)
class Outcome:
    """A rail's answer for one attempt (and, for a first payment, what it buys)."""

    attempt_id: str
    result: ChargeResult
    order: Order | None = None
    # What the caller already holds (the renewal engine): the invoice's id and its
    # subscription's are fixed when the attempt is opened, so they need not be looked up;
    # the subscription's customer, card and plan (shown in events, never decided on) are
    # reused instead of joined again. Every row decided on is still re-read under lock.
    invoice: Invoice | None = None
    subscription: Subscription | None = None
    # The attempt itself, when the caller already holds it locked and re-read in this
    # transaction (checkout's settle locks its session and the session's payment): it is
    # not locked and read a second time.
    attempt: PaymentAttempt | None = None


@dataclass
class Settlement:
    """What settling one attempt left behind, re-read under lock."""

    attempt: PaymentAttempt
    applied: bool = False  # this call changed the attempt (False: settled before, or pending)
    # Money arrived but paid nothing (``underpayment``, ``late``): refunded in full.
    unapplied: str = ""
    customer: Customer | None = None
    subscription: Subscription | None = None
    invoice: Invoice | None = None
    events: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.attempt.status


# Called inside the settling transaction after a first payment succeeded and before its
# events are written: the caller's own bookkeeping (checkout completes its session); what it
# returns is added to the events' data.
Fulfil = Callable[[Settlement], dict]


# --- settling -------------------------------------------------------------------------

def payments_settle(outcomes: list[Outcome], *, now: datetime | None = None,
                    fulfil: Fulfil | None = None) -> list[Settlement]:
    """Apply each rail answer to its attempt, exactly once, in one transaction.

    Safe to call again or concurrently with the same answers: a settled attempt
    is returned as it stands. Rows are locked subscription → invoice → attempt,
    the order every other writer of them uses.
    """
    now = now or timezone.now()
    if not outcomes:
        return []
    held = {o.attempt_id: o.attempt for o in outcomes if o.attempt is not None}
    ids = [o.attempt_id for o in outcomes if o.attempt_id not in held]
    # No savepoint when the caller's transaction is open: any error here ends it anyway.
    with atomic(savepoint=False):
        owners = _owners(outcomes)
        subs = _lock_subscriptions(outcomes, sorted({sub for _, sub in owners.values() if sub}))
        invoice_ids = sorted({inv for inv, _ in owners.values() if inv})
        invoices = {i.pk: i for i in Invoice.objects.select_for_update()
                    .filter(pk__in=invoice_ids).order_by("pk")} if invoice_ids else {}
        attempts = {a.pk: a for a in PaymentAttempt.objects.select_for_update()
                    .filter(pk__in=ids).order_by("pk")} if ids else {}
        attempts.update(held)
        batch = _Batch(now=now, subs=subs, invoices=invoices)
        settlements = []
        for outcome in outcomes:
            attempt = attempts[outcome.attempt_id]
            settlements.append(batch.settle(attempt, outcome, fulfil))
        batch.write()
    return settlements


def _owners(outcomes: list[Outcome]) -> dict[str, tuple[str | None, str | None]]:
    """Which invoice and subscription each attempt belongs to (fixed when it was opened)."""
    known: dict[str, tuple[str | None, str | None]] = {
        o.attempt_id: (o.invoice.pk, o.invoice.subscription_id)
        for o in outcomes if o.invoice is not None}
    known.update({o.attempt_id: (None, None) for o in outcomes  # a held order's attempt
                  if o.invoice is None and o.attempt is not None and not o.attempt.invoice_id})
    unknown = [o.attempt_id for o in outcomes if o.attempt_id not in known]
    if unknown:
        known.update({pk: (inv, sub) for pk, inv, sub in PaymentAttempt.objects
                      .filter(pk__in=unknown)
                      .values_list("pk", "invoice_id", "invoice__subscription_id")})
    return known


def _lock_subscriptions(outcomes: list[Outcome], sub_ids: list[str]) -> dict[str, Subscription]:
    """The subscriptions the attempts pay for, locked and re-read, in id order."""
    if not sub_ids:
        return {}
    held = {o.subscription.pk: o.subscription for o in outcomes if o.subscription is not None}
    rows = Subscription.objects.select_for_update(of=("self",)).filter(pk__in=sub_ids)
    if not held.keys() >= set(sub_ids):
        rows = rows.select_related("customer", "card", "plan")
        held = {}
    subs = {s.pk: s for s in rows.order_by("pk")}
    for pk, sub in subs.items():
        if pk in held:  # shown in events only: the caller's copies are as good as a join
            sub.customer, sub.card, sub.plan = (held[pk].customer, held[pk].card,
                                                held[pk].plan)
    return subs


class _Batch:
    """One transaction's settlements; invoice payments are written in bulk at the end."""

    def __init__(self, *, now: datetime, subs: dict[str, Subscription],
                 invoices: dict[str, Invoice]):
        self.now = now
        self.subs = subs
        self.invoices = invoices
        # A first pay has no subscription yet: no schedule to read (not even compiled).
        self.policies = dunning_days_for({s.merchant_id for s in subs.values()}) if subs else {}
        self.changed_attempts: list[PaymentAttempt] = []
        self.changed_invoices: list[Invoice] = []
        self.changed_subs: list[Subscription] = []
        self.events: list[tuple[str, Subscription, Invoice, PaymentAttempt]] = []
        self.notices: list[CustomerNotice] = []  # the customer's emails (an outbox too)

    def settle(self, attempt: PaymentAttempt, outcome: Outcome,
               fulfil: Fulfil | None) -> Settlement:
        invoice = self.invoices.get(attempt.invoice_id) if attempt.invoice_id else None
        sub = (self.subs.get(invoice.subscription_id)
               if invoice is not None and invoice.subscription_id else None)
        settlement = Settlement(attempt=attempt, invoice=invoice, subscription=sub)
        result = outcome.result
        if attempt.status in SETTLED:
            if attempt.status == A.FAILED and result.succeeded:
                # Money after the attempt was given up (an expired transfer account).
                _record_rail_answer(attempt, result)
                self._unapplied(settlement, outcome, Refund.Reason.LATE)
            return settlement  # settled already (a retry, the recovery sweep, a second worker)
        _record_rail_answer(attempt, result)
        settlement.applied = True
        arrived = parse_datetime(result.paid_at) if result.paid_at else None
        if result.succeeded and payment_expired(attempt, arrived or self.now):
            self._unapplied(settlement, outcome, Refund.Reason.LATE)
            return settlement
        if result.succeeded and result.amount is not None and result.amount < attempt.amount:
            self._unapplied(settlement, outcome, Refund.Reason.UNDERPAYMENT)
            return settlement
        price = attempt.amount
        if result.succeeded and result.amount is not None:
            attempt.amount = result.amount  # what the payer sent: a refund gives back the excess
        if result.status in ("requires_otp", "processing"):
            if result.status == "requires_otp":
                attempt.status = A.REQUIRES_OTP
                # Which step the payer takes next (a PIN may be followed by an OTP).
                attempt.step = str(result.extra.get("step") or "otp")[:16]
                attempt.step_url = str(result.extra.get("url") or "")[:1000]
                # Why the step is asked again (a wrong code), shown on the OTP step.
                attempt.failure_code = result.failure_code[:40]
                attempt.failure_message = result.failure_message[:300]
            if result.extra.get("instructions"):  # what the payer must do (an asynchronous rail)
                attempt.instructions = result.extra["instructions"]
            attempt.save()
            return settlement
        if invoice is None:
            if outcome.order is None:
                raise ValueError(f"Attempt {attempt.pk} pays no invoice and no order was given.")
            if result.succeeded and not outcome.order.unpaid and (
                    paid_by := _order_paid_by(attempt)) is not None:
                _refund_duplicate(settlement, outcome.order, paid_by, now=self.now)
            elif result.succeeded:
                _fulfil_order(settlement, outcome.order, result, price=price, now=self.now,
                              fulfil=fulfil)
                _refund_excess(attempt, price, outcome.order.metadata)
            else:
                _decline(attempt, result)
                attempt.save()
            return settlement
        if result.succeeded:
            self._invoice_paid(settlement, result, price)
        else:
            self._invoice_declined(settlement, result)
        return settlement

    def _unapplied(self, settlement: Settlement, outcome: Outcome, reason: str) -> None:
        """Money arrived that pays nothing: too little, or too late. It is recorded as the
        rail took it, the payer is told why (``failure``), and it is refunded in full."""
        attempt, result = settlement.attempt, outcome.result
        asked = attempt.amount
        received = result.amount if result.amount is not None else asked
        arrived = format_amount(received, attempt.currency)
        if reason == Refund.Reason.UNDERPAYMENT:
            code, message = "underpaid", (
                f"{arrived} arrived, less than the {format_amount(asked, attempt.currency)} "
                "due, so it was not applied and is being refunded. Please pay the full amount.")
        else:
            code, message = "late", (f"{arrived} arrived after the time to pay ran out, so it "
                                     "was not applied and is being refunded.")
        attempt.status, attempt.paid_at, attempt.amount = A.SUCCEEDED, self.now, received
        attempt.failure_code, attempt.failure_message = code, message
        attempt.save()
        metadata = (outcome.order.metadata if outcome.order is not None
                    else settlement.subscription.metadata if settlement.subscription is not None
                    else {})
        refund_open_automatic(payment=attempt, reason=reason, metadata=metadata)
        settlement.applied, settlement.unapplied = True, reason

    def _invoice_paid(self, settlement: Settlement, result: ChargeResult, price: int) -> None:
        attempt, invoice, sub = settlement.attempt, settlement.invoice, settlement.subscription
        assert invoice is not None
        attempt.status, attempt.paid_at = A.SUCCEEDED, self.now
        self.changed_attempts.append(attempt)
        if invoice.status != Invoice.Status.OPEN:
            # Voided (cancelled) or paid meanwhile: the money did not pay this invoice, and
            # Duro never keeps money it cannot apply. The rail is asked after commit.
            reason = (Refund.Reason.DUPLICATE if invoice.status == Invoice.Status.PAID
                      else Refund.Reason.SUBSCRIPTION_CANCELED)
            refund_open_automatic(payment=attempt, reason=reason,
                                  metadata=sub.metadata if sub is not None else {})
            return
        card_check = invoice.purpose == Invoice.CARD_CHECK
        invoice.status, invoice.paid_at = Invoice.Status.PAID, self.now
        # Outbox: the receipt sweep sends it (a card check is no purchase: no receipt).
        invoice.receipt_status = "" if card_check else "pending"
        self.changed_invoices.append(invoice)
        if not attempt.idempotency_key and result.authorization and result.card:
            # The payer's own card on the invoice's page (the customer portal sends its
            # customers there to update their card): it is kept, as every pay with a
            # reusable authorization is, and renews the subscription from now on.
            card = card_save(customer=invoice.customer, rail=attempt.rail, card=result.card,
                             authorization=result.authorization)
            if sub is not None:
                sub.card = card
                self.changed_subs.append(sub)
        if card_check:  # it only proved the card: its money goes straight back
            refund_open_automatic(payment=attempt, reason=Refund.Reason.CARD_CHECK,
                                  metadata=sub.metadata if sub is not None else {})
            return
        _refund_excess(attempt, price, sub.metadata if sub is not None else {})
        if invoice.purpose == Invoice.PRORATION and sub is not None:
            proration_switch(sub, invoice)  # the plan it bought; no period is paid
            return
        if sub is not None and is_next_period(sub, invoice):
            period_advance(sub, invoice)
            self.changed_subs.append(sub)
            self._event("subscription_payment_success", settlement)

    def _invoice_declined(self, settlement: Settlement, result: ChargeResult) -> None:
        attempt, invoice, sub = settlement.attempt, settlement.invoice, settlement.subscription
        assert invoice is not None
        _decline(attempt, result)
        self.changed_attempts.append(attempt)
        if invoice.purpose == Invoice.PRORATION:
            # A plan change's charge: declined, the change is off and the old plan stays.
            invoice.status = Invoice.Status.VOID
            self.changed_invoices.append(invoice)
            return
        if not attempt.idempotency_key:
            # The payer's own try on the hosted invoice page (a declined card, a transfer
            # never sent): the dunning schedule, not each try, decides what happens next.
            return
        if invoice.status != Invoice.Status.OPEN or sub is None or not is_next_period(sub,
                                                                                       invoice):
            return  # a voided invoice stays void; nothing to dun
        self._event("subscription_payment_failed", settlement)
        was_ending = sub.status == S.NON_RENEWING
        if dunning_step(sub, invoice, now=self.now, days=self.policies[sub.merchant_id]):
            self.changed_invoices.append(invoice)
            self._event("subscription_canceled", settlement)
            # One email says both: the payment failed and, with no retry left, it ended.
            self.notices.append(notice_canceled(
                sub, why=CANCELED_AT_PERIOD_END if was_ending else CANCELED_UNPAID,
                invoice=invoice, attempt=attempt))
        else:
            self.notices.append(notice_payment_failed(sub, invoice, attempt))
        self.changed_subs.append(sub)

    def _event(self, type_: str, settlement: Settlement) -> None:
        settlement.events.append(type_)
        assert settlement.subscription is not None and settlement.invoice is not None
        self.events.append((type_, settlement.subscription, settlement.invoice,
                            settlement.attempt))

    def write(self) -> None:
        update_rows(Subscription, _unique(self.changed_subs), SUB_FIELDS)
        update_rows(Invoice, _unique(self.changed_invoices), ["status", "paid_at",
                                                               "receipt_status"])
        stamp = timezone.now()
        for attempt in self.changed_attempts:
            attempt.updated_at = stamp
        update_rows(PaymentAttempt, self.changed_attempts,
                    ["status", "paid_at", "amount", "rail_reference", "failure_code",
                     "failure_message",
                     "card_brand", "card_last4", "card_exp_month", "card_exp_year",
                     "updated_at"])
        notices_open(self.notices)
        # Their refunds, in one query (a payment settled just now has none yet).
        prefetch_related_objects([attempt for *_, attempt in self.events], "refunds")
        events = []
        for type_, sub, invoice, attempt in self.events:
            # A first attempt is the invoice's only payment; a retry reads them all.
            first = ":" not in attempt.idempotency_key
            events.append(Event(merchant_id=sub.merchant_id, type=type_, data=renewal_payload(
                subscription=sub, invoice=invoice, payment=attempt,
                payments=[attempt] if first else None)))
        events_emit(events)  # one insert for the batch


def _unique(rows: list) -> list:
    return list({id(row): row for row in rows}.values())


def _record_rail_answer(attempt: PaymentAttempt, result: ChargeResult) -> None:
    if result.card:
        attempt.card_brand, attempt.card_last4 = result.card.brand, result.card.last4
        attempt.card_exp_month, attempt.card_exp_year = result.card.exp_month, result.card.exp_year
    attempt.rail_reference = result.reference or attempt.rail_reference


def payment_expired(attempt: PaymentAttempt, now: datetime) -> bool:
    """Whether the account or code the payer was given (an asynchronous rail's
    instructions, each with an ``expiresAt``) had expired by ``now`` (for money that
    arrived: when it arrived)."""
    for shown in attempt.instructions.values():
        expires = parse_datetime(str(shown.get("expiresAt") or "")) if isinstance(shown,
                                                                                 dict) else None
        if expires is not None and expires <= now:
            return True
    return False


def _refund_excess(attempt: PaymentAttempt, price: int, metadata: dict) -> None:
    """An overpayment paid ``price``; what came on top of it goes back (``overpayment``)."""
    if attempt.amount > price:
        refund_open_automatic(payment=attempt, reason=Refund.Reason.OVERPAYMENT,
                              metadata=metadata, amount=attempt.amount - price)


def _decline(attempt: PaymentAttempt, result: ChargeResult) -> None:
    attempt.status = A.FAILED
    attempt.failure_code = (result.failure_code or "card_declined")[:40]
    attempt.failure_message = (result.failure_message or "The payment failed.")[:300]


# --- first payments -------------------------------------------------------------------

def _order_paid_by(attempt: PaymentAttempt) -> PaymentAttempt | None:
    """Another attempt that already paid for this attempt's order (its checkout session).

    The caller holds the session's lock (checkout settles under it), so two attempts of
    one session are never settled at once."""
    if not attempt.session_id:
        return None
    return (PaymentAttempt.objects.filter(session_id=attempt.session_id, status=A.SUCCEEDED,
                                          invoice__isnull=False)  # not money that paid nothing
            .exclude(pk=attempt.pk).first())


def _refund_duplicate(settlement: Settlement, order: Order, paid_by: PaymentAttempt, *,
                      now: datetime) -> None:
    """A second payment for an order already paid: recorded as it happened (the rail took
    the money), nothing bought twice, and given back in full (``duplicate``)."""
    attempt = settlement.attempt
    attempt.status, attempt.paid_at, attempt.customer_id = A.SUCCEEDED, now, paid_by.customer_id
    attempt.save()
    refund_open_automatic(payment=attempt, reason=Refund.Reason.DUPLICATE,
                          metadata=order.metadata)


def _fulfil_order(settlement: Settlement, order: Order, result: ChargeResult, *, price: int,
                  now: datetime, fulfil: Fulfil | None) -> None:
    """A first payment succeeded: the customer, card, subscription and paid invoice."""
    attempt = settlement.attempt
    customer, created = customer_resolve(merchant_id=order.merchant_id, email=order.email,
                                         phone=order.phone, found=order.customer)
    card = None
    if result.authorization and result.card:
        card = card_save(customer=customer, rail=attempt.rail, card=result.card,
                         authorization=result.authorization, new_customer=created)
    plan = order.plan
    # The coupon counts one redemption now, under its row lock. It is honoured even if it
    # expired, was deactivated or ran out since the claim: the charge was priced with it,
    # as the customer was shown (claims already count the pays in flight, so a coupon
    # never runs out between a claim and its settle but by a late asynchronous payment).
    coupon = coupon_redeem(coupon_id=order.coupon_id) if order.coupon_id else None
    subscription = None
    if plan is not None:
        extra: dict = {}
        if coupon is not None:
            # The checkout's invoice is the first of a repeating coupon's periods (a
            # trial's card check charged nothing: it is not one).
            extra = {"coupon": coupon, "coupon_periods_left": coupon_periods_after_first(
                coupon, first_discounted=bool(order.subtotal))}
        subscription = subscription_open(merchant_id=order.merchant_id, customer=customer,
                                         plan=plan, card=card, paid_at=now,
                                         metadata=order.metadata, **extra)
    invoice = invoice_create(
        merchant_id=order.merchant_id, customer=customer, subscription=subscription,
        amount=price, currency=attempt.currency,
        description=plan.name if plan is not None else order.description,
        period_start=subscription.current_period_start if subscription else None,
        period_end=subscription.current_period_end if subscription else None,
        status=Invoice.Status.PAID, paid_at=now,
        price=charged_price(price, subtotal=order.subtotal, vat_rate=order.vat_rate,
                            percent_off=coupon.percent_off if coupon else None,
                            amount_off=(coupon.amount_off or 0) if coupon else 0),
        vat_rate=order.vat_rate, coupon_code=coupon.code if coupon else "",
        seller=order.seller,
        savepoint=False,  # its subscription (if any) was opened just now: no collision
        receipt_status="pending",  # the receipt email's outbox row
        checkout_reference=order.reference, receipt_email=order.email,
        metadata=order.metadata,
    )
    attempt.status = A.SUCCEEDED
    attempt.customer, attempt.invoice, attempt.paid_at = customer, invoice, now
    attempt.save(update_fields=["status", "customer", "invoice", "paid_at", "amount",
                                "rail_reference", "card_brand", "card_last4",
                                "card_exp_month", "card_exp_year", "updated_at"])
    settlement.customer, settlement.subscription, settlement.invoice = (customer, subscription,
                                                                        invoice)
    # A payment that succeeded just now has no refunds yet: none to read for its payloads
    # (an empty queryset is prefetched without a query).
    prefetch_related_objects([attempt], Prefetch("refunds", queryset=Refund.objects.none()))
    extra = fulfil(settlement) if fulfil is not None else {}
    data = {"customer": customer_payload(customer),
            "subscription": subscription_payload(subscription) if subscription else None,
            "invoice": invoice_payload(invoice, payments=[attempt]),
            "payment": payment_payload(attempt), "metadata": order.metadata, **extra}
    types = (["subscription_created", "subscription_payment_success"] if subscription
             else ["payment_success"])
    events_emit([Event(merchant_id=order.merchant_id, type=type_, data=data) for type_ in types])
    settlement.events.extend(types)
    # The receipt goes out now; if the broker is down it stays pending for the sweep.
    after_commit(partial(receipt_enqueue, current_mode(), invoice.id), what="receipt email")
