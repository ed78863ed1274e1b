"""Hostile input is a clear 4xx in the envelope naming the param: never a 500, never applied.

NUL, lone surrogates and NaN/Infinity anywhere in a JSON body, NUL in path ids
and filters, absurd nesting, oversized bodies, unparsable return URLs. These
run on both databases; PostgreSQL is where NUL used to reach the driver.
"""

import pytest
from rest_framework.test import APIClient

from billing.models import Plan
from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_plan, make_session

pytestmark = pytest.mark.django_db(databases="__all__")

PLAN = {"name": "Gold", "amount": 1_500_000, "interval": "monthly"}


def post_raw(client, url, raw: str | bytes):
    return client.generic("POST", url, raw, content_type="application/json")


def assert_error(response, status, param):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["param"] == param, error
    assert error["type"] and error["message"]
    return error


@pytest.mark.parametrize("raw,param", [
    ('{"name": "Go\\u0000ld", "amount": 1500000, "interval": "monthly"}', "name"),
    ('{"name": "Go\\ud800ld", "amount": 1500000, "interval": "monthly"}', "name"),
    ('{"name": "Gold", "amount": NaN, "interval": "monthly"}', "amount"),
    ('{"name": "Gold", "amount": Infinity, "interval": "monthly"}', "amount"),
    ('{"name": "Gold", "amount": 1e999, "interval": "monthly"}', "amount"),
    ('{"name": "Gold", "amount": 1500000, "interval": "\\udcff"}', "interval"),
])
def test_unencodable_json_in_a_body_is_400_naming_the_field(api, raw, param):
    error = assert_error(post_raw(api, "/v1/plans", raw), 400, param)
    assert "\udcff" not in error["message"] and "\ud800" not in error["message"]
    with mode_context("test"):
        assert not Plan.objects.exists()


@pytest.mark.parametrize("metadata,param", [
    ('{"orderId": "a\\u0000b"}', "metadata.orderId"),
    ('{"order\\u0000Id": "ab"}', "metadata"),
    ('{"orderId": "\\ud83d"}', "metadata.orderId"),
    ('{"\\udc00": "x"}', "metadata"),
    ('{"orderId": -Infinity}', "metadata.orderId"),
])
def test_metadata_keys_and_values_are_checked_too(api, metadata, param):
    plan = make_plan(api)
    raw = f'{{"planId": "{plan["id"]}", "metadata": {metadata}}}'
    assert_error(post_raw(api, "/v1/checkout/sessions", raw), 400, param)
    with mode_context("test"):
        assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize("path", [
    "/v1/plans/pln_%00", "/v1/customers/cus_%00x", "/v1/subscriptions/%00",
    "/v1/invoices/inv_%00", "/v1/payments/pay_%00", "/v1/refunds/re_%00",
    "/v1/events/evt_%00", "/v1/webhook-endpoints/we_%00", "/v1/checkout/sessions/cks_%00",
])
def test_nul_in_a_path_id_is_404(api, path):
    response = api.get(path)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["type"] == "not_found"


def test_nul_in_a_public_token_is_404():
    for path in ("/v1/public/checkout/cs_test_%00", "/v1/public/checkout/cs_test_%00/status",
                 "/v1/public/appearance/pk_test_%00"):
        response = APIClient().get(path)
        assert response.status_code == 404, (path, response.content)


@pytest.mark.parametrize("url,param", [
    ("/v1/customers?email=a%00@b.co", "email"),
    ("/v1/events?type=a%00", "type"),
    ("/v1/checkout/sessions?reference=R%00", "reference"),
    ("/v1/checkout/sessions?status=open%00", "status"),
    ("/v1/plans?startingAfter=pln_%00", "startingAfter"),
    ("/v1/subscriptions?customerId=cus_%00", "customerId"),
    ("/v1/invoices?subscriptionId=%00", "subscriptionId"),
    ("/v1/payments?sessionId=%00", "sessionId"),
    ("/v1/refunds?paymentId=%00", "paymentId"),
    ("/v1/webhook-endpoints?startingAfter=%00", "startingAfter"),
    ("/v1/customers?limit=1%00", "limit"),
    ("/v1/events?startingAfter=evt_%00", "startingAfter"),
])
def test_nul_in_a_filter_is_400_naming_it(api, url, param):
    assert_error(api.get(url), 400, param)


def test_an_unknown_event_type_filter_is_400(api):
    assert_error(api.get("/v1/events?type=not_a_type"), 400, "type")
    assert api.get("/v1/events?type=payment_success").status_code == 200


def test_deep_nesting_is_400_everywhere_the_public_pay_included(api):
    token = make_session(api)["token"]
    deep = "[" * 100_000 + "]" * 100_000
    for client, url in ((api, "/v1/plans"), (api, "/v1/checkout/sessions"),
                        (APIClient(), f"/v1/public/checkout/{token}/pay")):
        response = post_raw(client, url, deep)
        assert response.status_code == 400, (url, response.content[:200])
        assert response.json()["error"]["type"] == "invalid_request_error"
    nested = '{"name": "Gold", "amount": 1, "interval": "monthly", "x": ' + "[" * 64 + "]" * 64
    nested += "}"
    assert post_raw(api, "/v1/plans", nested).status_code == 400


def test_a_body_over_the_limit_is_413_in_the_envelope(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"name": "' + "x" * 20_000 + '", "amount": 1, "interval": "monthly"}'
    response = post_raw(api, "/v1/plans", body)
    assert response.status_code == 413, response.content[:200]
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_choice_given_an_unencodable_value_does_not_echo_it(api):
    error = assert_error(post_raw(api, "/v1/plans",
                                  '{"name": "G", "amount": 1, "interval": "\\ud800x"}'),
                         400, "interval")
    assert "\\ud800" not in error["message"]


@pytest.mark.parametrize("field", ["successUrl", "cancelUrl"])
def test_a_return_url_that_does_not_parse_is_400_naming_it(api, field):
    plan = make_plan(api)
    response = api.post("/v1/checkout/sessions",
                        {"planId": plan["id"], field: "http://[::1"}, format="json")
    assert_error(response, 400, field)


@pytest.mark.parametrize("url,status,param", [
    ("/v1/invoices?status=", 400, "status"),
    ("/v1/plans?limit=", 400, "limit"),
    ("/v1/customers?blacklisted=maybe", 400, "blacklisted"),
    ("/v1/plans?startingAfter=pln_nothing", 404, "startingAfter"),
])
def test_empty_and_unknown_filters_are_refused_by_name(api, url, status, param):
    assert_error(api.get(url), status, param)
