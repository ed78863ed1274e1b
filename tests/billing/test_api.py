"""Subscriptions and invoices over the API: list, retrieve, filters, cancel, test clock."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Subscription
from duro.modes import mode_context
from tests.billing.conftest import PAID_AT, event_types, subscribe
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(databases="__all__")


def test_list_and_retrieve_subscriptions(api, merchant, make_merchant):
    mine = subscribe(merchant.id)
    second = subscribe(merchant.id, trial_days=7)
    other = subscribe(make_merchant().merchant.id)
    body = api.get("/v1/subscriptions").json()
    assert {s["id"] for s in body["data"]} == {mine.id, second.id}
    assert body["hasMore"] is False
    row = api.get(f"/v1/subscriptions/{mine.id}").json()["data"]
    assert row["status"] == "active" and row["planId"] == mine.plan_id
    assert row["customerId"] == mine.customer_id and row["cancelAtPeriodEnd"] is False
    assert row["currentPeriodStart"] == "2025-01-14T23:00:00Z"
    assert row["currentPeriodEnd"] == "2025-02-14T23:00:00Z"
    assert row["card"] == {"brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2035}
    assert api.get(f"/v1/subscriptions/{other.id}").status_code == 404
    assert [s["id"] for s in api.get("/v1/subscriptions?status=trialing").json()["data"]] == [
        second.id]
    got = api.get(f"/v1/subscriptions?customerId={mine.customer_id}").json()["data"]
    assert [s["id"] for s in got] == [mine.id]
    page = api.get("/v1/subscriptions?limit=1").json()
    assert len(page["data"]) == 1 and page["hasMore"] is True


def test_list_filters_are_validated(api):
    response = api.get("/v1/subscriptions?status=sleeping")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "status"
    response = api.get("/v1/invoices?status=lost")
    assert response.status_code == 400 and response.json()["error"]["param"] == "status"
    response = api.get("/v1/invoices?customerId=" + "x" * 40)
    assert response.status_code == 400 and response.json()["error"]["param"] == "customerId"
    assert api.get("/v1/invoices?limit=0").json()["error"]["param"] == "limit"


def test_invoices_list_filters_and_retrieve_with_payments(api, merchant, make_merchant):
    sub = subscribe(merchant.id, clock=PAID_AT)
    lone = subscribe(merchant.id)
    foreign = subscribe(make_merchant().merchant.id)
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-02-15T00:00:00Z"},
             format="json")
    data = api.get("/v1/invoices").json()["data"]
    assert len(data) == 3
    by_sub = api.get(f"/v1/invoices?subscriptionId={sub.id}").json()["data"]
    assert [i["number"] for i in by_sub] == [3, 1]  # newest first
    assert api.get(f"/v1/invoices?customerId={lone.customer_id}").json()["data"][0][
        "subscriptionId"] == lone.id
    assert len(api.get("/v1/invoices?status=paid").json()["data"]) == 3
    invoice = api.get(f"/v1/invoices/{by_sub[0]['id']}").json()["data"]
    assert invoice["status"] == "paid" and invoice["amount"] == 1_500_000
    assert invoice["periodStart"] == "2025-02-14T23:00:00Z"
    assert invoice["currency"] == "NGN" and invoice["customerId"] == sub.customer_id
    [payment] = invoice["payments"]
    assert payment["status"] == "succeeded" and payment["card"]["last4"] == "4242"
    with mode_context("test"):
        foreign_invoice = foreign.invoices.get()
    assert api.get(f"/v1/invoices/{foreign_invoice.id}").status_code == 404


def test_cancel_at_period_end_then_now(api, merchant):
    sub = subscribe(merchant.id)
    response = api.post(f"/v1/subscriptions/{sub.id}/cancel", {}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "non_renewing" and data["cancelAtPeriodEnd"] is True
    again = api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": True}, format="json")
    assert again.json()["data"]["status"] == "non_renewing"
    now = api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False}, format="json")
    data = now.json()["data"]
    assert data["status"] == "canceled" and data["canceledAt"] is not None
    assert event_types(merchant.id) == ["subscription_non_renewing", "subscription_canceled"]
    # Cancelling a cancelled subscription changes nothing and emits nothing.
    api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False}, format="json")
    assert len(event_types(merchant.id)) == 2


def test_cancel_validation_and_scoping(api, merchant, make_merchant):
    sub = subscribe(merchant.id)
    bad = api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": "maybe"},
                   format="json")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "atPeriodEnd"
    foreign = subscribe(make_merchant().merchant.id)
    assert api.post(f"/v1/subscriptions/{foreign.id}/cancel", {}, format="json").status_code == 404
    with mode_context("test"):
        assert Subscription.objects.get(pk=foreign.pk).status == "active"


def test_cancel_past_due_voids_the_open_invoice(api, merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341", clock=PAID_AT)
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-02-15T06:00:00Z"},
             format="json")
    assert api.get(f"/v1/subscriptions/{sub.id}").json()["data"]["status"] == "past_due"
    data = api.post(f"/v1/subscriptions/{sub.id}/cancel", {}, format="json").json()["data"]
    assert data["status"] == "canceled"
    statuses = [i["status"] for i in api.get(f"/v1/invoices?subscriptionId={sub.id}")
                .json()["data"]]
    assert statuses == ["void", "paid"]


def test_test_clock_drives_a_year_of_renewals(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT)
    response = api.post(f"/v1/subscriptions/{sub.id}/advance",
                        {"to": "2025-12-20T00:00:00Z"}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["currentPeriodStart"] == "2025-12-14T23:00:00Z"
    assert data["nextPaymentAt"] == "2026-01-14T23:00:00Z"
    invoices = api.get(f"/v1/invoices?subscriptionId={sub.id}&limit=100").json()["data"]
    assert sorted(i["number"] for i in invoices) == list(range(1, 13))
    starts = sorted(i["periodStart"] for i in invoices)
    assert [s[:10] for s in starts] == [f"2025-{m:02d}-14" for m in range(1, 13)]
    assert all(i["status"] == "paid" for i in invoices)
    assert event_types(merchant.id) == ["subscription_payment_success"] * 11


def test_test_clock_dunning_to_cancellation(api, merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341", clock=PAID_AT)
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-03-01T00:00:00Z"},
             format="json")
    data = api.get(f"/v1/subscriptions/{sub.id}").json()["data"]
    assert data["status"] == "canceled"
    assert event_types(merchant.id) == ["subscription_payment_failed"] * 4 + [
        "subscription_canceled"]
    invoices = api.get(f"/v1/invoices?subscriptionId={sub.id}").json()["data"]
    assert [i["status"] for i in invoices] == ["uncollectible", "paid"]
    assert len(invoices[0]["payments"]) == 4


def test_test_clock_trial(api, merchant):
    sub = subscribe(merchant.id, trial_days=14, clock=PAID_AT)
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-01-27T00:00:00Z"},
             format="json")
    assert event_types(merchant.id) == ["subscription_trial_will_end"]
    data = api.get(f"/v1/subscriptions/{sub.id}").json()["data"]
    assert data["status"] == "trialing"
    api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-01-29T00:00:00Z"},
             format="json")
    data = api.get(f"/v1/subscriptions/{sub.id}").json()["data"]
    assert data["status"] == "active" and data["currentPeriodStart"] == "2025-01-28T23:00:00Z"
    assert event_types(merchant.id) == ["subscription_trial_will_end",
                                        "subscription_payment_success"]


def test_test_clock_never_moves_back(api, merchant):
    sub = subscribe(merchant.id, clock=PAID_AT)
    assert api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-04-01T00:00:00Z"},
                    format="json").status_code == 200
    same = api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "2025-04-01T00:00:00Z"},
                    format="json")
    assert same.status_code == 200
    back = api.post(f"/v1/subscriptions/{sub.id}/advance",
                    {"to": "2025-03-01T00:00:00Z"}, format="json")
    assert back.status_code == 400
    assert back.json()["error"]["param"] == "to"
    assert back.json()["error"]["code"] == "clock_backward"
    missing = api.post(f"/v1/subscriptions/{sub.id}/advance", {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "to"
    garbage = api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": "soon"}, format="json")
    assert garbage.status_code == 400 and garbage.json()["error"]["param"] == "to"


def test_a_subscription_off_the_clock_starts_from_the_real_now(api, merchant):
    sub = subscribe(merchant.id, paid_at=datetime.now(UTC))
    back = api.post(f"/v1/subscriptions/{sub.id}/advance",
                    {"to": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}, format="json")
    assert back.status_code == 400 and back.json()["error"]["param"] == "to"
    ahead = api.post(f"/v1/subscriptions/{sub.id}/advance",
                     {"to": (datetime.now(UTC) + timedelta(days=40)).isoformat()}, format="json")
    assert ahead.status_code == 200
    invoices = api.get(f"/v1/invoices?subscriptionId={sub.id}").json()["data"]
    assert [i["number"] for i in invoices] == [2, 1]


def test_test_clock_is_refused_in_live_mode(live_api, merchant):
    sub = subscribe(merchant.id, mode="live")
    response = live_api.post(f"/v1/subscriptions/{sub.id}/advance",
                             {"to": "2030-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "test_mode_only"
    assert "test mode" in response.json()["error"]["message"]


def test_live_key_sees_only_live_subscriptions(live_api, api, merchant):
    test_sub = subscribe(merchant.id)
    live_sub = subscribe(merchant.id, mode="live")
    assert [s["id"] for s in live_api.get("/v1/subscriptions").json()["data"]] == [live_sub.id]
    assert live_api.get(f"/v1/subscriptions/{test_sub.id}").status_code == 404
    assert [s["id"] for s in api.get("/v1/subscriptions").json()["data"]] == [test_sub.id]


def test_endpoints_need_a_secret_key(acme):
    anonymous = client_for("sk_test_nope")
    assert anonymous.get("/v1/subscriptions").status_code == 401
    assert anonymous.get("/v1/invoices").status_code == 401


def test_openapi_lists_the_new_endpoints(api):
    paths = api.get("/v1/openapi.json").json()["paths"]
    for path in ("/v1/subscriptions", "/v1/subscriptions/{id}", "/v1/subscriptions/{id}/cancel",
                 "/v1/subscriptions/{id}/advance", "/v1/invoices", "/v1/invoices/{id}"):
        assert path in paths, path
