"""A live card's processor steps on the hosted page, in a real browser against the
Paystack stand-in: the PIN step (then the OTP a PIN+OTP card asks for), and 3-D Secure
through the bank's page and back, with JavaScript and without."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.processors.conftest import connected_paystack_fixture  # noqa: F401 - fixture
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


SHOP = "https://shop.example"  # a live session returns to https only: the browser stubs it


def _live_session(live_api, page):
    page.route(f"{SHOP}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Thanks</title>"))
    response = live_api.post("/v1/checkout/sessions", {
        "amount": 1_500_000, "currency": "NGN", "description": "Order 1001",
        "successUrl": f"{SHOP}/thanks", "cancelUrl": f"{SHOP}/cart"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _fill_and_pay(page, number: str, cvc: str):
    page.fill("#email", "ada@example.com")
    page.fill("#card-number", number)
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", cvc)
    page.click("#pay-button")


def _completed(live_api, session, page):
    page.wait_for_url(f"{SHOP}/thanks**")
    assert parse_qs(urlsplit(page.url).query)["reference"] == [session["reference"]]
    verify = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["status"] == "succeeded"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_pin_step_then_the_otp_step(live_api, live_server, settings,
                                        connected_paystack, javascript, request):
    settings.DURO_PUBLIC_URL = live_server.url
    page = request.getfixturevalue("page" if javascript else "page_without_js")
    session = _live_session(live_api, page)
    page.goto(session["url"])
    _fill_and_pay(page, "5060 6666 6666 6666 666", "123")
    page.wait_for_selector("#pin")
    assert page.text_content(".step-title") == "Enter your card PIN"
    assert page.get_attribute("#pin", "type") == "password"
    page.fill("#pin", "1111")  # wrong: the stand-in's bank declines the charge
    page.click("#pay-button")
    page.wait_for_selector(".form-error, [role=alert]")
    assert "Incorrect PIN" in page.content()
    assert connected_paystack.money_taken() == []
    _fill_and_pay(page, "5060 6666 6666 6666 666", "123")
    page.wait_for_selector("#pin")
    page.fill("#pin", "1234")
    page.click("#pay-button")
    page.wait_for_selector("#otp")
    page.fill("#otp", "123456")
    page.click("#pay-button")
    _completed(live_api, session, page)
    assert len(connected_paystack.money_taken()) == 1
    if javascript:
        assert page.js_errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_3ds_through_the_banks_page_and_back(live_api, live_server, settings,
                                             connected_paystack, javascript, request):
    settings.DURO_PUBLIC_URL = live_server.url
    page = request.getfixturevalue("page" if javascript else "page_without_js")
    session = _live_session(live_api, page)
    page.goto(session["url"])
    _fill_and_pay(page, "4084 0800 0000 0409", "000")
    page.wait_for_selector("#bank-step")
    assert page.text_content(".step-title") == "Confirm with your bank"
    page.click("#bank-step")
    page.wait_for_url(f"{connected_paystack.url}/bank/authorize/**")
    page.click("#bank-approve")
    _completed(live_api, session, page)
    assert len(connected_paystack.money_taken()) == 1
