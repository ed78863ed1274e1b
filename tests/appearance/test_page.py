"""The hosted page wears the *published* look: theme stylesheet, logo, copy."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from appearance.services import store_config_draft_update, store_config_rollback
from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.appearance.conftest import image_bytes
from tests.checkout.factories import make_session, pay
from tests.checkout.test_public import counts, queries_by_store

pytestmark = pytest.mark.django_db(databases="__all__")


def theme_of(client, html: str) -> str:
    """The page's theme stylesheet, fetched the way a browser would."""
    hrefs = re.findall(r'<link rel="stylesheet" href="(/appearance/theme/[^"]+)"', html)
    assert len(hrefs) == 1, hrefs
    response = client.get(hrefs[0])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "immutable" in response["Cache-Control"]
    return response.content.decode()


def test_unbranded_page_uses_the_default_stylesheet_only(api):
    session = make_session(api)
    html = Client().get(f"/checkout/{session['token']}").content.decode()
    assert "/appearance/theme/" not in html and 'class="merchant-mark"' in html
    assert "Pay ₦15,000.00 / month" in html


def test_publishing_changes_the_page(api, acme, brand):
    brand(logo=image_bytes(), brand_color="#7b1fa2", font="serif", radius=4,
          headline="Train with us", subheadline="Lagos's friendliest gym",
          pay_label="Start membership · {amount}", support_contact="help@acme.test",
          terms_url="https://acme.test/terms")
    session = make_session(api)
    client = Client()
    html = client.get(f"/checkout/{session['token']}").content.decode()
    css = theme_of(client, html)
    assert "--duro-brand:#7b1fa2;" in css and "--duro-brand-text:#ffffff;" in css
    assert "--duro-radius:4px;" in css and "Georgia, serif" in css
    logo = re.search(r'<img class="merchant-logo" src="(/appearance/logo/[0-9a-f]{64}\.png)"',
                     html)
    assert logo, html
    image = client.get(logo.group(1))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    for text in ("Train with us", "Lagos&#x27;s friendliest gym",
                 "Start membership · ₦15,000.00 / month", 'href="mailto:help@acme.test"',
                 'href="https://acme.test/terms"'):
        assert text in html, text
    assert "style=" not in html and "<style" not in html


def test_the_draft_stays_private_until_published(api, acme, brand):
    brand(brand_color="#7b1fa2", headline="Published headline")
    store_config_draft_update(merchant=acme.merchant, changes={
        "brand_color": "#c62828", "headline": "Draft headline"})
    session = make_session(api)
    client = Client()
    html = client.get(f"/checkout/{session['token']}").content.decode()
    assert "Published headline" in html and "Draft headline" not in html
    assert "#7b1fa2" in theme_of(client, html)
    hydrate = client.get(f"/v1/public/checkout/{session['token']}").json()["data"]
    assert hydrate["appearance"]["colors"]["brand"] == "#7b1fa2"
    assert "Draft headline" not in str(hydrate)


def test_rollback_restores_an_earlier_look(api, acme, brand):
    first = brand(brand_color="#7b1fa2", headline="First look")
    brand(brand_color="#c62828", headline="Second look")
    session = make_session(api)
    client = Client()
    html = client.get(f"/checkout/{session['token']}").content.decode()
    assert "Second look" in html and "#c62828" in theme_of(client, html)
    version = store_config_rollback(merchant=acme.merchant, number=first.number)
    assert version.number == 3 and version.note == "Rolled back to v1"
    html = client.get(f"/checkout/{session['token']}").content.decode()
    assert "First look" in html and "/appearance/theme/" + acme.merchant.id + "/3.css" in html
    assert "--duro-brand:#7b1fa2;" in theme_of(client, html)
    # History is kept: every version still serves its own immutable stylesheet.
    assert "#c62828" in client.get(f"/appearance/theme/{acme.merchant.id}/2.css").content.decode()


def test_copy_is_escaped_never_html(api, brand):
    brand(headline='<script>alert("x")</script>', success_message="<b>Thanks</b>",
          pay_label="<img src=x onerror=alert(1)> {amount}")
    session = api.post("/v1/checkout/sessions", {"amount": 500_000}, format="json").json()["data"]
    client = Client()
    html = client.get(f"/checkout/{session['token']}").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; ₦5,000.00" in html
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    receipt = client.get(f"/checkout/{session['token']}").content.decode()
    assert "&lt;b&gt;Thanks&lt;/b&gt;" in receipt and "<b>Thanks" not in receipt


def test_every_state_links_the_theme_but_not_found_uses_the_default(api, brand):
    brand(brand_color="#7b1fa2")
    session = make_session(api)
    client = Client()
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=session["id"]).update(status="processing")
    assert "/appearance/theme/" in client.get(f"/checkout/{session['token']}").content.decode()
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=session["id"]).update(status="expired")
    expired = client.get(f"/checkout/{session['token']}")
    assert expired.status_code == 410 and "/appearance/theme/" in expired.content.decode()
    missing = client.get("/checkout/cs_test_" + "a" * 32)
    assert missing.status_code == 404 and "/appearance/theme/" not in missing.content.decode()


def test_page_is_one_query_on_the_token_store_with_branding_on(api, brand):
    brand(brand_color="#7b1fa2", headline="Hello")
    session = make_session(api)
    client = Client()
    client.get(f"/checkout/{session['token']}")  # warm the published-appearance cache
    with queries_by_store() as captured:
        response = client.get(f"/checkout/{session['token']}")
        hydrate = client.get(f"/v1/public/checkout/{session['token']}")
    assert response.status_code == 200 and hydrate.status_code == 200
    assert "Hello" in response.content.decode()
    assert counts(captured) == {"default": 0, "test": 2, "live": 0}


def test_unknown_theme_and_logo_are_404(acme):
    client = Client()
    assert client.get(f"/appearance/theme/{acme.merchant.id}/9.css").status_code == 404
    assert client.get("/appearance/logo/" + "0" * 64 + ".png").status_code == 404
