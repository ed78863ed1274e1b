"""Plan services: create and update, refusing price changes once a plan has subscribers.

An update never reaches existing subscriptions: each keeps the terms it was sold with
(:func:`billing.periods.subscription_open` copies them), so a new limit or trial applies
to subscriptions sold afterwards.
"""

from __future__ import annotations

from billing.models import Plan, Subscription
from duro.db import atomic
from duro.errors import Invalid

PRICE_FIELDS = ("amount", "currency", "interval", "interval_count")


def plan_create(*, merchant_id: str, **fields) -> Plan:
    return Plan.objects.create(merchant_id=merchant_id, **fields)


def plan_has_subscribers(plan: Plan) -> bool:
    return Subscription.objects.filter(plan_id=plan.id).exists()


def plan_update(*, plan: Plan, **changes) -> Plan:
    with atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        changed_price = [f for f in PRICE_FIELDS if f in changes and changes[f] != getattr(plan, f)]
        if changed_price and plan_has_subscribers(plan):
            raise Invalid(
                "This plan has subscribers: its price and interval cannot change. "
                "Create a new plan instead.",
                param=changed_price[0], code="plan_has_subscribers",
            )
        for field, value in changes.items():
            setattr(plan, field, value)
        plan.save()
    return plan
