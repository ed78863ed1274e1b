"""Paying by USSD and by mobile money in a real browser, with and without JavaScript: the
rail's panel on the form, the code to dial or the prompt to approve, and the sandbox's
Simulate buttons (or, with JavaScript, the page polling ``/status``) reaching success."""

import re

import pytest
from rest_framework.test import APIClient

from tests.appearance.conftest import axe_source  # noqa: F401 - the fixture, shared
from tests.checkout.factories import make_plan

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def _session(api, shop, **fields):
    if "amount" not in fields:
        fields["planId"] = make_plan(api)["id"]
    response = api.post("/v1/checkout/sessions", {
        "successUrl": f"{shop.url}/thanks", "cancelUrl": f"{shop.url}/cart", **fields,
    }, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _verified(api, session, rail):
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    assert (verify["payment"]["rail"], verify["payment"]["status"]) == (rail, "succeeded")


def _choose(tab, rail, js):
    tab.fill("#email", "ada@example.com")
    tab.check(f"input[name=rail][value={rail}]")
    if js:  # one panel per rail: the card fields give way to this rail's
        assert not tab.is_visible("#card-number")
        assert tab.is_visible(f"#rail-panel-{rail}")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_pay_by_ussd_then_the_bank_confirms(api, live_server, settings, shop, page,
                                            page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _session(api, shop)
    tab.goto(session["url"])
    _choose(tab, "ussd", js)
    tab.click("#pay-button")  # no bank chosen yet: the field says so
    tab.wait_for_selector("#ussd-bank-error")
    assert tab.inner_text("#ussd-bank-error") == "Choose your bank."
    assert tab.is_checked("input[name=rail][value=ussd]")  # the choice is kept
    tab.select_option("#ussd-bank", "737")
    tab.click("#pay-button")
    tab.wait_for_selector("#ussd-code")
    code = tab.inner_text("#ussd-code")
    assert re.fullmatch(r"\*737\*000\*\d{6}#", code), code
    assert tab.get_attribute("#ussd-code", "href") == "tel:" + code.replace("#", "%23")
    assert "GTBank" in tab.inner_text("#ussd-title")
    if js:
        countdown = tab.inner_text("time[data-countdown]")
        assert re.fullmatch(r"1[45]:\d\d", countdown), countdown
        tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
        tab.click("button[data-copy=ussd-code]")
        tab.wait_for_selector("button[data-copy=ussd-code]:text-is('Copied')")
        assert tab.evaluate("navigator.clipboard.readText()") == code
    else:
        tab.click("#ussd-refresh")  # the refresh button: still waiting for the bank
        tab.wait_for_selector("#ussd-code")
    tab.click("#simulate-paid")
    tab.wait_for_url(f"{shop.url}/thanks**")
    _verified(api, session, "ussd")
    if js:
        assert page.js_errors == []


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_pay_by_mobile_money_then_approve_on_the_phone(api, live_server, settings, shop, page,
                                                       page_without_js, js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _session(api, shop, amount=15_000, currency="GHS")
    tab.goto(session["url"])
    _choose(tab, "mobile_money", js)
    tab.select_option("#mobile-money-provider", "mtn")
    tab.fill("#mobile-money-phone", "0803 123 4567")  # a Nigerian number: no MTN Ghana wallet
    tab.click("#pay-button")
    tab.wait_for_selector("#mobile-money-phone-error")
    assert "not a valid Ghanaian number" in tab.inner_text("#mobile-money-phone-error")
    assert tab.input_value("#mobile-money-provider") == "mtn"  # what was typed is kept
    tab.fill("#mobile-money-phone", "024 123 4567")
    tab.click("#pay-button")
    tab.wait_for_selector("#mobile-money-instructions")
    assert tab.inner_text("#mobile-money-title") == "Approve the payment on your phone"
    assert tab.inner_text("#mobile-money-instructions").startswith(
        "Approve the payment of GH₵150.00 on 024 123 4567 (MTN Mobile Money)")
    assert tab.inner_text("#mobile-money-provider") == "MTN Mobile Money"
    assert tab.get_attribute("#waiting-status", "aria-live") == "polite"
    tab.click("#simulate-paid")
    tab.wait_for_url(f"{shop.url}/thanks**")
    _verified(api, session, "mobile_money")
    if js:
        assert page.js_errors == []


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_refused_prompt_brings_the_form_back_to_pay_another_way(api, live_server, settings,
                                                                   shop, page, page_without_js,
                                                                   js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _session(api, shop, amount=100_000, currency="KES")
    tab.goto(session["url"])
    _choose(tab, "mobile_money", js)
    tab.select_option("#mobile-money-provider", "mpesa")
    tab.fill("#mobile-money-phone", "0712 345678")
    tab.click("#pay-button")
    tab.wait_for_selector("#mobile-money-instructions")
    assert "KSh 1,000.00 on 0712 345678 (M-Pesa)" in tab.inner_text("#mobile-money-instructions")
    tab.click("#simulate-failed")
    tab.wait_for_selector("#form-error")
    assert "not approved" in tab.inner_text("#form-error")
    tab.fill("#email", "ada@example.com")
    tab.check("input[name=rail][value=card]")
    tab.fill("#card-number", "4242 4242 4242 4242")
    tab.fill("#card-expiry", "12/34")
    tab.fill("#card-cvc", "123")
    tab.click("#pay-button")
    tab.wait_for_url(f"{shop.url}/thanks**")
    _verified(api, session, "card")


def test_with_javascript_the_page_moves_to_success_by_itself(api, live_server, settings, shop,
                                                             page):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _session(api, shop)
    page.goto(session["url"])
    _choose(page, "ussd", True)
    page.select_option("#ussd-bank", "822")
    page.click("#pay-button")
    page.wait_for_selector("#ussd-code")
    # The bank confirms elsewhere (a script, a processor's webhook): the page polls /status.
    done = APIClient().post(f"/v1/public/checkout/{session['token']}/simulate",
                            {"outcome": "paid"}, format="json")
    assert done.json()["data"]["status"] == "completed"
    page.wait_for_url(f"{shop.url}/thanks**")
    assert page.js_errors == []


@pytest.mark.parametrize(("currency", "rail"), [("NGN", "bank_transfer"), ("NGN", "ussd"),
                                                ("GHS", "mobile_money")])
def test_each_rail_panel_is_accessible_and_fits_a_phone(api, live_server, settings, shop,
                                                        chromium, axe_source,  # noqa: F811
                                                        currency, rail):
    settings.DURO_PUBLIC_URL = live_server.url
    session = _session(api, shop, amount=50_000, currency=currency)
    context = chromium.new_context(viewport={"width": 375, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    tab.goto(session["url"])
    tab.check(f"input[name=rail][value={rail}]")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 375
    tab.add_script_tag(content=axe_source)
    result = tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    context.close()
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in result["violations"]] == []


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_leave_a_transfer_to_pay_by_card_or_see_an_underpayment(api, live_server, settings,
                                                                shop, page, page_without_js,
                                                                js):
    settings.DURO_PUBLIC_URL = live_server.url
    tab = page if js else page_without_js
    session = _session(api, shop)
    tab.goto(session["url"])
    _choose(tab, "bank_transfer", js)
    tab.click("#pay-button")
    tab.wait_for_selector("#transfer-account")
    tab.click("#simulate-underpaid")  # half arrives: refunded, and the page says so
    tab.wait_for_selector("#form-error")
    assert "₦7,500.00 arrived" in tab.inner_text("#form-error")
    _choose(tab, "bank_transfer", js)
    tab.click("#pay-button")
    tab.wait_for_selector("#transfer-account")
    tab.click("#pay-another")  # the payer changes their mind
    tab.wait_for_selector("#form-notice")
    tab.fill("#email", "ada@example.com")
    tab.check("input[name=rail][value=card]")
    tab.fill("#card-number", "4242 4242 4242 4242")
    tab.fill("#card-expiry", "12/34")
    tab.fill("#card-cvc", "123")
    tab.click("#pay-button")
    tab.wait_for_url(f"{shop.url}/thanks**")
    _verified(api, session, "card")
    if js:
        assert page.js_errors == []
