"""Flutterwave's PIN step, against the Flutterwave stand-in: Flutterwave takes the PIN only
with the whole card again, and Duro keeps no card, so the step (``card_pin``) asks the
payer for the card with its PIN, on the JSON pay, the hosted page and the invoice page.
The card goes to Flutterwave and nowhere else: not to a log, not to the database. Also:
the 3-D Secure step returns the payer to Duro through Flutterwave's ``redirect_url``."""

import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from billing.models import Invoice, PaymentAttempt
from billing.processors.connections import processor_connect
from billing.processors.flutterwave import Flutterwave
from billing.processors.gateway import Gateway
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay
from tests.checkout.test_invoice_page import open_invoice
from tests.openapi import openapi

pytestmark = pytest.mark.django_db(databases="__all__")

PIN_CARD = card("5531 8866 5214 2950", cvc="564", expMonth=9, expYear=2032)
PIN_DIGITS = "5531886652142950"
OTHER_PIN_CARD = card("5258 5859 2266 6506", cvc="883", expMonth=9, expYear=2032)
BANK_CARD = card("4187 4274 1556 4246", cvc="828", expMonth=9, expYear=2032)
DETAILS = {"number": "5531 8866 5214 2950", "cvc": "564", "exp_month": 9, "exp_year": 32,
           "email": "ada@example.com"}


@pytest.fixture
def connected(acme, flutterwave_standin, settings):
    """Acme's live mode connected to the Flutterwave stand-in."""
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_FLUTTERWAVE_BASE_URL = flutterwave_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    settings.DURO_PUBLIC_URL = "http://testserver"
    processor_connect(merchant_id=acme.merchant.id, processor="flutterwave",
                      secret=flutterwave_standin.secret_key,
                      webhook_secret=flutterwave_standin.secret_hash,
                      encryption_key=flutterwave_standin.encryption_key)
    return flutterwave_standin


def _session(live_api) -> dict:
    return make_session(live_api, successUrl="https://shop.example/ok",
                        cancelUrl="https://shop.example/no")


def _answer(token: str, **body):
    return APIClient().post(f"/v1/public/checkout/{token}/pay", body, format="json")


def _nowhere_in_the_database(digits: str) -> None:
    """No table of any database holds the card number (nor its last 12 digits)."""
    for alias in connections:
        connection = connections[alias]
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f'SELECT * FROM "{table}"')
                for row in cursor.fetchall():
                    assert digits not in repr(row), f"{alias}.{table} holds the card"
                    assert digits[4:] not in repr(row), f"{alias}.{table} holds the card"


def _nowhere_in_the_logs(caplog, *secrets: str) -> None:
    """Neither the message nor anything attached to a record (its args, its extras) holds
    a secret; the record's clock and thread numbers are left out (a PIN's four digits may
    turn up in a timestamp)."""
    assert caplog.records  # the pay was logged; the card and PIN were not
    for record in caplog.records:
        attached = {key: value for key, value in record.__dict__.items()
                    if not isinstance(value, int | float)}
        text = record.getMessage() + repr(attached)
        for secret in secrets:
            assert secret not in text


# --- the gateway ------------------------------------------------------------------------

def test_the_gateway_asks_for_the_card_again_with_flutterwaves_pin(flutterwave,
                                                                   flutterwave_standin):
    gateway = Gateway(flutterwave)
    asked = gateway.charge(amount=150_000, currency="NGN", details=DETAILS,
                           idempotency_key="pay_FwPin1")
    assert (asked.status, asked.extra) == ("requires_otp", {"step": "card_pin"})
    assert flutterwave_standin.transactions == {}  # Flutterwave made nothing yet
    then = gateway.submit_pin(idempotency_key="pay_FwPin1", pin="3310", amount=150_000,
                              currency="NGN", details=DETAILS)
    assert (then.status, then.extra) == ("requires_otp", {"step": "otp"})
    sent = flutterwave_standin.at("POST", "/v3/charges")[-1].decrypted
    assert sent["authorization"] == {"mode": "pin", "pin": "3310"}
    assert sent["card_number"] == PIN_DIGITS and sent["amount"] == 1500
    assert gateway.submit_otp(idempotency_key="pay_FwPin1", otp="12345").status == "succeeded"
    assert len(flutterwave_standin.money_taken()) == 1


def test_the_gateway_refuses_a_flutterwave_pin_without_the_card(flutterwave):
    from billing.rails.base import RailError

    with pytest.raises(RailError) as refused:
        Gateway(flutterwave).submit_pin(idempotency_key="pay_FwPin2", pin="3310",
                                        amount=150_000, currency="NGN", details={})
    assert refused.value.code == "card_required"


# --- the JSON pay -----------------------------------------------------------------------

def test_a_flutterwave_pin_card_pays_with_the_card_again_and_keeps_none_of_it(
        live_api, connected, caplog):
    caplog.set_level(logging.DEBUG)
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=PIN_CARD).json()["data"]
    assert (asked["status"], asked["step"]) == ("requires_otp", "card_pin")
    documented = openapi()["components"]["schemas"]  # the OpenAPI document names the step
    assert set(asked) <= set(documented["PayResult"]["properties"])
    assert "card_pin" in documented["StepEnum"]["enum"]
    # The PIN alone cannot be sent on: the card must come with it.
    alone = _answer(session["token"], pin="3310")
    assert (alone.status_code, alone.json()["error"]["code"]) == (400, "card_required")
    then = _answer(session["token"], pin="3310", card=PIN_CARD)
    assert then.status_code == 200, then.content
    assert (then.json()["data"]["status"], then.json()["data"]["step"]) == (
        "requires_otp", "otp")
    done = _answer(session["token"], otp="12345").json()["data"]
    assert done["status"] == "completed"
    [taken] = connected.money_taken()
    assert taken.card["card_number"] == PIN_DIGITS
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.card_last4) == ("succeeded", "2950")
    _nowhere_in_the_database(PIN_DIGITS)
    _nowhere_in_the_logs(caplog, PIN_DIGITS, "3310")


def test_another_card_at_the_pin_step_is_refused_before_flutterwave_is_asked(
        live_api, connected):
    """The PIN belongs to the card the bank asked it for: another card there is refused
    (``card_mismatch``); "Use another card" is the way to change cards."""
    session = _session(live_api)
    pay(APIClient(), session["token"], card=PIN_CARD)
    asked_before = len(connected.at("POST", "/v3/charges"))
    other = _answer(session["token"], pin="3310", card=OTHER_PIN_CARD)
    assert other.status_code == 400
    error = other.json()["error"]
    assert error["code"] == "card_mismatch" and "2950" in error["message"]
    assert len(connected.at("POST", "/v3/charges")) == asked_before
    # The step still waits for the right card.
    right = _answer(session["token"], pin="3310", card=PIN_CARD).json()["data"]
    assert right["step"] == "otp"


def test_a_wrong_flutterwave_pin_is_declined(live_api, connected):
    session = _session(live_api)
    pay(APIClient(), session["token"], card=PIN_CARD)
    declined = _answer(session["token"], pin="9999", card=PIN_CARD).json()["data"]
    assert declined["status"] == "failed" and declined["error"]["message"] == "Incorrect PIN"
    assert connected.money_taken() == []


def test_the_card_sent_with_the_pin_spends_the_cards_pay_budget(live_api, connected,
                                                                settings):
    settings.DURO_PAY_RATE_PER_CARD = 2
    session = _session(live_api)
    pay(APIClient(), session["token"], card=PIN_CARD)  # one
    _answer(session["token"], pin="3310", card=PIN_CARD)  # two: the card came again
    other = _session(live_api)
    limited = pay(APIClient(), other["token"], card=PIN_CARD)
    assert limited.status_code == 429


def test_paystacks_pin_step_still_takes_the_pin_alone(live_api, acme, paystack_standin,
                                                      settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    processor_connect(merchant_id=acme.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key)
    session = _session(live_api)
    asked = pay(APIClient(), session["token"],
                card=card("5078 5078 5078 5078 12", cvc="081")).json()["data"]
    assert asked["step"] == "pin"
    assert _answer(session["token"], pin="1111").json()["data"]["status"] == "completed"


# --- the hosted page ----------------------------------------------------------------------

def test_the_pages_pin_step_takes_the_card_again_and_never_logs_it(live_api, connected,
                                                                  caplog):
    caplog.set_level(logging.DEBUG)
    session = _session(live_api)
    browser = Client(enforce_csrf_checks=False)
    page = f"/checkout/{session['token']}"
    first = browser.post(page, {"email": "ada@example.com", "rail": "card",
                                "card_number": "5531 8866 5214 2950", "card_expiry": "09/32",
                                "card_cvc": "564"})
    assert first.status_code == 303
    shown = browser.get(page).content.decode()
    assert "we don&#x27;t keep card details" in shown or "we don't keep card details" in shown
    for label in ('for="pin-card-number"', 'for="pin-card-expiry"', 'for="pin-card-cvc"',
                  'for="pin"'):
        assert label in shown
    assert "csrfmiddlewaretoken" in shown
    # A PIN without the card: the step says what is missing.
    missing = browser.post(f"{page}/otp", {"pin": "3310"}).content.decode()
    assert "Enter your card number." in missing
    then = browser.post(f"{page}/otp", {"pin": "3310", "card_number": "5531 8866 5214 2950",
                                        "card_expiry": "09/32", "card_cvc": "564"})
    assert then.status_code == 303
    assert "Enter the code from your bank" in browser.get(page).content.decode()
    done = browser.post(f"{page}/otp", {"otp": "12345"})
    assert (done.status_code, done["Location"]) == (
        303, f"https://shop.example/ok?reference={session['reference']}")
    assert len(connected.money_taken()) == 1
    _nowhere_in_the_database(PIN_DIGITS)
    _nowhere_in_the_logs(caplog, PIN_DIGITS, "3310")


def test_the_invoice_pages_pin_step_takes_the_card_again(acme, connected, caplog):
    caplog.set_level(logging.DEBUG)
    invoice = open_invoice(acme.merchant.id, mode="live")
    browser = Client()
    page = f"/invoice/{invoice.hosted_token}"
    card_fields = {"card_number": "5531 8866 5214 2950", "card_expiry": "09/32",
                   "card_cvc": "564"}
    assert browser.post(page, {"rail": "card", **card_fields}).status_code == 303
    shown = browser.get(page).content.decode()
    assert "enter your card again with its PIN" in shown and 'for="pin-card-number"' in shown
    other = browser.post(page, {"pin": "3310", "card_number": "5258 5859 2266 6506",
                                "card_expiry": "09/32", "card_cvc": "883"})
    assert "ending 2950" in other.content.decode()
    assert browser.post(page, {"pin": "3310", **card_fields}).status_code == 303
    assert "Enter the code from your bank" in browser.get(page).content.decode()
    assert browser.post(page, {"otp": "12345"}).status_code == 303
    with mode_context("live"):
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert len(connected.money_taken()) == 1
    _nowhere_in_the_database(PIN_DIGITS)
    _nowhere_in_the_logs(caplog, PIN_DIGITS, "3310")


# --- 3-D Secure's way back ------------------------------------------------------------------

def test_flutterwaves_3ds_returns_the_payer_to_the_checkout(live_api, connected):
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=BANK_CARD).json()["data"]
    assert (asked["status"], asked["step"]) == ("requires_action", "redirect")
    sent = connected.at("POST", "/v3/charges")[-1].decrypted
    assert sent["redirect_url"] == f"http://testserver/checkout/{session['token']}/return"
    assert "callback_url" not in sent["meta"]
    bank = httpx.get(asked["redirectUrl"], follow_redirects=False)  # the payer approves
    assert bank.status_code == 302
    back = urlsplit(bank.headers["location"])
    assert back.path == f"/checkout/{session['token']}/return"
    assert parse_qs(back.query)["status"] == ["successful"]
    landed = Client().get(f"{back.path}?{back.query}")
    assert (landed.status_code, landed["Location"]) == (
        303, f"https://shop.example/ok?reference={session['reference']}")
    assert len(connected.money_taken()) == 1


def test_the_flutterwave_client_places_the_return_url_as_redirect_url(flutterwave,
                                                                      flutterwave_standin):
    Flutterwave.charge_card(flutterwave, payment_id="pay_Ret1", amount=5000, currency="NGN",
                            email="ada@example.com", return_url="https://duro.test/back",
                            card={"number": "4187427415564246", "cvv": "828",
                                  "expiry_month": "09", "expiry_year": "32"})
    sent = flutterwave_standin.at("POST", "/v3/charges")[-1].decrypted
    assert sent["redirect_url"] == "https://duro.test/back"
