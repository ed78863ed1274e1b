"""Coupons (API.md §13): the API, and what they take off invoices over renewals."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Coupon, Invoice, Subscription
from billing.pricing import invoice_price
from duro.modes import mode_context
from tests.checkout.factories import make_plan, make_session, pay
from tests.conftest import client_for
from tests.openapi import assert_documented
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")


def make_coupon(api, **fields) -> dict:
    body = {"code": "launch20", "percentOff": 20, "duration": "once", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/v1/coupons", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def refused(api, body: dict) -> dict:
    response = api.post("/v1/coupons", body, format="json")
    assert response.status_code == 400, response.content
    return response.json()["error"]


# --- CRUD and validation --------------------------------------------------------------

def test_create_list_retrieve_and_deactivate(api):
    coupon = make_coupon(api, maxRedemptions=5)
    assert coupon["id"].startswith("cpn_") and coupon["code"] == "LAUNCH20"
    assert (coupon["percentOff"], coupon["amountOff"], coupon["currency"]) == (20, None, None)
    assert (coupon["duration"], coupon["maxRedemptions"], coupon["timesRedeemed"],
            coupon["active"]) == ("once", 5, 0, True)
    second = make_coupon(api, code="NAIRA5K", percentOff=None, amountOff=500_000,
                         currency="ngn", duration="repeating", durationInPeriods=3)
    assert (second["amountOff"], second["currency"], second["durationInPeriods"]) == (
        500_000, "NGN", 3)
    listed = api.get("/v1/coupons?limit=1").json()
    assert [c["id"] for c in listed["data"]] == [second["id"]] and listed["hasMore"]
    rest = api.get(f"/v1/coupons?limit=1&startingAfter={second['id']}").json()
    assert [c["id"] for c in rest["data"]] == [coupon["id"]] and not rest["hasMore"]
    assert api.get(f"/v1/coupons/{coupon['id']}").json()["data"] == coupon
    assert_documented("CouponOutput", coupon)
    assert_documented("CouponOutput", second)
    gone = api.delete(f"/v1/coupons/{coupon['id']}")
    assert gone.status_code == 200 and gone.json()["data"]["active"] is False
    assert api.get(f"/v1/coupons/{coupon['id']}").json()["data"]["active"] is False
    assert api.get("/v1/coupons/cpn_nope").status_code == 404
    assert api.delete("/v1/coupons/cpn_nope").status_code == 404


def test_another_merchants_coupon_is_not_found(api, make_merchant):
    coupon = make_coupon(api)
    client = client_for(make_merchant("Other").keys["test"]["secret"])
    assert client.get(f"/v1/coupons/{coupon['id']}").status_code == 404
    assert client.delete(f"/v1/coupons/{coupon['id']}").status_code == 404
    assert client.get("/v1/coupons").json()["data"] == []


@pytest.mark.parametrize(("body", "param"), [
    ({"code": "A1", "percentOff": 10, "duration": "once"}, "code"),
    ({"code": "has space", "percentOff": 10, "duration": "once"}, "code"),
    ({"code": "X" * 65, "percentOff": 10, "duration": "once"}, "code"),
    ({"code": "OK1", "duration": "once"}, "percentOff"),
    ({"code": "OK1", "percentOff": 10, "amountOff": 100, "currency": "NGN",
      "duration": "once"}, "percentOff"),
    ({"code": "OK1", "percentOff": 0, "duration": "once"}, "percentOff"),
    ({"code": "OK1", "percentOff": 101, "duration": "once"}, "percentOff"),
    ({"code": "OK1", "percentOff": 12.5, "duration": "once"}, "percentOff"),
    ({"code": "OK1", "percentOff": "10", "duration": "once"}, "percentOff"),
    ({"code": "OK1", "amountOff": 0, "currency": "NGN", "duration": "once"}, "amountOff"),
    ({"code": "OK1", "amountOff": 100, "duration": "once"}, "currency"),
    ({"code": "OK1", "percentOff": 10, "currency": "NGN", "duration": "once"}, "currency"),
    ({"code": "OK1", "percentOff": 10, "duration": "repeating"}, "durationInPeriods"),
    ({"code": "OK1", "percentOff": 10, "duration": "repeating", "durationInPeriods": 0},
     "durationInPeriods"),
    ({"code": "OK1", "percentOff": 10, "duration": "once", "durationInPeriods": 2},
     "durationInPeriods"),
    ({"code": "OK1", "percentOff": 10, "duration": "forever", "durationInPeriods": 2},
     "durationInPeriods"),
    ({"code": "OK1", "percentOff": 10, "duration": "weekly"}, "duration"),
    ({"code": "OK1", "percentOff": 10, "duration": "once", "maxRedemptions": 0},
     "maxRedemptions"),
])
def test_invalid_coupons_are_refused_naming_the_field(api, body, param):
    assert refused(api, body)["param"] == param
    with mode_context("test"):
        assert not Coupon.objects.exists()


def test_a_code_is_unique_per_merchant_whatever_its_case(api, make_merchant):
    make_coupon(api, code="Launch20")
    error = refused(api, {"code": "LAUNCH20", "percentOff": 5, "duration": "once"})
    assert (error["param"], error["code"]) == ("code", "coupon_code_taken")
    error = refused(api, {"code": "launch20", "percentOff": 5, "duration": "once"})
    assert error["param"] == "code"
    other = client_for(make_merchant("Other").keys["test"]["secret"])
    assert other.post("/v1/coupons", {"code": "launch20", "percentOff": 5,
                                      "duration": "once"}, format="json").status_code == 201


# --- Pricing ---------------------------------------------------------------------------

def test_a_percent_discount_rounds_half_up_per_invoice():
    # 15 % of 1_003 is 150.45 → 150; of 1_010 is 151.5 → 152 (half-up); of 1_030: 154.5 → 155
    assert invoice_price(1_003, percent_off=15).discount == 150
    assert invoice_price(1_010, percent_off=15).discount == 152
    assert invoice_price(1_030, percent_off=15).discount == 155
    price = invoice_price(1_010, percent_off=15, vat_rate="7.5")
    assert (price.discount, price.vat, price.total) == (152, 64, 922)  # 858 × 7.5 % = 64.35


def test_a_fixed_amount_never_takes_an_invoice_below_zero():
    price = invoice_price(300_000, amount_off=500_000, vat_rate="7.5")
    assert (price.discount, price.vat, price.total) == (300_000, 0, 0)


# --- Over renewals, with the test clock -----------------------------------------------

def _subscribe_with(api, coupon: dict, *, amount: int = 1_000_000) -> Subscription:
    plan = make_plan(api, amount=amount)
    session = make_session(api, planId=plan["id"], couponCode=coupon["code"])
    data = pay(APIClient(), session["token"]).json()["data"]
    assert data["status"] == "completed", data
    with mode_context("test"):
        verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
        return Subscription.objects.get(pk=verify["subscriptionId"])


def _advance(api, sub: Subscription, periods: int) -> list[Invoice]:
    with mode_context("test"):
        sub = Subscription.objects.get(pk=sub.pk)
        start = sub.current_period_start
    to = start + timedelta(days=31 * periods + 1)
    response = api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": to.isoformat()},
                        format="json")
    assert response.status_code == 200, response.content
    with mode_context("test"):
        return list(Invoice.objects.filter(subscription_id=sub.pk).order_by("number"))


@pytest.mark.parametrize(("duration", "periods", "discounted"), [
    ("once", None, 1), ("repeating", 3, 3), ("forever", None, 5)])
def test_a_coupon_lasts_its_duration_over_renewals(api, duration, periods, discounted):
    fields = {"durationInPeriods": periods} if periods else {}
    coupon = make_coupon(api, code=f"C{duration}", percentOff=25, duration=duration, **fields)
    sub = _subscribe_with(api, coupon)
    invoices = _advance(api, sub, 4)
    assert len(invoices) == 5
    assert [i.amount for i in invoices] == (
        [750_000] * discounted + [1_000_000] * (5 - discounted))
    assert [i.discount_amount for i in invoices] == (
        [250_000] * discounted + [0] * (5 - discounted))
    assert [i.coupon_code for i in invoices] == [coupon["code"]] * discounted + [""] * (
        5 - discounted)
    assert all(i.status == "paid" for i in invoices)
    with mode_context("test"):
        sub = Subscription.objects.get(pk=sub.pk)
        assert sub.coupon_periods_left == (None if duration == "forever" else 0)
        assert Coupon.objects.get(pk=coupon["id"]).times_redeemed == 1  # one redemption
    # The invoices the API and events show carry it.
    shown = api.get(f"/v1/invoices/{invoices[0].id}").json()["data"]
    assert shown["discount"] == {"couponCode": coupon["code"], "amountOff": 250_000}
    last = api.get(f"/v1/invoices/{invoices[-1].id}").json()["data"]
    assert last["discount"] == ({"couponCode": coupon["code"], "amountOff": 250_000}
                                if duration == "forever" else None)
    with mode_context("test"):
        renewal_events = [e.data["invoice"] for e in Event.objects.filter(
            type="subscription_payment_success").order_by("created_at")]
    assert [bool(d["discount"]) for d in renewal_events] == (
        [True] * discounted + [False] * (5 - discounted))


def test_a_fixed_amount_coupon_on_renewals_with_vat(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/v1/merchant", {"tax": {"legalName": "Acme Ltd",
                                                      "address": "Lagos", "vatRate": "7.5"}},
                             format="json")
    assert response.status_code == 200, response.content
    coupon = make_coupon(api, code="NAIRA2K", percentOff=None, amountOff=200_000,
                         currency="NGN", duration="repeating", durationInPeriods=2)
    sub = _subscribe_with(api, coupon)
    invoices = _advance(api, sub, 2)
    # 1_000_000 − 200_000 = 800_000, + 7.5 % VAT = 860_000; then the full 1_075_000.
    assert [(i.subtotal, i.discount_amount, i.vat_amount, i.amount) for i in invoices] == [
        (1_000_000, 200_000, 60_000, 860_000), (1_000_000, 200_000, 60_000, 860_000),
        (1_000_000, 0, 75_000, 1_075_000)]


def test_deactivating_a_coupon_keeps_it_on_subscriptions_that_have_it(api):
    coupon = make_coupon(api, code="KEEPME", duration="forever")
    sub = _subscribe_with(api, coupon)
    api.delete(f"/v1/coupons/{coupon['id']}")
    invoices = _advance(api, sub, 1)
    assert [i.discount_amount for i in invoices] == [200_000, 200_000]


def test_an_expired_or_used_up_coupon_is_refused_at_session_creation(api):
    expired = make_coupon(api, code="OLD", expiresAt=(
        timezone.now() + timedelta(seconds=1)).isoformat())
    used = make_coupon(api, code="ONLYONE", maxRedemptions=1)
    _subscribe_with(api, used)
    with mode_context("test"):
        Coupon.objects.filter(pk=expired["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1))
        assert Coupon.objects.get(pk=used["id"]).times_redeemed == 1
    plan = make_plan(api)
    for code in ("OLD", "ONLYONE", "NOSUCH"):
        response = api.post("/v1/checkout/sessions", {"planId": plan["id"], "couponCode": code},
                            format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["param"] == "couponCode"
