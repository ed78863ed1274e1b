"""Every event a checkout leads to carries the session's metadata at ``data.metadata``: the
first pay, each renewal, failure, cancellation, trial notice, completion and non-renewal."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from billing.models import Subscription
from duro.modes import mode_context
from tests.checkout.factories import card, make_plan, make_session, pay
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

EVERY_TYPE = {"subscription_created", "subscription_payment_success", "payment_success",
              "subscription_payment_failed", "subscription_canceled",
              "subscription_trial_will_end", "subscription_completed",
              "subscription_non_renewing"}


def _checkout(api, order: str, number: str = "4242424242424242", **session) -> str | None:
    made = make_session(api, metadata={"orderId": order, "channel": "web"}, **session)
    answer = pay(APIClient(), made["token"], card=card(number)).json()["data"]
    assert answer["status"] == "completed", answer
    return api.get(f"/v1/checkout/sessions/{made['id']}").json()["data"]["subscriptionId"]


def _advance(api, sub_id: str, days: int) -> None:
    with mode_context("test"):
        start = Subscription.objects.get(pk=sub_id).created_at
    response = api.post(f"/v1/subscriptions/{sub_id}/advance",
                        {"to": (start + timedelta(days=days)).isoformat()}, format="json")
    assert response.status_code == 200, response.content


def test_every_event_of_a_full_lifecycle_carries_the_sessions_metadata(api):
    limited = make_plan(api, name="Trial", trialDays=7, invoiceLimit=2)
    monthly = make_plan(api, name="Monthly")
    orders = {}
    # Trial → notice → two paid renewals → completed.
    orders[_checkout(api, "trial", planId=limited["id"])] = "trial"
    # Every renewal fails → four failures → cancelled by dunning.
    orders[_checkout(api, "failing", "4000000000000341", planId=monthly["id"])] = "failing"
    # Cancelled at period end → non_renewing → cancelled by the engine.
    orders[_checkout(api, "leaving", planId=monthly["id"])] = "leaving"
    # Cancelled now.
    orders[_checkout(api, "gone", planId=monthly["id"])] = "gone"
    # A one-off amount.
    assert _checkout(api, "once", amount=250_000, currency="NGN") is None

    by_order = {v: k for k, v in orders.items()}
    _advance(api, by_order["trial"], 100)
    _advance(api, by_order["failing"], 45)
    api.post(f"/v1/subscriptions/{by_order['leaving']}/cancel", {"atPeriodEnd": True},
             format="json")
    _advance(api, by_order["leaving"], 40)
    api.post(f"/v1/subscriptions/{by_order['gone']}/cancel", {"atPeriodEnd": False},
             format="json")

    with mode_context("test"):
        events = list(Event.objects.order_by("created_at", "id"))
    assert {e.type for e in events} == EVERY_TYPE
    for event in events:
        assert "metadata" in event.data, event.type
        subscription = event.data.get("subscription")
        order = orders[subscription["id"]] if subscription else "once"
        assert event.data["metadata"] == {"orderId": order, "channel": "web"}, event.type
    # And through the API, as a webhook receiver reads them.
    listed = api.get("/v1/events?limit=100").json()["data"]
    assert len(listed) == len(events)
    assert all(e["data"]["metadata"]["channel"] == "web" for e in listed)
