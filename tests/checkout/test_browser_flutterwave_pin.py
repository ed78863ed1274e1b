"""Flutterwave's PIN step on the hosted page, in a real browser against the Flutterwave
stand-in: Flutterwave takes the PIN only with the card again, so the step asks for the card
number, expiry, CVC and PIN, explains why, and takes them with JavaScript and without; the
card is refused if it is not the first try's, and never reaches a log."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from billing.processors.connections import processor_connect
from tests.standins.flutterwave import flutterwave_standin_fixture  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

SHOP = "https://shop.example"  # a live session returns to https only: the browser stubs it
NUMBER = "5531 8866 5214 2950"


@pytest.fixture
def connected(acme, flutterwave_standin, settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_FLUTTERWAVE_BASE_URL = flutterwave_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="flutterwave",
                      secret=flutterwave_standin.secret_key,
                      webhook_secret=flutterwave_standin.secret_hash,
                      encryption_key=flutterwave_standin.encryption_key)
    return flutterwave_standin


def _card(page, prefix: str, number: str, cvc: str = "564") -> None:
    page.fill(f"#{prefix}card-number", number)
    page.fill(f"#{prefix}card-expiry", "09/32")
    page.fill(f"#{prefix}card-cvc", cvc)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_pin_step_takes_the_card_again_with_its_pin(live_api, live_server, settings,
                                                        connected, javascript, request,
                                                        caplog):
    caplog.set_level(logging.DEBUG)
    settings.DURO_PUBLIC_URL = live_server.url
    page = request.getfixturevalue("page" if javascript else "page_without_js")
    page.route(f"{SHOP}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Thanks</title>"))
    session = live_api.post("/v1/checkout/sessions", {
        "amount": 1_500_000, "currency": "NGN", "description": "Order 1001",
        "successUrl": f"{SHOP}/thanks", "cancelUrl": f"{SHOP}/cart"},
        format="json").json()["data"]
    page.goto(session["url"])
    page.fill("#email", "ada@example.com")
    _card(page, "", NUMBER)
    page.click("#pay-button")

    page.wait_for_selector("#pin-card-number")
    assert page.text_content(".step-title") == "Enter your card and its PIN"
    assert ("For your security we don't keep card details: enter your card again with its "
            "PIN") in page.text_content("#pin-card-note")
    for field, label in (("#pin-card-number", "Card number"),
                         ("#pin-card-expiry", "Expiry (MM/YY)"), ("#pin-card-cvc", "CVC"),
                         ("#pin", "Card PIN")):
        assert page.locator(field).evaluate("e => e.labels[0].textContent") == label
    assert page.get_attribute("#pin", "type") == "password"
    assert page.input_value("#pin-card-number") == ""  # the card is never put back

    # Another card at this step is refused; nothing is charged.
    _card(page, "pin-", "5258 5859 2266 6506", cvc="883")
    page.fill("#pin", "3310")
    page.click("#pay-button")
    page.wait_for_selector("#pin-card-number-error")
    assert "ending 2950" in page.text_content("#pin-card-number-error")
    assert connected.transactions == {}

    _card(page, "pin-", NUMBER)
    page.fill("#pin", "3310")
    page.click("#pay-button")
    page.wait_for_selector("#otp")
    page.fill("#otp", "12345")
    page.click("#pay-button")
    page.wait_for_url(f"{SHOP}/thanks**")
    assert parse_qs(urlsplit(page.url).query)["reference"] == [session["reference"]]
    assert len(connected.money_taken()) == 1
    digits = NUMBER.replace(" ", "")
    assert all(digits not in record.getMessage() and digits not in repr(record.__dict__)
               and "3310" not in record.getMessage() for record in caplog.records)
    if javascript:
        assert page.js_errors == []
