"""The origins that may frame the hosted page: validation and PATCH /v1/merchant."""

import pytest

from duro.errors import Invalid
from duro.origins import (
    checkout_origins,
    checkout_origins_validate,
    frame_ancestors,
    origin_normalize,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.mark.parametrize("value,mode,clean", [
    ("https://shop.example", "live", "https://shop.example"),
    ("HTTPS://Shop.Example/", "live", "https://shop.example"),
    ("https://shop.example:443", "live", "https://shop.example"),
    ("https://shop.example:8443", "live", "https://shop.example:8443"),
    ("http://127.0.0.2:8000", "test", "http://127.0.0.2:8000"),
    ("http://shop.test:80", "test", "http://shop.test"),
    ("https://[::1]:9000", "test", "https://[::1]:9000"),
    ("  https://pay.shop.example  ", "live", "https://pay.shop.example"),
])
def test_an_origin_is_written_as_a_browser_writes_it(value, mode, clean):
    assert origin_normalize(value, mode=mode) == clean


@pytest.mark.parametrize("value,mode", [
    ("http://shop.example", "live"),          # live: https only
    ("https://*.shop.example", "live"),        # no wildcards
    ("https://shop.example:*", "test"),
    ("*", "test"),
    ("https://shop.example/checkout", "live"),  # no path
    ("https://shop.example?x=1", "live"),
    ("https://shop.example#top", "live"),
    ("https://user@shop.example", "live"),
    ("shop.example", "live"),
    ("ftp://shop.example", "test"),
    ("javascript://alert(1)", "test"),
    ("https://shop.example:0", "live"),
    ("https://shop.example:70000", "live"),
    ("https://shop.example; script-src *", "live"),  # nothing may reach the CSP header
    ("https://shop example", "live"),
    ("https://-shop.example", "live"),
    ("https://[nope]", "test"),
    ("", "test"),
    (None, "test"),
    (7, "test"),
])
def test_anything_but_an_exact_origin_is_refused(value, mode):
    with pytest.raises(Invalid):
        origin_normalize(value, mode=mode)


def test_a_list_is_deduplicated_and_its_bad_entry_named():
    assert checkout_origins_validate(["https://a.example", "https://A.example/"],
                                     mode="live") == ["https://a.example"]
    with pytest.raises(Invalid) as caught:
        checkout_origins_validate(["https://a.example", "http://b.example"], mode="live")
    assert caught.value.param == "checkout.allowedOrigins.1"
    with pytest.raises(Invalid):
        checkout_origins_validate("https://a.example", mode="live")
    with pytest.raises(Invalid):
        checkout_origins_validate([f"https://s{i}.example" for i in range(21)], mode="live")


def test_frame_ancestors_per_mode():
    assert frame_ancestors([], mode="live") == "'none'"
    assert frame_ancestors(["https://shop.example"], mode="live") == "https://shop.example"
    assert frame_ancestors([], mode="test") == "http://localhost:* http://127.0.0.1:*"
    assert frame_ancestors(["http://127.0.0.2:81"], mode="test") == (
        "http://127.0.0.2:81 http://localhost:* http://127.0.0.1:*")


def test_patch_merchant_sets_the_keys_mode_only(acme, api, live_api,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/v1/merchant", {"checkout": {"allowedOrigins": [
            "http://127.0.0.2:8000", "https://shop.example/"]}}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["checkout"] == {"allowedOrigins": ["http://127.0.0.2:8000",
                                                   "https://shop.example"]}
    assert data["mode"] == "test" and data["name"] == "Acme Gym"
    assert api.get("/v1/merchant").json()["data"]["checkout"]["allowedOrigins"] == [
        "http://127.0.0.2:8000", "https://shop.example"]
    assert live_api.get("/v1/merchant").json()["data"]["checkout"] == {"allowedOrigins": []}
    # the cache the hosted page reads holds the new list
    assert checkout_origins(merchant_id=acme.merchant.id, mode="test") == (
        "http://127.0.0.2:8000", "https://shop.example")
    assert checkout_origins(merchant_id=acme.merchant.id, mode="live") == ()

    with django_capture_on_commit_callbacks(execute=True):
        live = live_api.patch("/v1/merchant", {"checkout": {"allowedOrigins": [
            "https://shop.example"]}}, format="json")
    assert live.json()["data"]["checkout"]["allowedOrigins"] == ["https://shop.example"]
    assert api.get("/v1/merchant").json()["data"]["checkout"]["allowedOrigins"] == [
        "http://127.0.0.2:8000", "https://shop.example"]
    with django_capture_on_commit_callbacks(execute=True):
        api.patch("/v1/merchant", {"checkout": {"allowedOrigins": []}}, format="json")
    assert checkout_origins(merchant_id=acme.merchant.id, mode="test") == ()


@pytest.mark.parametrize("body,param", [
    ({"checkout": {"allowedOrigins": ["http://shop.example"]}}, "checkout.allowedOrigins.0"),
    ({"checkout": {"allowedOrigins": ["https://*.shop.example"]}}, "checkout.allowedOrigins.0"),
    ({"checkout": {"allowedOrigins": "https://shop.example"}}, "checkout.allowedOrigins"),
    ({"checkout": {"allowedOrigins": [["https://shop.example"]]}}, "checkout.allowedOrigins.0"),
    ({"checkout": {"origins": []}}, "checkout.origins"),
    ({"checkout": []}, "checkout"),
    ({"checkout": None}, "checkout"),  # schemathesis: null is not an object
    ({"checkout": {"allowedOrigins": None}}, "checkout.allowedOrigins"),
    ({"name": "Other"}, "name"),
])
def test_patch_merchant_refuses_what_is_not_an_exact_origin(acme, live_api, body, param):
    response = live_api.patch("/v1/merchant", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param
    assert live_api.get("/v1/merchant").json()["data"]["checkout"]["allowedOrigins"] == []


def test_patch_merchant_needs_a_secret_key(acme):
    publishable = client_for(acme.keys["test"]["publishable"])
    response = publishable.patch("/v1/merchant", {"checkout": {"allowedOrigins": []}},
                                 format="json")
    assert response.status_code == 403
