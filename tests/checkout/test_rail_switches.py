"""A rail the merchant switched off is gone from hydrate and the hosted page and refused by
the pay before anything is charged, in its own mode only; the page and hydrate still reach
the token's store with one query."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from billing.models import PaymentAttempt, RailSettings, SandboxCharge
from billing.payment_methods import payment_methods_set
from billing.rails import REGISTRY, offered_rails
from billing.rails.switches import cache_key
from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay
from tests.checkout.test_page import post_form
from tests.checkout.test_public import counts, queries_by_store

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def switch(acme, django_capture_on_commit_callbacks):
    """Switch rails off for Acme in a mode, as the dashboard does (the cache is refreshed
    after commit)."""

    def set_off(mode: str, *off: str):
        with django_capture_on_commit_callbacks(using=mode, execute=True):
            payment_methods_set(merchant_id=acme.merchant.id, mode=mode, switched_off=off)

    return set_off


def naira(mode: str = "test", *, without: tuple[str, ...] = ()) -> list[str]:
    """What Duro offers a naira payer in ``mode`` (card, bank transfer, …), less ``without``."""
    return [r.identifier for r in offered_rails(currency="NGN", mode=mode)
            if r.identifier not in without]


NO_TRANSFER = naira(without=("bank_transfer",))


def hydrate(token: str) -> dict:
    response = APIClient().get(f"/v1/public/checkout/{token}")
    assert response.status_code == 200
    return response.json()["data"]


def rail_ids(token: str) -> list[str]:
    return [r["id"] for r in hydrate(token)["rails"]]


def transfer(token: str):
    return pay(APIClient(), token, rail="bank_transfer", card={})


def test_a_switched_off_rail_is_gone_from_hydrate_and_the_page(api, switch):
    session = make_session(api)
    assert rail_ids(session["token"]) == naira() and "bank_transfer" in naira()
    switch("test", "bank_transfer")
    assert rail_ids(session["token"]) == NO_TRANSFER
    html = Client().get(f"/checkout/{session['token']}").content.decode()
    assert 'name="rail" value="card"' in html
    assert 'value="bank_transfer"' not in html and 'id="rail-panel-bank_transfer"' not in html
    switch("test")  # back on
    assert rail_ids(session["token"]) == naira()
    assert 'value="bank_transfer"' in Client().get(f"/checkout/{session['token']}").content.decode()


def test_a_pay_on_a_switched_off_rail_is_refused_before_any_charge(api, switch):
    session = make_session(api)
    switch("test", "bank_transfer")
    refused = transfer(session["token"])
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["param"]) == ("rail_unavailable", "rail")
    assert "Bank transfer is not available" in error["message"]
    with mode_context("test"):
        assert not PaymentAttempt.objects.exists() and not SandboxCharge.objects.exists()
        assert CheckoutSession.objects.get(pk=session["id"]).status == "open"
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"


def test_the_pay_decides_from_the_stored_switches_not_a_stale_cache(api, acme):
    session = make_session(api)
    rail_ids(session["token"])  # the cache now says: nothing switched off
    with mode_context("test"):  # a change whose cache update was lost
        RailSettings.objects.create(merchant_id=acme.merchant.id, switched_off=["bank_transfer"])
    assert cache.get(cache_key(merchant_id=acme.merchant.id, mode="test")) == []
    refused = transfer(session["token"])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "rail_unavailable"
    with mode_context("test"):
        assert not PaymentAttempt.objects.exists()


def test_the_form_post_on_a_switched_off_rail_says_why_and_charges_nothing(api, switch):
    session = make_session(api)
    browser = Client(enforce_csrf_checks=True)
    url = f"/checkout/{session['token']}"
    browser.get(url)  # the customer opened the page while the transfer was on
    switch("test", "bank_transfer")
    response = post_form(browser, url, rail="bank_transfer")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="rail-error"' in html and "Bank transfer is not available" in html
    assert 'name="rail" value="card" aria-controls="rail-panel-card" checked' in html
    with mode_context("test"):
        assert not PaymentAttempt.objects.exists()


def test_test_and_live_switches_are_independent(api, live_api, switch):
    test_session, live_session = make_session(api), make_session(live_api)
    switch("live", "bank_transfer")
    assert rail_ids(test_session["token"]) == naira()
    assert rail_ids(live_session["token"]) == naira("live", without=("bank_transfer",))
    assert transfer(live_session["token"]).json()["error"]["code"] == "rail_unavailable"
    assert transfer(test_session["token"]).json()["data"]["status"] == "processing"
    switch("live")
    switch("test", "bank_transfer")
    assert rail_ids(test_session["token"]) == NO_TRANSFER
    assert rail_ids(live_session["token"]) == naira("live")


def test_other_merchants_switches_are_not_mine(api, make_merchant, switch):
    from tests.conftest import client_for

    other = make_merchant("Other Shop")
    mine = make_session(api)
    theirs = make_session(client_for(other.keys["test"]["secret"]))
    switch("test", "bank_transfer")
    assert rail_ids(mine["token"]) == NO_TRANSFER
    assert rail_ids(theirs["token"]) == naira()


def test_hydrate_and_page_stay_one_query_each_with_switches_warm(api, switch, brand):
    brand(brand_color="#7b1fa2")
    switch("test", "bank_transfer")
    session = make_session(api)
    client = Client()
    client.get(f"/checkout/{session['token']}")  # the steady state: warm caches
    with queries_by_store() as captured:
        page = client.get(f"/checkout/{session['token']}")
        data = client.get(f"/v1/public/checkout/{session['token']}").json()["data"]
    assert page.status_code == 200 and [r["id"] for r in data["rails"]] == NO_TRANSFER
    assert counts(captured) == {"default": 0, "test": 2, "live": 0}


def test_a_change_keeps_hydrate_at_one_query(api, switch):
    session = make_session(api)
    rail_ids(session["token"])  # warm
    switch("test", "bank_transfer")  # the dashboard writes the new value to the cache
    with queries_by_store() as captured:
        assert rail_ids(session["token"]) == NO_TRANSFER
    assert counts(captured) == {"default": 0, "test": 1, "live": 0}


def test_a_cold_cache_costs_one_more_query_on_the_token_store_once(api, acme):
    session = make_session(api)
    rail_ids(session["token"])  # warm the appearance too
    cache.delete(cache_key(merchant_id=acme.merchant.id, mode="test"))  # e.g. Redis restarted
    with queries_by_store() as cold:
        rail_ids(session["token"])
    with queries_by_store() as warm:
        rail_ids(session["token"])
    assert counts(cold) == {"default": 0, "test": 2, "live": 0}
    assert counts(warm) == {"default": 0, "test": 1, "live": 0}


def test_with_no_rail_left_the_page_says_so_and_nothing_can_be_paid(api, acme):
    """The dashboard never allows it (a currency keeps one rail); rows written by hand, or a
    rail retired from Duro, still give the customer a clear page, not an error."""
    session = make_session(api)
    with mode_context("test"):
        RailSettings.objects.create(merchant_id=acme.merchant.id, switched_off=list(REGISTRY))
    page = Client().get(f"/checkout/{session['token']}")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="no-rails"' in html
    assert "No payment method is available" in html and 'name="rail"' not in html
    assert hydrate(session["token"])["rails"] == []
    assert pay(APIClient(), session["token"]).json()["error"]["code"] == "rail_unavailable"
