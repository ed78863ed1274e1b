"""Every state of the hosted page in a real browser: the rail picker and brand marks, a
screenshot at phone and desktop widths, and axe-core with no violation of any impact."""

import pytest
from rest_framework.test import APIClient

from tests.appearance.conftest import axe_source  # noqa: F401 - the fixture, shared
from tests.browser import ARTIFACTS
from tests.checkout.factories import card, make_session, pay

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def _state_url(api, live_server, state: str) -> str:
    if state == "not_found":
        return f"{live_server.url}/checkout/cs_test_{'x' * 32}"
    if state == "receipt":  # no successUrl: Duro shows its own receipt
        response = api.post("/v1/checkout/sessions", {"amount": 250_000}, format="json")
        session = response.json()["data"]
    elif state == "mobile_money":
        session = make_session(api, amount=15_000, currency="GHS")
    else:
        session = make_session(api)
    if state == "otp":
        pay(APIClient(), session["token"], card=card("4000000000003220"))
    elif state == "transfer":
        pay(APIClient(), session["token"], rail="bank_transfer", card={})
    elif state == "ussd":
        pay(APIClient(), session["token"], rail="ussd", card={}, ussd={"bank": "737"})
    elif state == "mobile_money":
        pay(APIClient(), session["token"], rail="mobile_money", phone="", card={},
            mobileMoney={"provider": "mtn", "phone": "024 123 4567"})
    elif state == "receipt":
        pay(APIClient(), session["token"])
    elif state == "expired":
        api.post(f"/v1/checkout/sessions/{session['id']}/expire")
    return f"{live_server.url}/checkout/{session['token']}"


@pytest.mark.parametrize("state", ["form", "otp", "transfer", "ussd", "mobile_money",
                                   "receipt", "expired", "not_found"])
def test_each_state_has_no_accessibility_violation(api, live_server, settings, chromium,
                                                   axe_source, state):  # noqa: F811
    settings.DURO_PUBLIC_URL = live_server.url
    url = _state_url(api, live_server, state)
    for width in (375, 1280):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "screenshots" / f"checkout-{state}-{width}.png"),
                        full_page=True)
        context.close()
    context = chromium.new_context(viewport={"width": 375, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(url)
    page.add_script_tag(content=axe_source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    context.close()
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in result["violations"]] == []


def test_the_rail_picker_and_the_card_brand_marks(api, live_server, settings, page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = make_session(api)
    page.goto(session["url"])
    option = page.locator(".rail-option").first
    assert option.locator("img").get_attribute("src").endswith("/checkout/icons/card.svg")
    assert page.is_visible("#rail-panel-card")
    accepted = page.locator(".accepted img")
    assert [accepted.nth(i).get_attribute("alt") for i in range(accepted.count())] == [
        "Visa", "Mastercard", "Verve"]
    for number, mark in (("4242 4242 4242 4242", "visa"), ("5555 5555 5555 4444", "mastercard"),
                         ("5061 0000 0000 0000 000", "verve")):
        page.fill("#card-number", number)
        assert page.get_attribute("#card-brand", "data-brand") == mark
        image = page.eval_on_selector("#card-brand", "e => getComputedStyle(e).backgroundImage")
        assert f"icons/{mark}.svg" in image


def test_the_otp_step_says_where_the_code_went(api, live_server, settings, page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = make_session(api)
    pay(APIClient(), session["token"], card=card("4000000000003220"))
    page.goto(session["url"])
    assert "card ending 3220" in page.inner_text(".pay-form")
