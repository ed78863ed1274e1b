"""The seed's walkthrough, as a merchant and a customer would do it, in a real browser."""

from urllib.parse import parse_qs, urlsplit

import pytest

from duro.modes import mode_context
from tests.checkout.factories import make_plan
from webhooks.models import Event

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def _create_session(api, shop, **extra):
    plan = make_plan(api)
    response = api.post("/v1/checkout/sessions", {
        "planId": plan["id"], "successUrl": f"{shop.url}/thanks?cart=7",
        "cancelUrl": f"{shop.url}/cart", "metadata": {"orderId": "ord_1001"}, **extra,
    }, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _fill_and_pay(page, number="4242 4242 4242 4242"):
    page.fill("#email", "ada@example.com")
    page.fill("#card-number", number)
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.click("#pay-button")


def _assert_verified(api, session, shop):
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    assert verify["customerId"] and verify["subscriptionId"] and verify["invoiceId"]
    assert verify["payment"]["card"]["brand"] == "visa"
    assert verify["payment"]["card"]["last4"] == "4242"
    with mode_context("test"):
        events = list(Event.objects.filter(data__session__id=session["id"]))
    assert sorted(e.type for e in events) == ["subscription_created",
                                              "subscription_payment_success"]
    assert all(e.data["metadata"] == {"orderId": "ord_1001"} for e in events)


def test_walkthrough_with_javascript(api, live_server, settings, shop, page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _create_session(api, shop)
    page.goto(session["url"])
    assert page.locator(".amount").first.inner_text() == "₦15,000.00 / month"
    page.fill("#card-number", "4242424242424242")
    assert page.input_value("#card-number") == "4242 4242 4242 4242"  # formatted by JS
    assert page.text_content("#card-brand") == "Visa"
    page.fill("#card-number", "")
    _fill_and_pay(page)
    page.wait_for_url(f"{shop.url}/thanks**")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"cart": ["7"], "reference": [session["reference"]]}
    assert page.js_errors == []
    _assert_verified(api, session, shop)


def test_walkthrough_without_javascript(api, live_server, settings, shop, page_without_js):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _create_session(api, shop)
    page = page_without_js
    page.goto(session["url"])
    _fill_and_pay(page, number="4242424242424242")
    page.wait_for_url(f"{shop.url}/thanks**")
    assert parse_qs(urlsplit(page.url).query)["reference"] == [session["reference"]]
    _assert_verified(api, session, shop)


def test_otp_card_in_the_browser(api, live_server, settings, shop, page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _create_session(api, shop)
    page.goto(session["url"])
    _fill_and_pay(page, number="4000 0000 0000 3220")
    page.wait_for_selector("#otp")
    page.fill("#otp", "123456")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.url}/thanks**")


def test_decline_shows_error_and_allows_retry(api, live_server, settings, shop, page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _create_session(api, shop)
    page.goto(session["url"])
    _fill_and_pay(page, number="4000 0000 0000 0002")
    assert "declined" in page.inner_text("[role=alert]")
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.url}/thanks**")


def test_usable_at_320px_and_by_keyboard(api, live_server, settings, shop, chromium):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _create_session(api, shop)
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(session["url"])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"page scrolls sideways at 320 px ({width})"
    for label in ("Email", "Card number", "Expiry (MM/YY)", "CVC"):
        assert page.get_by_label(label).count() == 1
    page.focus("#email")
    page.keyboard.type("ada@example.com")
    for _ in range(4):  # "Use a saved card", phone, the rail radio, the card number
        page.keyboard.press("Tab")
    page.keyboard.type("4242424242424242")
    page.keyboard.press("Tab")
    page.keyboard.type("1234")
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{shop.url}/thanks**")
    context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_wrong_otp_keeps_the_step_then_the_right_code_pays(api, live_server, settings, shop,
                                                             page, page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _create_session(api, shop)
    tab.goto(session["url"])
    _fill_and_pay(tab, number="4000 0000 0000 3220")
    tab.wait_for_selector("#otp")
    tab.fill("#otp", "111111")
    tab.click("#pay-button")
    tab.wait_for_selector("#otp-error")
    assert "incorrect" in tab.inner_text("#otp-error")
    tab.reload()  # the step's URL shows the step again, never a blank 405
    tab.fill("#otp", "123456")
    tab.click("#pay-button")
    tab.wait_for_url(f"{shop.url}/thanks**")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_from_the_otp_step_the_customer_can_use_another_card(api, live_server, settings, shop,
                                                             page, page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _create_session(api, shop)
    tab.goto(session["url"])
    _fill_and_pay(tab, number="4000 0000 0000 3220")
    tab.wait_for_selector("#otp")
    tab.click("#another-card")
    tab.wait_for_selector("#card-number")
    assert tab.input_value("#email") == "ada@example.com"  # what was typed is kept
    tab.fill("#card-number", "4242 4242 4242 4242")
    tab.fill("#card-expiry", "1234" if js else "12 / 2034")
    tab.fill("#card-cvc", "123")
    tab.click("#pay-button")
    tab.wait_for_url(f"{shop.url}/thanks**")
    _assert_verified(api, session, shop)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_ghanaian_customer_pays_a_cedi_session(api, live_server, settings, shop, page,
                                                 page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    response = api.post("/v1/checkout/sessions", {
        "amount": 50_000, "currency": "GHS", "successUrl": f"{shop.url}/thanks"}, format="json")
    session = response.json()["data"]
    tab.goto(session["url"])
    assert tab.get_attribute("#phone", "placeholder") == "023 123 4567"
    tab.fill("#phone", "024 123 4567")
    _fill_and_pay(tab)
    tab.wait_for_url(f"{shop.url}/thanks**")
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["customerPhone"] == "+233241234567"


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_pay_by_bank_transfer_then_the_bank_confirms(api, live_server, settings, shop, page,
                                                     page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _create_session(api, shop)
    tab.goto(session["url"])
    tab.fill("#email", "ada@example.com")
    tab.check("input[name=rail][value=bank_transfer]")
    if js:  # one panel per rail: the card fields give way
        assert not tab.is_visible("#card-number")
    tab.click("#pay-button")
    tab.wait_for_selector("#transfer-account")
    assert len(tab.inner_text("#transfer-account")) == 10
    assert "₦15,000.00" in tab.inner_text("#transfer-amount")
    tab.click("#simulate-paid")
    tab.wait_for_url(f"{shop.url}/thanks**")
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "bank_transfer"
