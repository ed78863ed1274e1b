"""Switching a subscription's plan (billing.changes decides when; these write it).

Used by the change itself, by the settlement of its proration charge
(:func:`proration_switch`, inside :func:`billing.payments.payments_settle`) and by the
renewal engine when a plan waits for the period's end (:func:`pending_plan_switch`).
Every caller holds the subscription's row lock.
"""

from __future__ import annotations

from django.db.models import F
from django.utils.dateparse import parse_datetime

from billing.models import Invoice, Plan, Subscription
from billing.payloads import renewal_payload
from billing.schedule import next_attempt_for
from webhooks.events import event_emit


def terms_switch(sub: Subscription, plan: Plan, terms: dict) -> None:
    """The new plan's terms, now (inside the caller's transaction, ``sub`` locked)."""
    sub.plan, sub.amount = plan, plan.amount
    sub.pending_plan = None
    fields = ["plan", "amount", "pending_plan"]
    if terms.get("anchorChanges"):
        start = parse_datetime(terms["periodStart"])
        end = parse_datetime(terms["periodEnd"])
        assert start is not None and end is not None
        sub.interval, sub.interval_count = plan.interval, plan.interval_count
        sub.anchor, sub.period_index = start, 0
        sub.current_period_start, sub.current_period_end = start, end
        sub.next_attempt_at = next_attempt_for(
            status=sub.status, current_period_end=end, trial_end=sub.trial_end,
            trial_will_end_sent=sub.trial_will_end_sent)
        fields += ["interval", "interval_count", "anchor", "period_index",
                   "current_period_start", "current_period_end", "next_attempt_at"]
    sub.save(update_fields=fields)
    if terms.get("carriedCredit"):
        Subscription.objects.filter(pk=sub.pk).update(
            credit_balance=F("credit_balance") + int(terms["carriedCredit"]))
        sub.credit_balance += int(terms["carriedCredit"])


def plan_updated(sub: Subscription, *, previous_plan_id: str) -> None:
    event_emit(merchant_id=sub.merchant_id, type="subscription_updated",
               data={**renewal_payload(subscription=sub), "previousPlanId": previous_plan_id,
                     "pendingPlanId": sub.pending_plan_id})


def proration_switch(sub: Subscription, invoice: Invoice) -> None:
    """The proration invoice is paid (inside ``payments_settle``, rows locked): the
    subscription takes the plan it bought."""
    terms = invoice.change
    plan = Plan.objects.get(pk=terms["planId"])
    previous = sub.plan_id
    terms_switch(sub, plan, terms)
    plan_updated(sub, previous_plan_id=previous)


def pending_plan_switch(sub: Subscription) -> None:
    """The period ends with a plan waiting (a downgrade at period end): the renewal about
    to be invoiced bills the new plan; another cycle is anchored at the period's end."""
    plan = sub.pending_plan
    if plan is None:
        return
    previous = sub.plan_id
    sub.plan, sub.amount, sub.pending_plan = plan, plan.amount, None
    fields = ["plan", "amount", "pending_plan"]
    if (plan.interval, plan.interval_count) != (sub.interval, sub.interval_count):
        sub.interval, sub.interval_count = plan.interval, plan.interval_count
        sub.anchor, sub.period_index = sub.current_period_end, -1  # period 0 starts there
        fields += ["interval", "interval_count", "anchor", "period_index"]
    Subscription.objects.filter(pk=sub.pk).update(**{f: getattr(sub, f) for f in fields})
    plan_updated(sub, previous_plan_id=previous)
