"""A subscription's periods: the first one opened, one more when a renewal is paid, the
dunning schedule when it is not. Called inside :mod:`billing.payments`' transaction.

    sub = subscription_open(merchant_id=m, customer=c, plan=p, card=card, paid_at=now)
    if is_next_period(sub, invoice):
        period_advance(sub, invoice)                   # paid
        canceled = dunning_step(sub, invoice, now=now, days=[1, 3, 5])   # declined
    event = period_end_step(sub, now=now)   # due, no charge: cancel, complete, trial notice
    period_restart(sub, at=now)             # a pause ends: a new anchor, charged at once
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from billing.cycle import BillingCycle, local_date, local_midnight, subscription_start
from billing.models import Card, Customer, Invoice, Plan, Subscription
from billing.schedule import next_attempt_for, retry_at
from duro.merchants import merchant_timezones

S = Subscription.Status
RENEWABLE = (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.NON_RENEWING)


def subscription_open(*, merchant_id: str, customer: Customer, plan: Plan, card: Card | None,
                      paid_at: datetime, metadata: dict | None = None,
                      tz: str | None = None, **extra) -> Subscription:
    """A new subscription whose first period (or trial) starts at ``paid_at``, scheduled
    for the renewal engine (``next_attempt_at``). It keeps the plan's terms of today (price,
    interval, invoice limit, trial) and the merchant's zone (``tz`` overrides it): a later
    edit of either never changes it."""
    zone = tz or merchant_timezones([merchant_id])[merchant_id]
    start = subscription_start(interval=plan.interval, interval_count=plan.interval_count,
                               trial_days=plan.trial_days, paid_at=paid_at, tz=zone)
    return Subscription.objects.create(
        merchant_id=merchant_id, customer=customer, plan=plan, card=card,
        status=start.status, anchor=start.anchor, time_zone=zone,
        amount=plan.amount, currency=plan.currency, interval=plan.interval,
        interval_count=plan.interval_count, invoice_limit=plan.invoice_limit,
        trial_days=plan.trial_days, period_index=start.period_index,
        current_period_start=start.current_period_start,
        current_period_end=start.current_period_end, trial_end=start.trial_end,
        invoices_paid=0 if start.trial_end else 1, metadata=metadata or {},
        next_attempt_at=next_attempt_for(status=start.status,
                                          current_period_end=start.current_period_end,
                                          trial_end=start.trial_end, trial_will_end_sent=False,
                                          trial_notice=timedelta(
                                              days=settings.DURO_TRIAL_NOTICE_DAYS)),
        **extra,
    )


def is_next_period(sub: Subscription, invoice: Invoice) -> bool:
    """The invoice bills the period after the subscription's current one, and the
    subscription still renews: the one renewal this invoice was opened for."""
    return (sub.status in RENEWABLE and invoice.period_end is not None
            and invoice.period_end > sub.current_period_end)


def period_advance(sub: Subscription, invoice: Invoice) -> None:
    """Paid: the invoice's period (computed from the anchor) becomes the current one.
    A subscription cancelled at period end meanwhile stays ``non_renewing``."""
    if sub.status != S.NON_RENEWING:
        sub.status = S.ACTIVE
    sub.period_index += 1
    assert invoice.period_start is not None and invoice.period_end is not None
    sub.current_period_start, sub.current_period_end = invoice.period_start, invoice.period_end
    sub.invoices_paid += 1
    sub.dunning_attempts = 0
    sub.next_attempt_at = invoice.period_end


def dunning_step(sub: Subscription, invoice: Invoice, *, now: datetime, days: list[int]) -> bool:
    """Failed: schedule the next retry, or cancel when the schedule is spent (True)."""
    sub.dunning_attempts += 1
    if sub.status == S.NON_RENEWING:
        # Cancelled at period end while its renewal was being charged: that period is
        # over, so it ends now and the renewal invoice is void rather than chased.
        sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
        invoice.status = Invoice.Status.VOID
        return True
    assert invoice.period_start is not None  # renewal invoices always carry their period
    retry = retry_at(due=invoice.period_start, failures=sub.dunning_attempts, days=days,
                     failed_at=now)
    if retry is not None:
        sub.status, sub.next_attempt_at = S.PAST_DUE, retry
        return False
    sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
    invoice.status = Invoice.Status.UNCOLLECTIBLE
    return True


def period_end_step(sub: Subscription, *, now: datetime) -> str | None:
    """What a due subscription does without a charge: end when cancelled at period end,
    complete at its invoice limit, or send the trial notice first. Returns the event type
    (``None``: it must be charged)."""
    if sub.status == S.NON_RENEWING:
        sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
        return "subscription_canceled"
    limit = sub.invoice_limit  # the subscription's own: the plan's may have changed since
    if limit is not None and sub.invoices_paid >= limit and sub.status != S.PAST_DUE:
        sub.status, sub.next_attempt_at = S.COMPLETED, None
        return "subscription_completed"
    if sub.status == S.TRIALING and not sub.trial_will_end_sent:
        sub.trial_will_end_sent = True
        if sub.trial_end is not None and now < sub.trial_end:
            sub.next_attempt_at = sub.trial_end
            return "subscription_trial_will_end"
    return None


def period_restart(sub: Subscription, *, at: datetime) -> None:
    """A pause ends at ``at``: the subscription starts over on a new anchor, as a first pay
    would (the local date of ``at``), and is due at once, so that the renewal engine
    charges period 0 of the new cycle as a fresh renewal (caller's transaction, row locked).

    Until that charge it holds no paid period (``current_period_start == current_period_end
    == at``, ``period_index`` −1). A day whose midnight already starts one of its invoices
    (paused and resumed on the day a period began) moves the anchor to the next day: one
    invoice per period start (``invoice_one_per_period``), and that day was paid for.
    """
    day = local_date(at, sub.time_zone)
    taken = set(Invoice.objects.filter(subscription=sub, period_start__gte=local_midnight(
        day, sub.time_zone)).values_list("period_start", flat=True))
    while local_midnight(day, sub.time_zone) in taken:
        day += timedelta(days=1)
    cycle = BillingCycle(sub.interval, sub.interval_count, day, sub.time_zone)
    sub.status, sub.anchor, sub.period_index = S.ACTIVE, cycle.start_of(0), -1
    sub.current_period_start = sub.current_period_end = sub.next_attempt_at = at
    sub.dunning_attempts, sub.paused_at, sub.resumes_at = 0, None, None
