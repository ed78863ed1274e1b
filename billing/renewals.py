"""The renewal engine: charge every subscription that is due, in batches, exactly once.

One run (``renewals_run(now=…)``, in the current mode) first ends the pauses whose
``resumesAt`` has come (:func:`billing.pauses.pauses_end_due`: each is then due at once, a
new period to charge; a paused subscription is never claimed), then repeats three phases
until nothing is due:

1. **Claim** (one transaction): lock up to ``batch`` due subscriptions with
   ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite locks the whole
   file), settle what needs no money (cancel at period end, invoice limit
   reached, the trial notice), create and number the invoice of each
   renewal (or take up the open one of a retry), record a ``processing``
   PaymentAttempt with its idempotency key, and lease the rows by moving
   ``next_attempt_at`` ahead so that no other runner claims them.
2. **Charge** (no transaction): ask the rail to charge the saved
   authorization; the key is the invoice id (``"{invoice_id}:{n}"`` for the
   n-th attempt), so a crash and a second ask never charge twice.
   A subscription with no reusable authorization (first paid by transfer) is
   not charged: :mod:`billing.invoice_dunning` opens its invoice, emails the
   link to its hosted page and moves it along the dunning schedule, here.
3. **Settle** (one transaction): lock and re-read the subscriptions, then
   mark the invoice paid and advance the period from the anchor, or move to
   ``past_due`` on the dunning schedule, or cancel after the last retry; the
   events and the customer's emails (:mod:`billing.notices`) are written in that
   transaction (outbox).

A runner that dies between phases leaves a lease that expires; the next
run finds the open invoice and the pending attempt and asks the rail again
with the same key, which answers with the first outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from billing.attempts import attempt_open
from billing.invoice_dunning import invoice_renewals_step, needs_invoice_page
from billing.invoices import renewal_invoices_open
from billing.models import CustomerNotice, Invoice, PaymentAttempt, Subscription
from billing.notices import (
    CANCELED_AT_PERIOD_END,
    CANCELED_UNPAID,
    notice_canceled,
    notice_trial_ending,
    notices_open,
)
from billing.pauses import pauses_end_due
from billing.payloads import renewal_payload
from billing.payments import Outcome, payments_settle
from billing.periods import period_end_step
from billing.rails import RailError, get_rail
from billing.rails.base import ChargeResult
from billing.selectors import invoice_payments
from duro.db import atomic, claimable, update_rows
from duro.modes import current_mode
from webhooks.events import events_emit
from webhooks.models import Event

logger = logging.getLogger(__name__)

S = Subscription.Status
LEASE = timedelta(minutes=10)
CLAIMABLE = (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.NON_RENEWING)
SUB_FIELDS = ["status", "period_index", "current_period_start", "current_period_end",
              "canceled_at", "invoices_paid", "next_attempt_at", "dunning_attempts",
              "trial_will_end_sent"]


@dataclass
class Renewal:
    """One subscription being charged in this batch."""

    sub: Subscription
    invoice: Invoice
    payment: PaymentAttempt
    result: ChargeResult | None = None


@dataclass
class RunReport:
    claimed: int = 0
    renewed: int = 0
    failed: int = 0
    canceled: int = 0
    completed: int = 0
    notices: int = 0
    resumed: int = 0  # pauses ended at their resumesAt, then charged like renewals
    errors: int = 0
    batches: int = 0
    by_status: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "by_status"}


def renewals_run(*, now: datetime, batch: int | None = None,
                 subscription_id: str | None = None) -> RunReport:
    """Process every subscription due at ``now`` in the current mode.

    Subscriptions on a test clock are left to :func:`billing.subscriptions.subscription_advance`
    unless ``subscription_id`` names one.
    """
    batch = batch or settings.DURO_RENEWAL_BATCH
    report = RunReport()
    report.resumed = pauses_end_due(now=now, batch=batch, subscription_id=subscription_id)
    after = None  # keyset cursor: skip the index entries this run already went past
    while True:
        renewals, claimed, last = _claim(now=now, batch=batch, subscription_id=subscription_id,
                                         after=after, report=report)
        if not claimed:
            if after is None:
                return report
            after = None  # one more pass from the start: catch-up periods, rows freed by others
            continue
        after = last
        report.batches += 1
        report.claimed += claimed
        for renewal in renewals:
            renewal.result = _charge(renewal)
            if renewal.result is None:
                report.errors += 1
        _settle([r for r in renewals if r.result is not None], now=now, report=report)


# --- phase 1: claim ---------------------------------------------------------------

def _claim(*, now: datetime, batch: int, subscription_id: str | None,
           after: tuple[datetime, str] | None,
           report: RunReport) -> tuple[list[Renewal], int, tuple[datetime, str] | None]:
    with atomic():
        due = Subscription.objects.filter(next_attempt_at__lte=now, status__in=CLAIMABLE)
        due = due.filter(pk=subscription_id) if subscription_id else due.filter(clock__isnull=True)
        if after is not None:
            # Row comparison on the (next_attempt_at, id) index (PostgreSQL, SQLite ≥ 3.15);
            # an OR of two Q objects would lose the index order. Values are bound parameters.
            table = Subscription._meta.db_table
            row = f'("{table}"."next_attempt_at", "{table}"."id") > (%s, %s)'
            due = due.extra(where=[row], params=list(after))  # noqa: S610
        due = claimable(due.order_by("next_attempt_at", "id"))
        subs = list(due.select_related("plan", "customer", "card", "coupon")[:batch])
        if not subs:
            return [], 0, None
        due_at = subs[-1].next_attempt_at
        assert due_at is not None  # filtered on next_attempt_at <= now
        last = (due_at, subs[-1].pk)
        to_charge: list[Subscription] = []
        notices: list[CustomerNotice] = []  # the customers' emails, written with the changes
        events: list[Event] = []  # and the merchants' events, written at once
        for sub in subs:
            if not _settle_without_money(sub, now=now, report=report, notices=notices,
                                         events=events):
                to_charge.append(sub)
        # Only a retry, or a claim whose runner died (its lease ran out), has an open invoice.
        resumed = {s.pk for s in to_charge
                   if s.status == S.PAST_DUE or s.next_attempt_at != s.current_period_end}
        # No reusable authorization: no charge, the customer pays on the invoice's page.
        by_invoice = [s for s in to_charge if needs_invoice_page(s)]
        to_charge = [s for s in to_charge if not needs_invoice_page(s)]
        steps = invoice_renewals_step(by_invoice, resumed=resumed, now=now,
                                      lease_until=now + LEASE)
        # What the customer tried on the page, for the events: only an invoice opened before
        # this claim (a reminder's) can have a payment, read for the batch at once.
        tried = invoice_payments([invoice.pk for _, sub, invoice in steps if sub.pk in resumed])
        for type_, sub, invoice in steps:
            counter = "canceled" if type_ == "subscription_canceled" else "failed"
            setattr(report, counter, getattr(report, counter) + 1)
            events.append(_event(sub, type_, invoice, payments=tried.get(invoice.pk, [])))
            if type_ == "subscription_canceled":  # the link was emailed; it went unpaid
                notices.append(notice_canceled(sub, why=CANCELED_UNPAID, invoice=invoice))
        notices_open(notices)
        events_emit(events)
        for sub in to_charge:  # leased: no other runner claims it while we charge
            sub.next_attempt_at = now + LEASE
        renewals = _open_invoices(to_charge, resumed=resumed)
        update_rows(Subscription, subs, SUB_FIELDS)
    return renewals, len(subs), last


def _settle_without_money(sub: Subscription, *, now: datetime, report: RunReport,
                          notices: list[CustomerNotice], events: list[Event]) -> bool:
    """The step that moves no money (:func:`billing.periods.period_end_step`), with its
    event and its customer email (added to ``events`` and ``notices``). True when the
    subscription needs nothing more in this step."""
    event = period_end_step(sub, now=now)
    if event is None:
        return False
    counter = {"subscription_canceled": "canceled", "subscription_completed": "completed",
               "subscription_trial_will_end": "notices"}[event]
    setattr(report, counter, getattr(report, counter) + 1)
    events.append(_event(sub, event))
    if event == "subscription_canceled":
        notices.append(notice_canceled(sub, why=CANCELED_AT_PERIOD_END))
    elif event == "subscription_trial_will_end":
        notices.append(notice_trial_ending(sub))
    return True


def _open_invoices(subs: list[Subscription], *, resumed: set[str]) -> list[Renewal]:
    """The invoice and the pending attempt of each renewal: reused when they exist.

    Only subscriptions in ``resumed`` can have an open invoice; a fresh renewal that
    collides anyway (``invoice_one_per_period``) is skipped and resumed after its lease."""
    if not subs:
        return []
    open_invoices = renewal_invoices_open(subs, resumed=resumed)
    pending = {
        p.invoice_id: p for p in PaymentAttempt.objects.filter(
            invoice__in=[inv.pk for pk, inv in open_invoices.items() if pk in resumed],
            status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.PROCESSING],
        )
    } if resumed else {}
    renewals, attempts = [], []
    for sub in subs:
        invoice = open_invoices.get(sub.pk)
        if invoice is None:
            continue  # created by someone else meanwhile; its runner owns it
        payment = pending.get(invoice.pk)
        if payment is None:
            payment = _attempt(sub, invoice)
            attempts.append(payment)
        renewals.append(Renewal(sub=sub, invoice=invoice, payment=payment))
    PaymentAttempt.objects.bulk_create(attempts)
    return renewals


def _attempt(sub: Subscription, invoice: Invoice) -> PaymentAttempt:
    """The n-th attempt on an invoice asks the rail with ``"{invoice}:{n}"`` (the first
    with the invoice id): a repeated ask is answered with the first outcome."""
    attempt_no = sub.dunning_attempts + 1
    key = invoice.pk if attempt_no == 1 else f"{invoice.pk}:{attempt_no}"
    card = sub.card
    return attempt_open(merchant_id=sub.merchant_id, customer=sub.customer, invoice=invoice,
                        rail=card.rail if card else "card", amount=invoice.amount,
                        currency=invoice.currency, idempotency_key=key, card=card, save=False)


# --- phase 2: charge (outside any transaction) ------------------------------------

def _charge(renewal: Renewal) -> ChargeResult | None:
    card = renewal.sub.card
    assert card is not None  # without one the invoice page asks (billing.invoice_dunning)
    try:
        return get_rail(card.rail).charge_authorization(
            mode=current_mode(), amount=renewal.invoice.amount,
            currency=renewal.invoice.currency, authorization=card.authorization,
            idempotency_key=renewal.payment.idempotency_key, merchant_id=renewal.sub.merchant_id,
            email=renewal.sub.customer.email,
        )
    except RailError as exc:  # the rail could not act: leave it leased, retried later
        logger.warning("renewal charge not attempted",
                       extra={"subscription": renewal.sub.pk, "code": exc.code})
        return None


# --- phase 3: settle --------------------------------------------------------------

def _settle(renewals: list[Renewal], *, now: datetime, report: RunReport) -> None:
    """Hand the answers to the one settlement path, and count what it did."""
    settled = payments_settle([Outcome(r.payment.pk, r.result, invoice=r.invoice,
                                       subscription=r.sub)
                               for r in renewals if r.result is not None], now=now)
    for settlement in settled:
        if "subscription_payment_success" in settlement.events:
            report.renewed += 1
        if "subscription_payment_failed" in settlement.events:
            report.failed += 1
        if "subscription_canceled" in settlement.events:
            report.canceled += 1


def _event(sub: Subscription, type_: str, invoice: Invoice | None = None, *,
           payments: list[PaymentAttempt] | None = None) -> Event:
    """An engine's event, rendered now and written with the batch (``events_emit``);
    ``payments``: all of the invoice's, when the caller has read them."""
    return Event(merchant_id=sub.merchant_id, type=type_,
                 data=renewal_payload(subscription=sub, invoice=invoice, payments=payments))
