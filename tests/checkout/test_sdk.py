"""The inline SDK's server side: the script it loads, and who may frame the hosted page."""

import pytest
from django.core.cache import cache
from django.test import Client

from duro.origins import cache_key, checkout_origins_set
from tests.checkout.factories import make_session
from tests.checkout.test_public import counts, queries_by_store

pytestmark = pytest.mark.django_db(databases="__all__")

TEST_LOOPBACK = "http://localhost:* http://127.0.0.1:*"


def _allow(acme, mode, origins, capture):
    with capture(execute=True):
        checkout_origins_set(merchant_id=acme.merchant.id, mode=mode, origins=origins)


def _ancestors(response) -> str:
    csp = response["Content-Security-Policy"]
    return next(part.strip() for part in csp.split(";")
                if part.strip().startswith("frame-ancestors")).removeprefix("frame-ancestors ")


def test_the_sdk_is_a_static_script_with_caching_headers():
    client = Client()
    response = client.get("/v1/sdk.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.content.decode()
    assert "Duro" in body and "postMessage" in body and "document.currentScript" in body
    assert '"*"' not in body.replace('never posts to "*"', "")  # never a wildcard target
    assert "http://" not in body and "https://" not in body.replace(
        "https://duro.example/v1/sdk.js", "")  # no third-party request
    again = client.get("/v1/sdk.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again["ETag"] == response["ETag"]
    assert client.post("/v1/sdk.js").status_code == 405


def test_with_no_origin_a_live_page_stays_unframeable(live_api):
    session = make_session(live_api, successUrl="https://shop.example/ok")
    response = Client().get(f"/checkout/{session['token']}")
    assert _ancestors(response) == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert "embed.js" in response.content.decode()


def test_the_live_page_may_be_framed_by_the_live_list_only(acme, live_api,
                                                           django_capture_on_commit_callbacks):
    _allow(acme, "live", ["https://shop.example", "https://pay.shop.example:8443"],
           django_capture_on_commit_callbacks)
    _allow(acme, "test", ["http://127.0.0.2:8000"], django_capture_on_commit_callbacks)
    session = make_session(live_api, successUrl="https://shop.example/ok")
    response = Client().get(f"/checkout/{session['token']}")
    assert _ancestors(response) == "https://shop.example https://pay.shop.example:8443"
    assert not response.has_header("X-Frame-Options")  # it would contradict the list
    html = response.content.decode()
    assert 'data-embed-origins="https://shop.example https://pay.shop.example:8443"' in html
    assert f'data-embed-session="{session["id"]}"' in html


def test_a_test_page_allows_its_list_and_the_loopback_hosts(acme, api,
                                                            django_capture_on_commit_callbacks):
    session = make_session(api)
    plain = Client().get(f"/checkout/{session['token']}")
    assert _ancestors(plain) == TEST_LOOPBACK and not plain.has_header("X-Frame-Options")
    _allow(acme, "test", ["http://127.0.0.2:8000"], django_capture_on_commit_callbacks)
    _allow(acme, "live", ["https://shop.example"], django_capture_on_commit_callbacks)
    response = Client().get(f"/checkout/{session['token']}")
    assert _ancestors(response) == f"http://127.0.0.2:8000 {TEST_LOOPBACK}"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_every_step_of_the_page_carries_the_list(acme, api, django_capture_on_commit_callbacks):
    _allow(acme, "test", ["https://shop.example"], django_capture_on_commit_callbacks)
    session = make_session(api)
    client = Client()
    otp = client.post(f"/checkout/{session['token']}", {
        "email": "ada@example.com", "rail": "card", "card_number": "4000000000003220",
        "card_expiry": "12/34", "card_cvc": "123"}, follow=True)
    assert "otp" in otp.content.decode()
    assert _ancestors(otp).startswith("https://shop.example ")


def test_the_invoice_page_is_never_framed(acme, api, django_capture_on_commit_callbacks):
    _allow(acme, "test", ["https://shop.example"], django_capture_on_commit_callbacks)
    response = Client().get("/invoice/in_test_" + "a" * 32)
    assert _ancestors(response) == "'none'" and response["X-Frame-Options"] == "DENY"
    assert "data-embed-origins" not in response.content.decode()


def test_the_page_stays_one_query_on_the_token_store(acme, api,
                                                    django_capture_on_commit_callbacks):
    _allow(acme, "test", ["https://shop.example"], django_capture_on_commit_callbacks)
    session = make_session(api)
    client = Client()
    client.get(f"/checkout/{session['token']}")  # the steady state: warm caches
    with queries_by_store() as captured:
        response = client.get(f"/checkout/{session['token']}")
    assert _ancestors(response).startswith("https://shop.example ")
    assert counts(captured) == {"default": 0, "test": 1, "live": 0}
    cache.delete(cache_key(merchant_id=acme.merchant.id, mode="test"))  # e.g. Redis restarted
    with queries_by_store() as cold:
        response = client.get(f"/checkout/{session['token']}")
    assert _ancestors(response).startswith("https://shop.example ")
    assert counts(cold) == {"default": 1, "test": 1, "live": 0}


def test_the_otp_step_offers_the_form_again_for_another_card(api):
    """The framed page's "Use another card" (embed.js) asks for ?another=1: a frame on
    another site cannot post the step's form (no CSRF cookie there)."""
    session = make_session(api)
    client = Client()
    client.post(f"/checkout/{session['token']}", {
        "email": "ada@example.com", "rail": "card", "card_number": "4000000000003220",
        "card_expiry": "12/34", "card_cvc": "123"})
    step = client.get(f"/checkout/{session['token']}").content.decode()
    assert 'id="otp"' in step and "autofocus" in step
    framed = client.get(f"/checkout/{session['token']}", HTTP_SEC_FETCH_DEST="iframe")
    assert "data-embed-focus" in framed.content.decode()
    assert "autofocus" not in framed.content.decode()  # browsers refuse it in such a frame
    again = client.get(f"/checkout/{session['token']}?another=1").content.decode()
    assert 'id="card-number"' in again and 'id="otp"' not in again
    paid = client.post(f"/checkout/{session['token']}", {
        "email": "ada@example.com", "rail": "card", "card_number": "4242424242424242",
        "card_expiry": "12/34", "card_cvc": "123"})
    assert paid.status_code in (200, 303)
    assert api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["status"] == (
        "completed")
