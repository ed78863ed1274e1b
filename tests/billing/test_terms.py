"""A subscription keeps what it was sold with: its merchant's time zone, and its plan's
terms (price, interval, invoice limit, trial) at creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from billing.cycle import local_date
from billing.models import Invoice, Plan, Subscription
from billing.renewals import renewals_run
from duro.merchants import merchant_timezone_changed
from duro.models import Merchant
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.checkout.factories import make_plan, make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

LAGOS = "Africa/Lagos"
RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # the end of subscribe()'s first period


def _invoices(sub_id: str) -> list[Invoice]:
    with mode_context("test"):
        return list(Invoice.objects.filter(subscription_id=sub_id).order_by("period_start"))


def _assert_contiguous_on_lagos_days(sub_id: str, days: list[str]) -> None:
    invoices = _invoices(sub_id)
    assert [local_date(i.period_start, LAGOS).isoformat() for i in invoices] == days
    for before, after in pairwise(invoices):
        assert after.period_start == before.period_end  # no overlap, no gap


def test_a_new_zone_does_not_move_existing_subscriptions(merchant):
    sub = subscribe(merchant.id, tz=LAGOS)  # anchored Jan 15, Lagos
    Merchant.objects.filter(pk=merchant.id).update(timezone="America/Los_Angeles")
    with mode_context("test"):
        renewals_run(now=datetime(2025, 4, 20, tzinfo=UTC))
        sub = Subscription.objects.get(pk=sub.pk)
    _assert_contiguous_on_lagos_days(sub.pk, ["2025-01-15", "2025-02-15", "2025-03-15",
                                              "2025-04-15"])
    assert sub.time_zone == LAGOS
    assert local_date(sub.current_period_end, LAGOS).isoformat() == "2025-05-15"
    assert sub.current_period_end.astimezone(UTC).hour == 23  # Lagos midnight


def test_checkout_keeps_the_zone_of_the_day_it_was_sold(api, acme):
    plan = make_plan(api)
    session = make_session(api, planId=plan["id"])
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    sub_id = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["subscriptionId"]
    with mode_context("test"):
        sub = Subscription.objects.get(pk=sub_id)
    assert sub.time_zone == LAGOS
    first_day = local_date(sub.current_period_start, LAGOS)
    # As the merchant page changes it: the row, and the cached zone dropped (duro.merchants).
    with transaction.atomic(using="default"):
        merchant = Merchant.objects.get(pk=acme.merchant.id)
        merchant.timezone = "Pacific/Kiritimati"
        merchant.save(update_fields=["timezone"])
        merchant_timezone_changed(merchant)
    target = sub.current_period_start.replace(year=sub.current_period_start.year + 1)
    response = api.post(f"/v1/subscriptions/{sub_id}/advance", {"to": target.isoformat()},
                        format="json")
    assert response.status_code == 200, response.content
    invoices = _invoices(sub_id)
    assert len(invoices) == 13
    assert {local_date(i.period_start, LAGOS).day for i in invoices} <= {
        first_day.day, 28, 29, 30}  # the anchor's Lagos day, clamped in short months
    for before, after in pairwise(invoices):
        assert after.period_start == before.period_end
    # A subscription sold after the change takes the merchant's new zone.
    session = make_session(api, planId=plan["id"])
    pay(APIClient(), session["token"], email="bo@example.com", phone="0803 000 0001")
    newer = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["subscriptionId"]
    with mode_context("test"):
        assert Subscription.objects.get(pk=newer).time_zone == "Pacific/Kiritimati"


def _migration(suffix: str):
    """A billing migration module found by its name (the number may change on merge)."""
    import importlib
    from pathlib import Path

    import billing.migrations as package

    [path] = Path(package.__path__[0]).glob(f"*_{suffix}.py")
    return importlib.import_module(f"billing.migrations.{path.stem}")


class _Editor:
    class connection:  # what RunPython reads of a schema editor
        alias = "test"


def test_the_migration_gives_existing_subscriptions_their_merchants_zone(merchant,
                                                                        make_merchant):
    from django.apps import apps

    here = subscribe(merchant.id)
    elsewhere = make_merchant().merchant
    Merchant.objects.filter(pk=elsewhere.id).update(timezone="Africa/Nairobi")
    there = subscribe(elsewhere.id)
    with mode_context("test"):
        Subscription.objects.update(time_zone="")
        _migration("subscription_timezone").zone_from_merchant(apps, _Editor)
        zones = dict(Subscription.objects.values_list("id", "time_zone"))
    assert zones == {here.pk: LAGOS, there.pk: "Africa/Nairobi"}


def _run(now: datetime):
    with mode_context("test"):
        return renewals_run(now=now)


def _reload(sub: Subscription) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.get(pk=sub.pk)


def test_lowering_a_plans_invoice_limit_does_not_end_a_live_subscription(api, merchant):
    sub = subscribe(merchant.id, invoice_limit=None)
    patched = api.patch(f"/v1/plans/{sub.plan_id}", {"invoiceLimit": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["data"]["invoiceLimit"] == 1
    _run(RENEWAL)
    _run(RENEWAL + timedelta(days=31))
    sub = _reload(sub)
    assert sub.status == "active" and sub.invoices_paid == 3
    assert sub.invoice_limit is None


def test_raising_or_removing_the_limit_keeps_the_subscriptions_own(api, merchant):
    sub = subscribe(merchant.id, invoice_limit=2)
    api.patch(f"/v1/plans/{sub.plan_id}", {"invoiceLimit": None}, format="json")
    _run(datetime(2025, 6, 1, tzinfo=UTC))
    sub = _reload(sub)
    assert sub.status == "completed" and sub.invoices_paid == 2


def test_editing_the_trial_keeps_the_trial_it_was_sold_with(api, merchant):
    sub = subscribe(merchant.id, trial_days=14)
    trial_end = sub.trial_end
    api.patch(f"/v1/plans/{sub.plan_id}", {"trialDays": 0}, format="json")
    _run(trial_end - timedelta(hours=1))
    assert _reload(sub).status == "trialing"
    _run(trial_end)
    sub = _reload(sub)
    assert sub.status == "active" and sub.current_period_start == trial_end
    assert sub.trial_days == 14


def test_the_engine_charges_the_subscriptions_own_price_and_interval(merchant):
    """Amount and interval of a plan with subscribers are refused by the API and admin;
    even a plan row changed underneath (an operator's SQL) bills the terms sold."""
    sub = subscribe(merchant.id, amount=1_500_000)
    with mode_context("test"):
        Plan.objects.filter(pk=sub.plan_id).update(amount=1, currency="USD", interval="daily",
                                                   interval_count=3)
    _run(RENEWAL)
    [_, renewal] = _invoices(sub.pk)
    assert (renewal.amount, renewal.currency) == (1_500_000, "NGN")
    assert local_date(renewal.period_end, LAGOS).isoformat() == "2025-03-15"
    sub = _reload(sub)
    assert (sub.amount, sub.currency, sub.interval, sub.interval_count) == (
        1_500_000, "NGN", "monthly", 1)


def test_the_migration_copies_the_plans_terms(merchant):
    from django.apps import apps

    sub = subscribe(merchant.id, amount=990_000, interval="weekly", interval_count=2,
                    invoice_limit=6, trial_days=3)
    with mode_context("test"):
        Subscription.objects.update(amount=0, currency="", interval="", interval_count=1,
                                    invoice_limit=None, trial_days=0)
        _migration("subscription_terms").terms_from_plan(apps, _Editor)
        sub = Subscription.objects.get(pk=sub.pk)
    assert (sub.amount, sub.currency, sub.interval, sub.interval_count, sub.invoice_limit,
            sub.trial_days) == (990_000, "NGN", "weekly", 2, 6, 3)
