"""The public endpoints: the token picks exactly one store, hydrate is one query."""

import contextlib

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from appearance.services import store_config_draft_update, store_config_publish
from tests.checkout.factories import make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")


@contextlib.contextmanager
def queries_by_store():
    """Capture the queries of every store: ``{"default": [...], "test": [...], "live": [...]}``."""
    with contextlib.ExitStack() as stack:
        captured = {alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
                    for alias in ("default", "test", "live")}
        yield captured


def counts(captured) -> dict:
    return {alias: len(ctx.captured_queries) for alias, ctx in captured.items()}


def test_hydrate_is_one_query_on_the_token_store(api, acme):
    store_config_draft_update(merchant=acme.merchant, changes={"brand_color": "#7b1fa2"})
    store_config_publish(merchant=acme.merchant)
    session = make_session(api, customerEmail="ada@example.com", customerPhone="08031234567")
    client = APIClient()
    client.get(f"/v1/public/checkout/{session['token']}")  # the steady state: a warm cache
    with queries_by_store() as captured:
        response = client.get(f"/v1/public/checkout/{session['token']}")
    assert response.status_code == 200
    assert counts(captured) == {"default": 0, "test": 1, "live": 0}
    data = response.json()["data"]
    assert data["merchant"] == {"name": "Acme Gym"}
    assert data["amountLabel"] == "₦15,000.00 / month"
    assert data["plan"]["name"] == "Gold Membership" and data["plan"]["cadence"] == "month"
    assert data["prefill"] == {"email": "ada@example.com", "phone": "+2348031234567"}
    assert data["rails"] == [{"id": "card", "label": "Card"},
                             {"id": "bank_transfer", "label": "Bank transfer"},
                             {"id": "ussd", "label": "USSD"}]
    assert data["status"] == "open" and data["mode"] == "test"
    assert "metadata" not in data and "orderId" not in response.content.decode()
    assert session["token"] not in str(data.get("reference"))
    assert data["appearance"]["colors"]["brand"] == "#7b1fa2"


def snake_keys(value, path="") -> list[str]:
    """The paths of keys written in snake_case anywhere in ``value``."""
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in ([f"{path}.{key}"] if "_" in key else [])
                + snake_keys(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for item in value for found in snake_keys(item, path)]
    return []


def test_hydrate_writes_every_key_in_camel_case(api, acme):
    """Hydrate is rendered as its payload is written (no camelizing renderer, for speed):
    a snake_case key added to it would reach the page and the SDK as it is."""
    session = make_session(api, allowCoupons=True, customerEmail="ada@example.com")
    response = APIClient().get(f"/v1/public/checkout/{session['token']}")
    assert response.status_code == 200
    assert snake_keys(response.json()) == []
    assert snake_keys({"a_b": {"c": [{"d_e": 1}]}}) == [".a_b", ".a_b.c.d_e"]


def test_live_token_reads_only_the_live_store(live_api):
    session = make_session(live_api, successUrl="https://shop.example/ok",
                           cancelUrl="https://shop.example/no")
    client = APIClient()
    with queries_by_store() as captured:
        client.get(f"/v1/public/checkout/{session['token']}")
        client.get(f"/v1/public/checkout/{session['token']}/status")
        pay(client, session["token"], card={"number": "4111111111111111", "expMonth": 1,
                                            "expYear": 2035, "cvc": "123"})
    assert captured["test"].captured_queries == []
    assert len(captured["live"].captured_queries) > 0


def test_test_token_never_reads_live_store(api):
    session = make_session(api)
    client = APIClient()
    with queries_by_store() as captured:
        client.get(f"/v1/public/checkout/{session['token']}")
        pay(client, session["token"])
        client.get(f"/v1/public/checkout/{session['token']}/status")
        client.get(f"/checkout/{session['token']}")
    assert captured["live"].captured_queries == []


@pytest.mark.parametrize("token", ["cs_prod_abc", "xx_test_abc", "cs_test_", "../etc/passwd",
                                   "cs_test_" + "a" * 32 + "!", "cs_test_" + "a" * 31])
def test_unknown_prefix_is_404_touching_no_store(token):
    client = APIClient()
    with queries_by_store() as captured:
        for url in (f"/v1/public/checkout/{token}", f"/v1/public/checkout/{token}/status"):
            response = client.get(url)
            assert response.status_code == 404
            assert response.json()["error"]["type"] == "not_found"
    assert counts(captured) == {"default": 0, "test": 0, "live": 0}


def test_well_formed_unknown_token_is_404():
    response = APIClient().get("/v1/public/checkout/cs_test_" + "a" * 32)
    assert response.status_code == 404


def test_status_follows_the_session(api):
    session = make_session(api)
    client = APIClient()
    url = f"/v1/public/checkout/{session['token']}/status"
    assert client.get(url).json()["data"] == {"status": "open", "reference": session["reference"],
                                              "redirectUrl": None}
    pay(client, session["token"])
    data = client.get(url).json()["data"]
    assert data["status"] == "completed" and data["redirectUrl"].endswith(
        f"reference={session['reference']}")


def test_pay_is_rate_limited_per_token(api, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = 3
    session = make_session(api)
    client = APIClient()
    bad = {"number": "4000000000000002", "expMonth": 1, "expYear": 2035, "cvc": "123"}
    codes = [pay(client, session["token"], card=bad).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert pay(client, session["token"]).json()["error"]["type"] == "rate_limit_error"


def test_pay_is_rate_limited_per_ip_across_tokens(api, settings):
    settings.DURO_PAY_RATE_PER_IP = 2
    client = APIClient()
    bad = {"number": "4000000000000002", "expMonth": 1, "expYear": 2035, "cvc": "123"}
    codes = [pay(client, make_session(api)["token"], card=bad).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other_ip = APIClient(REMOTE_ADDR="10.9.8.7")
    assert pay(other_ip, make_session(api)["token"], card=bad).status_code == 200
