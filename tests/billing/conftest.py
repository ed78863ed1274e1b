"""Billing factories: a subscribed customer as the checkout pay flow would leave it; and the
real worker and webhook receiver, for the end-to-end refund test."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from django.db import transaction

from billing.invoices import invoice_create
from billing.models import Card, Customer, Plan, Subscription
from billing.periods import subscription_open
from duro.modes import mode_context
from tests.webhooks.conftest import receiver  # noqa: F401 - fixture
from tests.worker import worker, worker_factory  # noqa: F401 - fixtures
from webhooks.models import Event

PAID_AT = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)  # 10:00 in Lagos
_seq = itertools.count(1)


def subscribe(merchant_id: str, *, authorization: str = "sbx_ok_test", interval: str = "monthly",
              interval_count: int = 1, trial_days: int = 0, invoice_limit: int | None = None,
              amount: int = 1_500_000, paid_at: datetime = PAID_AT, tz: str = "Africa/Lagos",
              mode: str = "test", first_invoice: bool = True,
              clock: datetime | None = None) -> Subscription:
    """Plan + Customer + Card + Subscription (+ the first paid invoice, unless trialing).

    ``clock`` puts the subscription on a test clock frozen at that time."""
    n = next(_seq)
    with mode_context(mode), transaction.atomic(using=mode):
        plan = Plan.objects.create(merchant_id=merchant_id, name=f"Gym {n}", amount=amount,
                                   interval=interval, interval_count=interval_count,
                                   trial_days=trial_days, invoice_limit=invoice_limit)
        customer = Customer.objects.create(merchant_id=merchant_id, email=f"ada{n}@example.com")
        card = Card.objects.create(merchant_id=merchant_id, customer=customer, brand="visa",
                                   last4="0341" if "fail" in authorization else "4242",
                                   exp_month=12, exp_year=2035, authorization=authorization)
        sub = subscription_open(merchant_id=merchant_id, customer=customer, plan=plan,
                                card=card, paid_at=paid_at, tz=tz, created_at=paid_at,
                                clock=clock)
        if first_invoice and not trial_days:
            invoice_create(merchant_id=merchant_id, customer=customer, subscription=sub,
                           amount=amount, currency="NGN", period_start=sub.current_period_start,
                           period_end=sub.current_period_end, status="paid", paid_at=paid_at)
    return sub


def event_types(merchant_id: str, mode: str = "test") -> list[str]:
    with mode_context(mode):
        return list(Event.objects.filter(merchant_id=merchant_id)
                    .order_by("created_at", "id").values_list("type", flat=True))


@pytest.fixture
def merchant(acme):
    return acme.merchant
