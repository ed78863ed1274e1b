"""Subscription services: cancel (now or at period end) and advance a test clock.

    subscription_cancel(merchant_id=m, subscription_id="sub_…", at_period_end=True, now=now)
    subscription_advance(merchant_id=m, subscription_id="sub_…", to=when, now=now)  # test mode

Cancelling at period end makes the subscription ``non_renewing``; the
renewal engine cancels it when the period ends. Cancelling now (or a
``past_due`` subscription, whose period has already ended) cancels at once
and voids its open invoice.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from billing.models import Customer, Invoice, Subscription
from billing.payloads import renewal_payload
from billing.renewals import renewals_run
from duro.db import atomic
from duro.errors import Invalid, NotFound
from duro.modes import TEST, current_mode
from webhooks.events import event_emit

S = Subscription.Status
MAX_CLOCK_STEPS = 1000  # one step per renewal, notice or retry; ~80 years of a monthly plan


def _locked(*, merchant_id: str, subscription_id: str) -> Subscription:
    sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer", "card")
           .filter(merchant_id=merchant_id, pk=subscription_id).first())
    if sub is None:
        raise NotFound(f"No such subscription: {subscription_id!r}.", param="id")
    return sub


def subscription_cancel(*, merchant_id: str, subscription_id: str, at_period_end: bool,
                        now: datetime) -> Subscription:
    """Idempotent: cancelling a cancelled (or completed) subscription returns it unchanged."""
    with atomic():
        sub = _locked(merchant_id=merchant_id, subscription_id=subscription_id)
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
        sub.cancel_at_period_end = False
        sub.save(update_fields=["status", "canceled_at", "next_attempt_at",
                                "cancel_at_period_end"])
        Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN).update(
            status=Invoice.Status.VOID
        )
        event_emit(merchant_id=merchant_id, type="subscription_canceled",
                   data=renewal_payload(subscription=sub))
    return sub


def subscription_advance(*, merchant_id: str, subscription_id: str, to: datetime,
                         now: datetime) -> Subscription:
    """Move a subscription's test clock to ``to`` and run its renewals up to then.

    Each due step runs at its own due time, so a year of a monthly plan makes
    twelve invoices, and dunning retries land on their days.
    """
    if current_mode() != TEST:
        raise Invalid("The test clock exists in test mode only: use your sk_test_ key.",
                      code="test_mode_only")
    with atomic():
        sub = _locked(merchant_id=merchant_id, subscription_id=subscription_id)
        base = sub.clock or now
        if to < base:
            raise Invalid(
                f"The clock only moves forward: 'to' must be at or after {base.isoformat()}.",
                param="to", code="clock_backward",
            )
        sub.clock = to
        sub.save(update_fields=["clock"])
    for _ in range(MAX_CLOCK_STEPS):
        due = Subscription.objects.filter(pk=sub.pk).values_list("next_attempt_at", flat=True)[0]
        if due is None or due > to:
            break
        report = renewals_run(now=due, subscription_id=sub.pk)
        if report.claimed == 0 or report.errors:
            break  # held by another runner, or the rail could not act: stop here
    return Subscription.objects.select_related("card").get(pk=sub.pk)


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
