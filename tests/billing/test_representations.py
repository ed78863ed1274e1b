"""One representation per billing object: the API answers with it, events carry it, and the
OpenAPI document describes exactly it."""

from datetime import UTC, datetime

import pytest

from billing.models import Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.openapi import assert_documented
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWED_AT = datetime(2025, 2, 20, tzinfo=UTC)


@pytest.fixture
def billed(merchant):
    """A renewed, a past-due (failed charge) and a trialing subscription; one has metadata."""
    paid = subscribe(merchant.id, authorization="sbx_ok_a")
    failed = subscribe(merchant.id, authorization="sbx_fail_b")
    trial = subscribe(merchant.id, trial_days=40, invoice_limit=3)
    with mode_context("test"):
        Subscription.objects.filter(pk=paid.pk).update(metadata={"order_id": "A-1"})
        renewals_run(now=RENEWED_AT)
    return paid, failed, trial


def _data(api, path: str):
    response = api.get(path)
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_every_api_answer_is_what_the_document_says(api, billed):
    _, failed, trial = billed
    created = api.post("/v1/plans", {"name": "Gold", "amount": 500_000, "interval": "weekly",
                                     "invoiceLimit": 4}, format="json").json()["data"]
    assert_documented("PlanOutput", created)
    patched = api.patch(f"/v1/plans/{created['id']}", {"description": "Weekly gold"},
                        format="json").json()["data"]
    assert_documented("PlanOutput", patched)
    canceled = api.post(f"/v1/subscriptions/{trial.id}/cancel", {"atPeriodEnd": False},
                        format="json").json()["data"]
    assert canceled["canceledAt"] is not None
    assert_documented("SubscriptionOutput", canceled)
    blacklisted = api.post(f"/v1/customers/{failed.customer_id}/blacklist").json()["data"]
    assert_documented("CustomerOutput", blacklisted)
    restored = api.delete(f"/v1/customers/{failed.customer_id}/blacklist").json()["data"]
    assert_documented("CustomerOutput", restored)

    listed = {path: _data(api, f"/v1/{path}?limit=100")
              for path in ("plans", "customers", "subscriptions", "invoices")}
    assert [len(rows) for rows in listed.values()] == [4, 3, 3, 4]
    for path, component in [("plans", "PlanOutput"), ("customers", "CustomerOutput"),
                            ("subscriptions", "SubscriptionOutput"),
                            ("invoices", "InvoiceOutput")]:
        for row in listed[path]:
            assert_documented(component, row)
            assert _data(api, f"/v1/{path}/{row['id']}") == row
    payments = [p for invoice in listed["invoices"] for p in invoice["payments"]]
    assert {p["status"] for p in payments} == {"succeeded", "failed"}
    for payment in payments:
        assert_documented("PaymentOutput", payment)
    # A payment reads the same on its own, in the list, and inside its invoice.
    assert sorted(_data(api, "/v1/payments?limit=100"), key=lambda p: p["id"]) == sorted(
        payments, key=lambda p: p["id"])
    for payment in payments:
        assert _data(api, f"/v1/payments/{payment['id']}") == payment


def test_refunds_and_their_events_are_what_the_document_says(api, merchant, billed):
    paid, _, _ = billed
    [invoice] = _data(api, f"/v1/invoices?subscriptionId={paid.id}&status=paid&limit=1")
    payment_id = invoice["payments"][-1]["id"]
    created = api.post("/v1/refunds", {"paymentId": payment_id, "amount": 1_000,
                                       "metadata": {"order_id": "A-1"}}, format="json")
    refund = created.json()["data"]
    assert_documented("RefundOutput", refund)
    assert _data(api, f"/v1/refunds/{refund['id']}") == refund
    assert _data(api, "/v1/refunds") == [refund]
    payment = _data(api, f"/v1/payments/{payment_id}")
    assert payment["refunds"] == [refund] and payment["amountRefunded"] == 1_000
    with mode_context("test"):
        [event] = [e.data for e in Event.objects.filter(type="refund_succeeded")]
    assert event == {"refund": refund, "payment": payment,
                     "invoice": _data(api, f"/v1/invoices/{invoice['id']}"),
                     "metadata": {"order_id": "A-1"}}
    assert_documented("PaymentOutput", event["payment"])
    assert_documented("InvoiceOutput", event["invoice"])


def test_events_carry_what_the_api_answers(api, merchant, billed):
    paid, failed, _ = billed
    with mode_context("test"):
        events = {e.data["subscription"]["id"]: e.data
                  for e in Event.objects.filter(merchant_id=merchant.id)
                  .filter(type__startswith="subscription_payment_")}
    assert set(events) == {paid.id, failed.id}
    for sub in (paid, failed):
        data = events[sub.id]
        assert data["subscription"] == _data(api, f"/v1/subscriptions/{sub.id}")
        assert data["invoice"] == _data(api, f"/v1/invoices/{data['invoice']['id']}")
        assert data["payment"] == data["invoice"]["payments"][-1]
        api_customer = _data(api, f"/v1/customers/{sub.customer_id}")
        assert data["customer"] == {k: v for k, v in api_customer.items() if k != "cards"}
        for part, component in [("subscription", "SubscriptionOutput"),
                                ("invoice", "InvoiceOutput"), ("payment", "PaymentOutput")]:
            assert_documented(component, data[part])
    # A merchant's metadata keys pass untouched, in the event and in the API answer.
    assert events[paid.id]["subscription"]["metadata"] == {"order_id": "A-1"}
    assert events[failed.id]["payment"]["failure"]["code"] == "card_declined"
    assert events[failed.id]["payment"]["status"] == "failed"
