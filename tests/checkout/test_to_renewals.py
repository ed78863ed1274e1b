"""From the hosted pay to the renewal engine: the subscription checkout creates renews."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from billing.models import Invoice, Subscription
from duro.modes import mode_context
from tests.checkout.factories import card, make_plan, make_session, pay
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")


def _checkout(api, number="4242424242424242", **plan_fields):
    plan = make_plan(api, **plan_fields)
    session = make_session(api, planId=plan["id"])
    assert pay(APIClient(), session["token"], card=card(number)).json()["data"]["status"] == (
        "completed")
    return api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["subscriptionId"]


def _advance(api, sub_id, days):
    with mode_context("test"):
        start = Subscription.objects.get(pk=sub_id).current_period_start
    target = (start + timedelta(days=days)).isoformat()
    response = api.post(f"/v1/subscriptions/{sub_id}/advance", {"to": target}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_a_paid_checkout_renews_every_month_on_the_test_clock(api):
    sub_id = _checkout(api)
    sub = _advance(api, sub_id, 95)  # three renewals: months 2, 3 and 4
    assert sub["status"] == "active"
    with mode_context("test"):
        numbers = list(Invoice.objects.filter(subscription_id=sub_id)
                       .order_by("number").values_list("number", "status"))
        assert numbers == [(1, "paid"), (2, "paid"), (3, "paid"), (4, "paid")]
        types = list(Event.objects.order_by("created_at").values_list("type", flat=True))
    assert types.count("subscription_payment_success") == 4
    assert types[0] == "subscription_created"


def test_the_renewals_fail_card_goes_past_due_then_canceled(api):
    sub_id = _checkout(api, number="4000000000000341")
    assert _advance(api, sub_id, 31)["status"] == "past_due"
    assert _advance(api, sub_id, 40)["status"] == "canceled"
    with mode_context("test"):
        statuses = set(Invoice.objects.filter(subscription_id=sub_id)
                       .values_list("status", flat=True))
        types = set(Event.objects.values_list("type", flat=True))
    assert statuses == {"paid", "uncollectible"}
    assert {"subscription_payment_failed", "subscription_canceled"} <= types


def test_a_trial_from_checkout_charges_when_it_ends(api):
    sub_id = _checkout(api, trialDays=7)
    with mode_context("test"):
        assert Subscription.objects.get(pk=sub_id).status == "trialing"
    sub = _advance(api, sub_id, 8)
    assert sub["status"] == "active"
    with mode_context("test"):
        paid = list(Invoice.objects.filter(subscription_id=sub_id, status="paid")
                    .order_by("number").values_list("amount", flat=True))
        types = list(Event.objects.values_list("type", flat=True))
    assert paid == [0, 1_500_000]
    assert "subscription_trial_will_end" in types
