"""The checkout sessions API: create, verify, list, expire, and every bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_plan, make_session
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(databases="__all__")


def test_create_returns_token_reference_and_hosted_url(api, settings):
    session = make_session(api)
    assert session["id"].startswith("cks_") and session["status"] == "open"
    assert session["token"].startswith("cs_test_") and len(session["token"]) >= 8 + 22
    assert session["url"] == f"{settings.DURO_PUBLIC_URL}/checkout/{session['token']}"
    assert session["amount"] == 1_500_000 and session["currency"] == "NGN"
    assert session["metadata"] == {"orderId": "ord_42"}
    ahead = (timezone.datetime.fromisoformat(session["expiresAt"]) - timezone.now())
    assert timedelta(hours=23, minutes=59) < ahead <= timedelta(hours=24)


def test_live_key_makes_live_token(live_api):
    session = make_session(live_api)
    assert session["token"].startswith("cs_live_")


def _create(api, **body):
    return api.post("/v1/checkout/sessions", body, format="json")


@pytest.mark.parametrize("body,param", [
    ({}, "planId"),
    ({"planId": "PLAN", "amount": 1000}, "planId"),
    ({"planId": "pln_missing"}, "planId"),
    ({"amount": 0}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"amount": "1000"}, "amount"),
    ({"amount": 10**15}, "amount"),
    ({"amount": 1000, "currency": "XYZ"}, "currency"),
    ({"amount": 1000, "successUrl": "/relative"}, "successUrl"),
    ({"amount": 1000, "successUrl": "javascript:alert(1)"}, "successUrl"),
    ({"amount": 1000, "cancelUrl": "ftp://shop.example"}, "cancelUrl"),
    ({"amount": 1000, "customerEmail": "nope"}, "customerEmail"),
    ({"amount": 1000, "customerPhone": "12"}, "customerPhone"),
    ({"amount": 1000, "metadata": "x"}, "metadata"),
    ({"amount": 1000, "metadata": {"a": {"nested": 1}}}, "metadata"),
    ({"amount": 1000, "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ({"amount": 1000, "metadata": {"k" * 41: "v"}}, "metadata"),
    ({"amount": 1000, "metadata": {"k": "v" * 501}}, "metadata"),
    ({"amount": 1000, "expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt"),
    ({"amount": 1000, "expiresAt": "soon"}, "expiresAt"),
])
def test_bad_input_is_400_naming_param_and_writes_nothing(api, body, param):
    if body.get("planId") == "PLAN":
        body["planId"] = make_plan(api)["id"]
    response = _create(api, **body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param
    with mode_context("test"):
        assert CheckoutSession.objects.count() == 0


def test_expiry_window(api):
    too_soon = (timezone.now() + timedelta(minutes=20)).isoformat()
    too_late = (timezone.now() + timedelta(hours=25)).isoformat()
    fine = (timezone.now() + timedelta(hours=1)).isoformat()
    assert _create(api, amount=1000, expiresAt=too_soon).status_code == 400
    assert _create(api, amount=1000, expiresAt=too_late).status_code == 400
    assert _create(api, amount=1000, expiresAt=fine).status_code == 201


def test_inactive_plan_is_refused(api):
    plan = make_plan(api)
    api.patch(f"/v1/plans/{plan['id']}", {"active": False}, format="json")
    response = _create(api, planId=plan["id"])
    assert response.status_code == 400 and response.json()["error"]["code"] == "plan_inactive"


def test_live_mode_requires_https_return_urls(live_api):
    response = _create(live_api, amount=1000, successUrl="http://shop.example/ok")
    assert response.status_code == 400 and response.json()["error"]["param"] == "successUrl"


def test_plan_of_another_merchant_is_unknown(api, make_merchant):
    other = client_for(make_merchant().keys["test"]["secret"])
    plan = make_plan(other)
    assert _create(api, planId=plan["id"]).json()["error"]["param"] == "planId"


def test_list_filters_and_expire(api):
    a = make_session(api, amount=1000)
    b = make_session(api, amount=2000)
    assert api.post(f"/v1/checkout/sessions/{a['id']}/expire").json()["data"]["status"] == (
        "expired")
    assert api.post(f"/v1/checkout/sessions/{a['id']}/expire").status_code == 400
    open_ids = [s["id"] for s in api.get("/v1/checkout/sessions?status=open").json()["data"]]
    assert open_ids == [b["id"]]
    by_ref = api.get(f"/v1/checkout/sessions?reference={a['reference']}").json()["data"]
    assert [s["id"] for s in by_ref] == [a["id"]]


def test_other_merchant_cannot_verify_my_session(api, make_merchant):
    session = make_session(api)
    other = client_for(make_merchant().keys["test"]["secret"])
    assert other.get(f"/v1/checkout/sessions/{session['id']}").status_code == 404


def test_plan_price_is_frozen_once_it_has_subscribers(api):
    from rest_framework.test import APIClient

    from tests.checkout.factories import pay

    plan = make_plan(api)
    pay(APIClient(), make_session(api, planId=plan["id"])["token"])
    response = api.patch(f"/v1/plans/{plan['id']}", {"amount": 99}, format="json")
    assert response.status_code == 400 and response.json()["error"]["param"] == "amount"
    assert api.patch(f"/v1/plans/{plan['id']}", {"name": "Gold+"},
                     format="json").status_code == 200


def test_a_session_past_its_expiry_reads_as_expired_everywhere(api):
    from rest_framework.test import APIClient

    from checkout.tasks import expire_sessions

    session = make_session(api)
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=session["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["status"] == (
        "expired")
    assert api.get("/v1/checkout/sessions?status=open").json()["data"] == []
    assert len(api.get("/v1/checkout/sessions?status=expired").json()["data"]) == 1
    public = APIClient()
    assert public.get(f"/v1/public/checkout/{session['token']}").json()["data"]["status"] == (
        "expired")
    assert expire_sessions("test") == 1
    with mode_context("test"):
        assert CheckoutSession.objects.get().status == "expired"
