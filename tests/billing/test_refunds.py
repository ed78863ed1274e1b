"""Payments and refunds over the API (API.md §9): what a merchant lists, refunds and is told."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import PaymentAttempt, Refund, SandboxRefund
from billing.rails import get_rail
from billing.refunds import refund_open, refunds_recover
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay
from tests.conftest import client_for
from tests.openapi import assert_documented
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

NO_REFUNDS_CARD = "4000000000005126"


def _paid(api, number: str = "4242424242424242", **session) -> dict:
    """A completed checkout; its verify answer (with ``payment``)."""
    created = make_session(api, **session)
    answer = pay(APIClient(), created["token"], card=card(number)).json()["data"]
    assert answer["status"] == "completed", answer
    return api.get(f"/v1/checkout/sessions/{created['id']}").json()["data"]


def _refund(api, **body):
    return api.post("/v1/refunds", body, format="json")


def _events(merchant_id: str, type_: str) -> list[dict]:
    with mode_context("test"):
        return [e.data for e in Event.objects.filter(merchant_id=merchant_id, type=type_)
                .order_by("created_at", "id")]


def test_payments_are_listed_and_retrieved_with_their_refunds(api):
    verify = _paid(api)
    payment = api.get(f"/v1/payments/{verify['payment']['id']}").json()["data"]
    assert payment == verify["payment"]
    assert payment["status"] == "succeeded" and payment["rail"] == "card"
    assert payment["sessionId"] == verify["id"] and payment["invoiceId"] == verify["invoiceId"]
    assert payment["customerId"] == verify["customerId"]
    assert payment["amount"] == 1_500_000 and payment["amountRefunded"] == 0
    assert payment["failure"] is None and payment["refunds"] == []
    assert payment["card"]["last4"] == "4242"
    assert_documented("PaymentOutput", payment)
    listed = api.get("/v1/payments").json()
    assert [p["id"] for p in listed["data"]] == [payment["id"]] and listed["hasMore"] is False
    assert api.get(f"/v1/payments?sessionId={verify['id']}").json()["data"] == [payment]
    assert api.get("/v1/payments?status=failed").json()["data"] == []
    assert api.get("/v1/payments?status=lost").json()["error"]["param"] == "status"


def test_an_otp_wait_requires_action_and_a_replaced_attempt_is_abandoned(api):
    session = make_session(api)
    public = APIClient()
    assert pay(public, session["token"], card=card("4000000000003220")).json()["data"][
        "status"] == "requires_otp"
    [waiting] = api.get("/v1/payments").json()["data"]
    assert waiting["status"] == "requires_action"
    assert api.get("/v1/payments?status=requires_action").json()["data"] == [waiting]
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"
    abandoned = api.get(f"/v1/payments/{waiting['id']}").json()["data"]
    assert abandoned["status"] == "abandoned" and abandoned["failure"]["code"] == "abandoned"
    assert [p["id"] for p in api.get("/v1/payments?status=abandoned").json()["data"]] == [
        waiting["id"]]
    assert api.get("/v1/payments?status=failed").json()["data"] == []
    assert_documented("PaymentOutput", abandoned)


def test_partial_then_the_rest_then_nothing_is_left(api, acme):
    verify = _paid(api)
    payment_id = verify["payment"]["id"]
    first = _refund(api, paymentId=payment_id, amount=500_000, reason="requested_by_customer",
                    metadata={"ticket": "T-9"})
    assert first.status_code == 201, first.content
    refund = first.json()["data"]
    assert refund["id"].startswith("re_") and refund["status"] == "succeeded"
    assert refund["amount"] == 500_000 and refund["paymentId"] == payment_id
    assert refund["reason"] == "requested_by_customer" and refund["metadata"] == {"ticket": "T-9"}
    assert refund["failure"] is None
    assert_documented("RefundOutput", refund)

    rest = _refund(api, paymentId=payment_id).json()["data"]  # default: all that is left
    assert rest["amount"] == 1_000_000 and rest["status"] == "succeeded"
    payment = api.get(f"/v1/payments/{payment_id}").json()["data"]
    assert payment["amountRefunded"] == 1_500_000
    assert [r["id"] for r in payment["refunds"]] == [refund["id"], rest["id"]]
    invoice = api.get(f"/v1/invoices/{verify['invoiceId']}").json()["data"]
    assert invoice["amountRefunded"] == 1_500_000 and invoice["status"] == "paid"
    assert_documented("InvoiceOutput", invoice)

    again = _refund(api, paymentId=payment_id)
    assert again.status_code == 400
    assert again.json()["error"]["param"] == "amount"
    with mode_context("test"):
        assert Refund.objects.count() == 2 and SandboxRefund.objects.count() == 2

    events = _events(acme.merchant.id, "refund_succeeded")
    assert [e["refund"]["id"] for e in events] == [refund["id"], rest["id"]]
    assert events[0]["metadata"] == {"orderId": "ord_42"}  # the session's, as on every event
    assert events[0]["refund"]["metadata"] == {"ticket": "T-9"}
    assert events[-1]["payment"] == payment and events[-1]["invoice"] == invoice
    assert events[-1]["refund"] == api.get(f"/v1/refunds/{rest['id']}").json()["data"]


def test_more_than_is_left_is_a_400_naming_amount_and_records_nothing(api):
    payment_id = _paid(api)["payment"]["id"]
    assert _refund(api, paymentId=payment_id, amount=1_000_000).status_code == 201
    too_much = _refund(api, paymentId=payment_id, amount=500_001)
    assert too_much.status_code == 400
    error = too_much.json()["error"]
    assert error["param"] == "amount" and error["code"] == "refund_exceeds_payment"
    assert api.get(f"/v1/payments/{payment_id}").json()["data"]["amountRefunded"] == 1_000_000
    assert len(api.get(f"/v1/refunds?paymentId={payment_id}").json()["data"]) == 1


@pytest.mark.parametrize("body,param", [
    ({"amount": 100.5}, "amount"), ({"amount": "100"}, "amount"), ({"amount": 0}, "amount"),
    ({"amount": -1}, "amount"), ({"amount": True}, "amount"),
    ({"reason": "subscription_canceled"}, "reason"), ({"reason": "bored"}, "reason"),
    ({"metadata": {"a": {"b": 1}}}, "metadata"), ({"metadata": ["x"]}, "metadata"),
])
def test_bad_refund_input_is_a_400_naming_the_param(api, body, param):
    payment_id = _paid(api)["payment"]["id"]
    response = _refund(api, paymentId=payment_id, **body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert api.get("/v1/refunds").json()["data"] == []


def test_only_a_succeeded_payment_of_this_merchant_and_mode_can_be_refunded(api, acme,
                                                                         make_merchant):
    session = make_session(api)
    pay(APIClient(), session["token"], card=card("4000000000000002"))
    [declined] = api.get("/v1/payments").json()["data"]
    response = _refund(api, paymentId=declined["id"])
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "paymentId"
    assert response.json()["error"]["code"] == "payment_not_refundable"
    assert _refund(api, paymentId="pay_nope").json()["error"]["code"] == "resource_missing"
    assert _refund(api, amount=5).json()["error"]["param"] == "paymentId"

    paid = _paid(api)["payment"]["id"]
    other = client_for(make_merchant().keys["test"]["secret"])
    live = client_for(acme.keys["live"]["secret"])
    for stranger in (other, live):
        assert _refund(stranger, paymentId=paid).json()["error"]["code"] == "resource_missing"
        assert stranger.get(f"/v1/payments/{paid}").status_code == 404
        assert stranger.get("/v1/payments").json()["data"] == []
    mine = _refund(api, paymentId=paid, amount=100).json()["data"]
    for stranger in (other, live):
        assert stranger.get(f"/v1/refunds/{mine['id']}").status_code == 404
        assert stranger.get("/v1/refunds").json()["data"] == []


def test_a_refund_is_idempotent_by_key(api):
    payment_id = _paid(api)["payment"]["id"]
    body = {"paymentId": payment_id, "amount": 200_000}
    first = api.post("/v1/refunds", body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    again = api.post("/v1/refunds", body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    other_body = api.post("/v1/refunds", {**body, "amount": 1}, format="json",
                          HTTP_IDEMPOTENCY_KEY="refund-1")
    assert other_body.status_code == 409
    assert api.get(f"/v1/payments/{payment_id}").json()["data"]["amountRefunded"] == 200_000


def test_refunds_list_and_filters(api):
    one = _paid(api)["payment"]["id"]
    two = _paid(api, amount=50_000, currency="NGN")["payment"]["id"]
    a = _refund(api, paymentId=one, amount=10).json()["data"]
    b = _refund(api, paymentId=two).json()["data"]
    assert [r["id"] for r in api.get("/v1/refunds").json()["data"]] == [b["id"], a["id"]]
    assert api.get(f"/v1/refunds?paymentId={two}").json()["data"] == [b]
    assert api.get("/v1/refunds?status=failed").json()["data"] == []
    page = api.get("/v1/refunds?limit=1").json()
    assert page["hasMore"] is True and page["data"] == [b]
    assert api.get("/v1/refunds?status=maybe").json()["error"]["param"] == "status"
    assert api.get("/v1/refunds/re_nope").status_code == 404


def test_the_no_refunds_card_pays_and_renews_but_its_refunds_fail(api, acme):
    verify = _paid(api, NO_REFUNDS_CARD)
    failed = _refund(api, paymentId=verify["payment"]["id"], amount=1_000).json()["data"]
    assert failed["status"] == "failed"
    assert failed["failure"]["code"] == "refund_declined" and failed["failure"]["message"]
    payment = api.get(f"/v1/payments/{verify['payment']['id']}").json()["data"]
    assert payment["amountRefunded"] == 0 and payment["refunds"] == [failed]
    [event] = _events(acme.merchant.id, "refund_failed")
    assert event["refund"] == failed and event["payment"] == payment
    assert event["metadata"] == {"orderId": "ord_42"}
    # A failed refund takes nothing: the whole payment is still there to refund (and fails).
    assert _refund(api, paymentId=payment["id"]).json()["data"]["amount"] == 1_500_000

    sub_id = verify["subscriptionId"]
    with mode_context("test"):
        from billing.models import Subscription

        period_end = Subscription.objects.get(pk=sub_id).current_period_end
    advanced = api.post(f"/v1/subscriptions/{sub_id}/advance",
                        {"to": (period_end + timedelta(hours=1)).isoformat()}, format="json")
    assert advanced.json()["data"]["status"] == "active"  # it renews normally
    renewal = api.get(f"/v1/payments?customerId={verify['customerId']}").json()["data"][0]
    assert renewal["id"] != payment["id"] and renewal["status"] == "succeeded"
    answer = _refund(api, paymentId=renewal["id"]).json()["data"]
    assert answer["status"] == "failed" and answer["failure"]["code"] == "refund_declined"


def test_the_sweep_settles_a_refund_a_crash_left_pending_asking_the_rail_once(api, acme):
    payment_id = _paid(api)["payment"]["id"]
    with mode_context("test"):
        refund_open(merchant_id=acme.merchant.id, payment_id=payment_id,
                    amount=100)  # crashed before the rail was asked
        asked = refund_open(merchant_id=acme.merchant.id, payment_id=payment_id, amount=200)
        payment = asked.payment
        get_rail("card").refund(mode="test", charge_key=payment.rail_key,
                                charge_reference=payment.rail_reference, amount=200,
                                currency="NGN", idempotency_key=asked.pk)  # crashed after
        assert refunds_recover() == 0  # too fresh: the request may still be running
        assert refunds_recover(now=timezone.now() + timedelta(minutes=3)) == 2
        assert set(Refund.objects.values_list("status", flat=True)) == {"succeeded"}
        assert SandboxRefund.objects.count() == 2  # the rail gave each back once
    assert api.get(f"/v1/payments/{payment_id}").json()["data"]["amountRefunded"] == 300
    assert len(_events(acme.merchant.id, "refund_succeeded")) == 2


def test_asking_the_sandbox_twice_answers_the_first_outcome(api):
    payment_id = _paid(api)["payment"]["id"]
    rail = get_rail("card")
    with mode_context("test"):
        payment = PaymentAttempt.objects.get(pk=payment_id)
    ask = {"mode": "test", "charge_key": payment.rail_key,
           "charge_reference": payment.rail_reference, "currency": "NGN"}
    with mode_context("test"):
        first = rail.refund(**ask, amount=1_500_000, idempotency_key="re_one")
        assert rail.refund(**ask, amount=1_500_000, idempotency_key="re_one") == first
        assert first.status == "succeeded"
        # Duro never asks for more than was paid; the sandbox refuses it as a processor would.
        beyond = rail.refund(**ask, amount=1, idempotency_key="re_two")
        assert beyond.status == "failed" and beyond.failure_code == "amount_exceeds_charge"
        assert rail.refund_lookup(mode="test", idempotency_key="re_one") == first
        assert rail.refund_lookup(mode="test", idempotency_key="re_unknown") is None


def test_renewal_and_one_off_invoices_carry_the_sessions_metadata(api, acme):
    """Refund events read the metadata from the invoice; the migrations fill old invoices."""
    import importlib

    from django.apps import apps

    from billing.models import Invoice
    from tests.billing.test_terms import _Editor, _migration

    verify = _paid(api)
    one_off = make_session(api, amount=70_000, metadata={"orderId": "ord_7"})
    pay(APIClient(), one_off["token"])
    with mode_context("test"):
        assert Invoice.objects.get(pk=verify["invoiceId"]).metadata == {"orderId": "ord_42"}
        Invoice.objects.update(metadata={})
        _migration("invoice_metadata").copy_subscription_metadata(apps, _Editor)
        importlib.import_module("checkout.migrations.0003_invoice_metadata") \
            .copy_session_metadata(apps, _Editor)
        found = {inv.subscription_id is None: inv.metadata for inv in Invoice.objects.all()}
    assert found == {False: {"orderId": "ord_42"}, True: {"orderId": "ord_7"}}
