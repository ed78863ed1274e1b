"""The renewal engine: charge every subscription that is due, in batches, exactly once.

One run (``renewals_run(now=…)``, in the current mode) repeats three phases
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
3. **Settle** (one transaction): lock and re-read the subscriptions, then
   mark the invoice paid and advance the period from the anchor, or move to
   ``past_due`` on the dunning schedule, or cancel after the last retry; the
   events are written in that transaction (outbox).

A runner that dies between phases leaves a lease that expires; the next
run finds the open invoice and the pending attempt and asks the rail again
with the same key, which answers with the first outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from billing.cycle import BillingCycle
from billing.invoices import invoice_numbers_reserve
from billing.models import Invoice, PaymentAttempt, Subscription
from billing.payloads import renewal_payload
from billing.rails import RailError, get_rail
from billing.rails.base import ChargeResult
from billing.schedule import retry_at
from billing.selectors import dunning_days_for, merchant_timezones
from duro.modes import current_mode
from webhooks.events import event_emit

logger = logging.getLogger(__name__)

S = Subscription.Status
LEASE = timedelta(minutes=10)
MIN_RETRY_GAP = timedelta(hours=1)  # a late run never fires the dunning retries back to back
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

def _locking(queryset, alias: str):
    features = connections[alias].features
    if features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update()  # SQLite: no row locks; the write lock serialises


def _claim(*, now: datetime, batch: int, subscription_id: str | None,
           after: tuple[datetime, str] | None,
           report: RunReport) -> tuple[list[Renewal], int, tuple[datetime, str] | None]:
    alias = current_mode()
    with transaction.atomic(using=alias):
        due = Subscription.objects.filter(next_attempt_at__lte=now, status__in=CLAIMABLE)
        due = due.filter(pk=subscription_id) if subscription_id else due.filter(clock__isnull=True)
        if after is not None:
            # Row comparison on the (next_attempt_at, id) index (PostgreSQL, SQLite ≥ 3.15);
            # an OR of two Q objects would lose the index order. Values are bound parameters.
            table = Subscription._meta.db_table
            row = f'("{table}"."next_attempt_at", "{table}"."id") > (%s, %s)'
            due = due.extra(where=[row], params=list(after))  # noqa: S610
        due = _locking(due.order_by("next_attempt_at", "id"), alias)
        subs = list(due.select_related("plan", "customer", "card")[:batch])
        if not subs:
            return [], 0, None
        last = (subs[-1].next_attempt_at, subs[-1].pk)
        zones = merchant_timezones(s.merchant_id for s in subs)
        to_charge: list[Subscription] = []
        for sub in subs:
            if not _settle_without_money(sub, now=now, report=report):
                to_charge.append(sub)
        # Only a retry, or a claim whose runner died (its lease ran out), has an open invoice.
        resumed = {s.pk for s in to_charge
                   if s.status == S.PAST_DUE or s.next_attempt_at != s.current_period_end}
        for sub in to_charge:  # leased: no other runner claims it while we charge
            sub.next_attempt_at = now + LEASE
        renewals = _open_invoices(to_charge, resumed=resumed, zones=zones)
        _update_rows(Subscription, subs, SUB_FIELDS)
    return renewals, len(subs), last


def _settle_without_money(sub: Subscription, *, now: datetime, report: RunReport) -> bool:
    """Cancel at period end, complete at the invoice limit, send the trial notice.
    True when the subscription needs nothing more in this step."""
    if sub.status == S.NON_RENEWING:
        sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
        report.canceled += 1
        _emit(sub, "subscription_canceled")
        return True
    limit = sub.plan.invoice_limit
    if limit is not None and sub.invoices_paid >= limit and sub.status != S.PAST_DUE:
        sub.status, sub.next_attempt_at = S.COMPLETED, None
        report.completed += 1
        _emit(sub, "subscription_completed")
        return True
    if sub.status == S.TRIALING and not sub.trial_will_end_sent:
        sub.trial_will_end_sent = True
        if sub.trial_end is not None and now < sub.trial_end:
            sub.next_attempt_at = sub.trial_end
            report.notices += 1
            _emit(sub, "subscription_trial_will_end")
            return True
    return False


def _open_invoices(subs: list[Subscription], *, resumed: set[str],
                   zones: dict[str, str]) -> list[Renewal]:
    """The invoice and the pending attempt of each renewal: reused when they exist.

    Only subscriptions in ``resumed`` can have an open invoice; a fresh renewal that
    collides anyway (``invoice_one_per_period``) is skipped and resumed after its lease."""
    if not subs:
        return []
    open_invoices = {
        inv.subscription_id: inv
        for inv in Invoice.objects.filter(subscription__in=resumed, status=Invoice.Status.OPEN)
    } if resumed else {}
    pending = {
        p.invoice_id: p for p in PaymentAttempt.objects.filter(
            invoice__in=list(open_invoices.values()),
            status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.PROCESSING],
        )
    } if open_invoices else {}

    fresh: list[Invoice] = []
    for sub in subs:
        if sub.pk in open_invoices:
            continue
        plan = sub.plan
        cycle = BillingCycle.for_anchor(plan.interval, plan.interval_count, sub.anchor,
                                        zones[sub.merchant_id])
        start, end = cycle.period(sub.period_index + 1)
        fresh.append(Invoice(
            merchant_id=sub.merchant_id, number=0, customer_id=sub.customer_id, subscription=sub,
            amount=plan.amount, currency=plan.currency, description=plan.name,
            period_start=start, period_end=end,
        ))
    open_invoices.update(_create_numbered(fresh))

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


def _create_numbered(invoices: list[Invoice]) -> dict[str, Invoice]:
    """Insert the invoices with consecutive numbers per merchant (gap-free, in this tx)."""
    if not invoices:
        return {}
    alias = current_mode()
    try:
        with transaction.atomic(using=alias):
            _number(invoices)
            Invoice.objects.bulk_create(invoices)
        return {str(inv.subscription_id): inv for inv in invoices}
    except IntegrityError:
        pass  # an invoice for one of these periods exists: go one by one
    created: dict[str, Invoice] = {}
    for inv in invoices:
        try:
            with transaction.atomic(using=alias):
                _number([inv])
                inv.save(force_insert=True)
            created[str(inv.subscription_id)] = inv
        except IntegrityError:
            logger.info("invoice already exists", extra={"subscription": inv.subscription_id})
    return created


def _number(invoices: list[Invoice]) -> None:
    by_merchant: dict[str, list[Invoice]] = {}
    for inv in invoices:
        by_merchant.setdefault(inv.merchant_id, []).append(inv)
    for merchant_id in sorted(by_merchant):  # one lock order: no deadlock between runners
        rows = by_merchant[merchant_id]
        for inv, number in zip(rows, invoice_numbers_reserve(merchant_id=merchant_id,
                                                             count=len(rows)), strict=True):
            inv.number = number


def _attempt(sub: Subscription, invoice: Invoice) -> PaymentAttempt:
    attempt_no = sub.dunning_attempts + 1
    key = invoice.pk if attempt_no == 1 else f"{invoice.pk}:{attempt_no}"
    card = sub.card
    return PaymentAttempt(
        merchant_id=sub.merchant_id, customer_id=sub.customer_id, invoice=invoice,
        rail=card.rail if card else "card", status=PaymentAttempt.Status.PROCESSING,
        amount=invoice.amount, currency=invoice.currency, idempotency_key=key,
        card_brand=card.brand if card else "", card_last4=card.last4 if card else "",
        card_exp_month=card.exp_month if card else None,
        card_exp_year=card.exp_year if card else None,
    )


# --- phase 2: charge (outside any transaction) ------------------------------------

def _charge(renewal: Renewal) -> ChargeResult | None:
    card = renewal.sub.card
    if card is None or not card.authorization:
        return ChargeResult(status="failed", failure_code="no_card",
                            failure_message="The subscription has no saved card.")
    try:
        return get_rail(card.rail).charge_authorization(
            mode=current_mode(), amount=renewal.invoice.amount,
            currency=renewal.invoice.currency, authorization=card.authorization,
            idempotency_key=renewal.payment.idempotency_key,
        )
    except RailError as exc:  # the rail could not act: leave it leased, retried later
        logger.warning("renewal charge not attempted",
                       extra={"subscription": renewal.sub.pk, "code": exc.code})
        return None


# --- phase 3: settle --------------------------------------------------------------

def _settle(renewals: list[Renewal], *, now: datetime, report: RunReport) -> None:
    if not renewals:
        return
    alias = current_mode()
    with transaction.atomic(using=alias):
        fresh = {
            s.pk: s for s in Subscription.objects.select_for_update()
            .filter(pk__in=[r.sub.pk for r in renewals])
        }
        policies = dunning_days_for(r.sub.merchant_id for r in renewals)
        subs, invoices, payments, events = [], [], [], []
        for renewal in renewals:
            sub = fresh[renewal.sub.pk]
            sub.plan, sub.customer, sub.card = (renewal.sub.plan, renewal.sub.customer,
                                                renewal.sub.card)
            invoice, payment, result = renewal.invoice, renewal.payment, renewal.result
            if result is None:  # the charge never answered: the lease brings it back
                continue
            still_ours = (sub.period_index == renewal.sub.period_index
                          and sub.status in CLAIMABLE and invoice.status == Invoice.Status.OPEN)
            if result.succeeded:
                payment.status, payment.paid_at = PaymentAttempt.Status.SUCCEEDED, now
                payment.rail_reference = result.reference
                invoice.status, invoice.paid_at = Invoice.Status.PAID, now
                invoice.receipt_status = "pending"  # outbox: the receipt sweep sends it
                if still_ours:
                    _advance(sub, invoice)
                    report.renewed += 1
                    events.append((sub, "subscription_payment_success", renewal))
            else:
                payment.status = PaymentAttempt.Status.FAILED
                payment.failure_code = result.failure_code[:40]
                payment.failure_message = result.failure_message[:300]
                if still_ours:
                    report.failed += 1
                    events.append((sub, "subscription_payment_failed", renewal))
                    if _dun(sub, invoice, now=now, days=policies[sub.merchant_id]):
                        report.canceled += 1
                        events.append((sub, "subscription_canceled", renewal))
            subs.append(sub)
            invoices.append(invoice)
            payments.append(payment)
        _update_rows(Subscription, subs, SUB_FIELDS)
        _update_rows(Invoice, invoices, ["status", "paid_at", "receipt_status"])
        stamp = timezone.now()
        for payment in payments:
            payment.updated_at = stamp
        _update_rows(PaymentAttempt, payments, ["status", "paid_at", "rail_reference",
                                                "failure_code", "failure_message", "updated_at"])
        for sub, type_, renewal in events:
            _emit(sub, type_, renewal.invoice, renewal.payment)


def _advance(sub: Subscription, invoice: Invoice) -> None:
    """Paid: the invoice's period (computed from the anchor) becomes the current one."""
    sub.status = S.ACTIVE
    sub.period_index += 1
    assert invoice.period_start is not None and invoice.period_end is not None
    sub.current_period_start, sub.current_period_end = invoice.period_start, invoice.period_end
    sub.invoices_paid += 1
    sub.dunning_attempts = 0
    sub.next_attempt_at = invoice.period_end


def _dun(sub: Subscription, invoice: Invoice, *, now: datetime, days: list[int]) -> bool:
    """Failed: schedule the next retry, or cancel when the schedule is spent (True)."""
    sub.dunning_attempts += 1
    assert invoice.period_start is not None  # renewal invoices always carry their period
    retry = retry_at(due=invoice.period_start, failures=sub.dunning_attempts, days=days)
    if retry is not None:
        sub.status, sub.next_attempt_at = S.PAST_DUE, max(retry, now + MIN_RETRY_GAP)
        return False
    sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
    invoice.status = Invoice.Status.UNCOLLECTIBLE
    return True


def _update_rows(model, objs: list, fields: list[str]) -> None:
    """``UPDATE … WHERE pk = %s`` for each object, sent as one ``executemany``.

    Django's ``bulk_update`` builds a ``CASE`` per field in Python, which
    dominated a renewal's cost; psycopg pipelines an ``executemany``. Like
    ``bulk_update``, this skips ``save()`` and signals."""
    if not objs:
        return
    connection = connections[current_mode()]
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from model _meta only
        quote(meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns),
        quote(meta.pk.column),
    )
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _emit(sub: Subscription, type_: str, invoice: Invoice | None = None,
          payment: PaymentAttempt | None = None) -> None:
    # A first attempt is the invoice's only payment; a retry reads them all.
    first = payment is not None and ":" not in payment.idempotency_key
    payments = [payment] if first and payment is not None else None
    event_emit(merchant_id=sub.merchant_id, type=type_,
               data=renewal_payload(subscription=sub, invoice=invoice, payment=payment,
                                    payments=payments))
