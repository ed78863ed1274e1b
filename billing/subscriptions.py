"""Subscription services: cancel (now or at period end), undo a cancel at period end, resume
a pause (:mod:`billing.pauses` pauses), and advance a test clock.

    subscription_cancel(merchant_id=m, subscription_id="sub_…", at_period_end=True, now=now)
    subscription_cancel_undo(merchant_id=m, subscription_id="sub_…", now=now)
    subscription_resume(merchant_id=m, subscription_id="sub_…", now=now)
    subscription_advance(merchant_id=m, subscription_id="sub_…", to=when, now=now)  # test mode

Cancelling at period end makes the subscription ``non_renewing``; the
renewal engine cancels it when the period ends. Cancelling now (or a
``past_due`` or ``paused`` subscription, whose paid period is over) cancels at once
and voids its open invoice. While the period of a ``non_renewing`` subscription
still runs, the cancel can be undone (the customer portal's "Keep my subscription"):
it renews again as before.

The test clock runs every step up to ``to``, or refuses before anything runs
(``to`` more than :data:`MAX_CLOCK_RENEWALS` renewals ahead), or — when a step
cannot run (the rail did not answer, another runner holds the subscription) —
stops the clock there and says where (``Conflict``): it never stops silently.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from billing.card_expiry import card_expiry_notices_open
from billing.cycle import BillingCycle, subscription_start
from billing.models import Customer, Invoice, Subscription
from billing.notices import CANCELED_BY_MERCHANT, notice_canceled, notices_open
from billing.pauses import locked_subscription, pause_end
from billing.payloads import renewal_payload
from billing.renewals import CLAIMABLE, renewals_run
from billing.schedule import next_attempt_for
from billing.selectors import dunning_days_for
from duro.db import atomic
from duro.errors import Conflict, Invalid
from duro.modes import TEST, current_mode
from duro.timestamps import iso
from webhooks.events import event_emit

S = Subscription.Status
# Renewals one advance may run (each ~10 ms): 83 years of a monthly plan, 2.7 of a daily one.
MAX_CLOCK_RENEWALS = 1000


def subscription_cancel(*, merchant_id: str, subscription_id: str, at_period_end: bool,
                        now: datetime) -> Subscription:
    """Idempotent: cancelling a cancelled (or completed) subscription returns it unchanged."""
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        if sub.status in (S.CANCELED, S.COMPLETED):
            return sub
        if at_period_end and sub.status in (S.ACTIVE, S.TRIALING):
            sub.status, sub.cancel_at_period_end = S.NON_RENEWING, True
            sub.next_attempt_at = sub.current_period_end
            sub.save(update_fields=["status", "cancel_at_period_end", "next_attempt_at"])
            event_emit(merchant_id=merchant_id, type="subscription_non_renewing",
                       data=renewal_payload(subscription=sub))
            return sub
        if at_period_end and sub.status == S.NON_RENEWING:
            return sub
        sub.status, sub.canceled_at, sub.next_attempt_at = S.CANCELED, now, None
        sub.cancel_at_period_end, sub.resumes_at = False, None  # a pause never ends now
        sub.save(update_fields=["status", "canceled_at", "next_attempt_at",
                                "cancel_at_period_end", "resumes_at"])
        Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN).update(
            status=Invoice.Status.VOID
        )
        event_emit(merchant_id=merchant_id, type="subscription_canceled",
                   data=renewal_payload(subscription=sub))
        notices_open([notice_canceled(sub, why=CANCELED_BY_MERCHANT)])
    return sub


def subscription_cancel_undo(*, merchant_id: str, subscription_id: str,
                             now: datetime) -> Subscription:
    """Take back a cancel at period end while the period runs (at the subscription's test
    clock, when it has one): ``active`` (or ``trialing``) again, scheduled to renew, event
    ``subscription_renewing``. Idempotent: a subscription that renews already is returned
    unchanged. Raises ``Conflict`` once it has ended, or its period has (the renewal
    engine is ending it)."""
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        if sub.status in (S.ACTIVE, S.TRIALING, S.PAST_DUE):
            return sub
        if sub.status != S.NON_RENEWING or (sub.clock or now) >= sub.current_period_end:
            raise Conflict("This subscription has ended and can no longer be kept.",
                           code="subscription_ended")
        sub.status = S.TRIALING if sub.period_index < 0 else S.ACTIVE
        sub.cancel_at_period_end = False
        sub.next_attempt_at = next_attempt_for(
            status=sub.status, current_period_end=sub.current_period_end,
            trial_end=sub.trial_end, trial_will_end_sent=sub.trial_will_end_sent)
        sub.save(update_fields=["status", "cancel_at_period_end", "next_attempt_at"])
        event_emit(merchant_id=merchant_id, type="subscription_renewing",
                   data=renewal_payload(subscription=sub))
    return sub


def subscription_resume(*, merchant_id: str, subscription_id: str,
                        now: datetime) -> Subscription:
    """End a pause now (the test clock's now): a new period starts at once and is charged
    right away through the renewal engine (the saved card; without one, the invoice's link
    is emailed), so the answer is ``active`` when paid, ``past_due`` when declined. A rail
    that does not answer leaves the charge to the engine's next run. Raises ``Conflict``
    (``subscription_not_paused``) unless the subscription is ``paused``."""
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        if sub.status != S.PAUSED:
            raise Conflict(f"Only a paused subscription can be resumed; this one is "
                          f"{sub.status}.", code="subscription_not_paused", param="id")
        at = sub.clock or now
        pause_end(sub, at=at)
    renewals_run(now=at, subscription_id=sub.pk)
    return Subscription.objects.select_related("card").get(pk=sub.pk)


def subscription_advance(*, merchant_id: str, subscription_id: str, to: datetime,
                         now: datetime) -> Subscription:
    """Move a subscription's test clock to ``to`` and run its renewals up to then.

    Each due step runs at its own due time, so a year of a monthly plan makes
    twelve invoices, and dunning retries land on their days. Raises ``Invalid``
    (``param="to"``) before anything runs when ``to`` is behind the clock or more
    than :data:`MAX_CLOCK_RENEWALS` renewals ahead, and ``Conflict`` when a step could
    not run: the clock then stands at that step, which the next advance runs.
    """
    if current_mode() != TEST:
        raise Invalid("The test clock exists in test mode only: use your sk_test_ key.",
                      code="test_mode_only")
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        base = sub.clock or now
        if to < base:
            raise Invalid(
                f"The clock only moves forward: 'to' must be at or after {base.isoformat()}.",
                param="to", code="clock_backward",
            )
        renewals = _renewals_until(sub, to)
        if renewals > MAX_CLOCK_RENEWALS:
            cycle, index = _cycle_ahead(sub)
            furthest = cycle.start_of(index + MAX_CLOCK_RENEWALS)
            raise Invalid(
                f"'to' is {renewals} renewals ahead; the test clock runs at most "
                f"{MAX_CLOCK_RENEWALS} per call. Advance to {iso(furthest)} or earlier, "
                "then call again.", param="to", code="clock_too_far",
            )
        sub.clock = to
        sub.save(update_fields=["clock"])
    days = len(dunning_days_for([merchant_id])[merchant_id])
    # Each renewal is at most one charge and its retries; add the trial notice and the end.
    budget = (renewals + 1) * (days + 2) + 2
    stopped = to
    for _ in range(budget):
        due = Subscription.objects.filter(pk=sub.pk).values_list("next_attempt_at", flat=True)[0]
        if due is None or due > to:
            # The clock moved: a card that expires before the renewal now near is warned of.
            card_expiry_notices_open(now=to, subscription_id=sub.pk)
            return Subscription.objects.select_related("card").get(pk=sub.pk)
        stopped = due
        report = renewals_run(now=due, subscription_id=sub.pk)
        if report.claimed == 0 or report.errors:
            break  # held by another runner, or the rail could not act
    Subscription.objects.filter(pk=sub.pk).update(clock=stopped)
    raise Conflict(f"The test clock stopped at {iso(stopped)}: the step due then could not "
                   "run (the rail did not answer, or another request holds this subscription). "
                   "Everything before it ran; advance again to continue.",
                   param="to", code="clock_interrupted")


def _cycle_ahead(sub: Subscription) -> tuple[BillingCycle, int]:
    """The cycle the clock runs on and the period it stands in: a pause with a date ends
    on a new anchor at that date (about: :func:`billing.periods.period_restart` may move it
    a day), before whose period 0 it stands."""
    if sub.status == S.PAUSED and sub.resumes_at is not None:
        start = subscription_start(interval=sub.interval, interval_count=sub.interval_count,
                                   trial_days=0, paid_at=sub.resumes_at, tz=sub.time_zone)
        return BillingCycle.for_anchor(sub.interval, sub.interval_count, start.anchor,
                                       sub.time_zone), -1
    return sub.cycle(), sub.period_index


def _renewals_until(sub: Subscription, to: datetime) -> int:
    """How many renewals the clock must run to reach ``to`` (its invoice limit caps it)."""
    resuming = sub.status == S.PAUSED and sub.resumes_at is not None and sub.resumes_at <= to
    if sub.status not in CLAIMABLE and not resuming:
        return 0
    cycle, index = _cycle_ahead(sub)
    renewals = max(0, cycle.index_at(to) - index)
    if sub.invoice_limit is not None:
        renewals = min(renewals, max(0, sub.invoice_limit - sub.invoices_paid) + 1)
    return renewals


def customer_set_blacklisted(*, customer: Customer, blacklisted: bool,
                             now: datetime | None = None) -> Customer:
    """Blacklist a customer (or lift it). Blacklisting stops every charge: each of their
    live subscriptions is cancelled now, which voids its open renewal invoice and emits
    ``subscription_canceled``. Lifting it revives nothing; new pays are allowed again."""
    now = now or timezone.now()
    with atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        customer.blacklisted = blacklisted
        customer.save(update_fields=["blacklisted"])
        if blacklisted:
            live = (Subscription.objects.filter(customer=customer)
                    .exclude(status__in=[S.CANCELED, S.COMPLETED]).order_by("pk"))
            for subscription_id in live.values_list("pk", flat=True):
                subscription_cancel(merchant_id=customer.merchant_id,
                                    subscription_id=subscription_id, at_period_end=False, now=now)
    return customer
