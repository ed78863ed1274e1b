"""A live card's processor steps as the pay's steps, against the Paystack stand-in: the
card's PIN (then, for some cards, an OTP), a wrong PIN, and 3-D Secure (the bank's page,
then back to Duro, which asks the processor what the bank decided). The PIN is never
logged."""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Invoice, PaymentAttempt
from checkout.pay import attempts_recover
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay
from tests.checkout.test_invoice_page import open_invoice

pytestmark = pytest.mark.django_db(databases="__all__")

PIN_CARD = card("5078 5078 5078 5078 12", cvc="081")
PIN_OTP_CARD = card("5060 6666 6666 6666 666", cvc="123")
BANK_CARD = card("4084 0800 0000 0409", cvc="000")


def _logged(caplog, secret: str) -> bool:
    """Whether a record's message or anything attached to it (args, extras) holds
    ``secret``; its clock and thread numbers are left out (a PIN's four digits can turn up
    in a timestamp)."""
    for record in caplog.records:
        attached = {key: value for key, value in record.__dict__.items()
                    if not isinstance(value, int | float)}
        if secret in record.getMessage() + repr(attached):
            return True
    return False


def _session(live_api):
    return make_session(live_api, successUrl="https://shop.example/ok",
                        cancelUrl="https://shop.example/no")


def _answer(token: str, **body) -> dict:
    response = APIClient().post(f"/v1/public/checkout/{token}/pay", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def _verify(live_api, session) -> dict:
    return live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]


def test_a_pin_card_asks_for_its_pin_then_completes(live_api, connected_paystack, caplog):
    caplog.set_level(logging.DEBUG)
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=PIN_CARD).json()["data"]
    assert (asked["status"], asked["step"]) == ("requires_otp", "pin")
    assert connected_paystack.money_taken() == []
    # A code where a PIN is asked for is refused before the processor is asked.
    wrong_kind = APIClient().post(f"/v1/public/checkout/{session['token']}/pay",
                                  {"otp": "123456"}, format="json")
    assert (wrong_kind.status_code, wrong_kind.json()["error"]["code"]) == (400, "pin_required")
    done = _answer(session["token"], pin="1111")
    assert done["status"] == "completed"
    assert _verify(live_api, session)["payment"]["status"] == "succeeded"
    assert len(connected_paystack.money_taken()) == 1
    [sent] = connected_paystack.at("POST", "/charge/submit_pin")
    assert sent.body["pin"] == "1111"
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get()
    assert "1111" not in repr(attempt.__dict__)  # never kept
    assert not _logged(caplog, "1111")


def test_a_pin_then_otp_card_takes_both_steps(live_api, connected_paystack):
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=PIN_OTP_CARD).json()["data"]
    assert asked["step"] == "pin"
    then = _answer(session["token"], pin="1234")
    assert (then["status"], then["step"]) == ("requires_otp", "otp")
    assert connected_paystack.money_taken() == []
    assert _answer(session["token"], otp="123456")["status"] == "completed"
    assert len(connected_paystack.money_taken()) == 1


def test_a_wrong_pin_is_declined_and_the_session_reopens(live_api, connected_paystack):
    session = _session(live_api)
    pay(APIClient(), session["token"], card=PIN_CARD)
    declined = _answer(session["token"], pin="9999")
    assert declined["status"] == "failed"
    assert declined["error"]["message"] == "Incorrect PIN"
    assert connected_paystack.money_taken() == []
    again = pay(APIClient(), session["token"], card=PIN_CARD).json()["data"]
    assert again["step"] == "pin"  # a new attempt: the session is open again
    assert _answer(session["token"], pin="1111")["status"] == "completed"


def _through_the_bank(bank_url: str, answer: str) -> str:
    """The payer on the bank's page: its answer, and where the bank sends them back."""
    assert httpx.get(bank_url).status_code == 200
    back = httpx.post(bank_url, data={"answer": answer}, follow_redirects=False)
    assert back.status_code == 303
    return back.headers["location"]


def test_3ds_sends_the_payer_to_the_bank_and_back_to_a_completed_payment(
        live_api, connected_paystack, settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=BANK_CARD).json()["data"]
    assert (asked["status"], asked["step"]) == ("requires_action", "redirect")
    assert asked["redirectUrl"].startswith(connected_paystack.url + "/bank/authorize/")
    [charge] = connected_paystack.at("POST", "/charge")
    assert charge.body["metadata"]["callback_url"] == (
        f"http://testserver/checkout/{session['token']}/return")
    browser = Client()
    # Back before the bank decided (or with a forged query): nothing changes.
    early = browser.get(f"/checkout/{session['token']}/return?reference=x")
    assert early.status_code == 303 and early["Location"] == f"/checkout/{session['token']}"
    assert connected_paystack.money_taken() == []
    assert "Continue to your bank" in browser.get(f"/checkout/{session['token']}").content.decode()

    back = _through_the_bank(asked["redirectUrl"], "approve")
    parts = urlsplit(back)
    assert parts.path == f"/checkout/{session['token']}/return"
    landed = browser.get(f"{parts.path}?{parts.query}")
    assert (landed.status_code, landed["Location"]) == (
        303, f"https://shop.example/ok?reference={session['reference']}")
    verify = _verify(live_api, session)
    assert verify["status"] == "completed" and verify["payment"]["status"] == "succeeded"
    assert len(connected_paystack.money_taken()) == 1


def test_3ds_declined_at_the_bank_reopens_the_session(live_api, connected_paystack,
                                                      settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=BANK_CARD).json()["data"]
    back = urlsplit(_through_the_bank(asked["redirectUrl"], "decline"))
    landed = Client().get(f"{back.path}?{back.query}")
    assert landed.status_code == 303
    page = Client().get(landed["Location"]).content.decode()
    assert "Authentication failed" in page
    status = APIClient().get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "open"
    assert connected_paystack.money_taken() == []


def test_the_pages_pin_step_posts_the_pin_and_never_logs_it(live_api, connected_paystack,
                                                            caplog):
    caplog.set_level(logging.DEBUG)
    session = _session(live_api)
    browser = Client()
    page = f"/checkout/{session['token']}"
    paid = browser.post(page, {"email": "ada@example.com", "rail": "card",
                               "card_number": "5078 5078 5078 5078 12", "card_expiry": "12/34",
                               "card_cvc": "081"})
    assert paid.status_code == 303
    shown = browser.get(page).content.decode()
    assert "Enter your card PIN" in shown and 'type="password"' in shown
    assert "Enter your card PIN." in browser.post(f"{page}/otp", {"pin": "12a4"}).content.decode()
    done = browser.post(f"{page}/otp", {"pin": "1111"})
    assert (done.status_code, done["Location"]) == (
        303, f"https://shop.example/ok?reference={session['reference']}")
    assert len(connected_paystack.money_taken()) == 1
    assert caplog.records  # the pay was logged; the PIN was not
    assert not _logged(caplog, "1111")


def test_3ds_approved_by_a_payer_who_never_comes_back_is_settled_by_the_sweep(
        live_api, connected_paystack, settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    session = _session(live_api)
    approved = pay(APIClient(), session["token"], card=BANK_CARD).json()["data"]
    _through_the_bank(approved["redirectUrl"], "approve")  # no webhook, no return
    left = _session(live_api)
    pay(APIClient(), left["token"], card=BANK_CARD)  # never answered at the bank
    with mode_context("live"):
        attempts_recover(now=timezone.now() + timedelta(minutes=16))
    assert _verify(live_api, session)["status"] == "completed"
    assert _verify(live_api, left)["payment"]["status"] == "abandoned"
    assert len(connected_paystack.money_taken()) == 1


def test_the_invoice_page_takes_the_pin_then_the_otp_step(acme, connected_paystack):
    invoice = open_invoice(acme.merchant.id, mode="live")
    browser = Client()
    page = f"/invoice/{invoice.hosted_token}"
    paid = browser.post(page, {"rail": "card", "card_number": "5060 6666 6666 6666 666",
                               "card_expiry": "12/34", "card_cvc": "123"})
    assert paid.status_code == 303
    assert "Enter your card PIN" in browser.get(page).content.decode()
    assert browser.post(page, {"pin": "1234"}).status_code == 303
    assert "Enter the code from your bank" in browser.get(page).content.decode()
    assert browser.post(page, {"otp": "123456"}).status_code == 303
    with mode_context("live"):
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert len(connected_paystack.money_taken()) == 1


def test_the_invoice_page_takes_the_3ds_step(acme, connected_paystack, settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    browser = Client()
    second = open_invoice(acme.merchant.id, mode="live")
    page = f"/invoice/{second.hosted_token}"
    browser.post(page, {"rail": "card", "card_number": "4084 0800 0000 0409",
                        "card_expiry": "12/34", "card_cvc": "000"})
    shown = browser.get(page).content.decode()
    assert "Continue to your bank" in shown
    [charge] = connected_paystack.at("POST", "/charge")[-1:]
    assert charge.body["metadata"]["callback_url"] == f"http://testserver{page}/return"
    back = urlsplit(_through_the_bank(f"{connected_paystack.url}/bank/authorize/"
                                      f"{charge.body['reference']}", "approve"))
    landed = browser.get(f"{back.path}?{back.query}")
    assert (landed.status_code, landed["Location"]) == (303, page)
    with mode_context("live"):
        assert Invoice.objects.get(pk=second.pk).status == Invoice.Status.PAID
    assert len(connected_paystack.money_taken()) == 1


def test_an_invoice_3ds_approved_by_a_payer_who_never_comes_back_is_settled_by_the_sweep(
        acme, connected_paystack, settings):
    from checkout.invoice_pay import invoice_attempts_recover

    settings.DURO_PUBLIC_URL = "http://testserver"
    invoice = open_invoice(acme.merchant.id, mode="live")
    Client().post(f"/invoice/{invoice.hosted_token}", {
        "rail": "card", "card_number": "4084 0800 0000 0409", "card_expiry": "12/34",
        "card_cvc": "000"})
    [charge] = connected_paystack.at("POST", "/charge")[-1:]
    _through_the_bank(f"{connected_paystack.url}/bank/authorize/{charge.body['reference']}",
                      "approve")  # the bank approved; the payer never came back
    with mode_context("live"):
        invoice_attempts_recover(now=timezone.now() + timedelta(minutes=16))
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
        assert PaymentAttempt.objects.get(invoice=invoice).status == "succeeded"
    assert len(connected_paystack.money_taken()) == 1


def test_reloading_the_3ds_return_asks_the_processor_a_few_times_a_minute_at_most(
        live_api, connected_paystack, settings):
    """The return URL is public: reloading it (or a script) is answered from Duro's own
    state once the minute's asks are spent, and never becomes a stream of lookups on the
    merchant's key; the payer still lands on the page."""
    settings.DURO_PUBLIC_URL = "http://testserver"
    settings.DURO_STEP_LOOKUPS_PER_MINUTE = 3
    session = _session(live_api)
    asked = pay(APIClient(), session["token"], card=BANK_CARD).json()["data"]
    assert asked["step"] == "redirect"
    browser = Client()
    for _ in range(8):
        back = browser.get(f"/checkout/{session['token']}/return")
        assert (back.status_code, back["Location"]) == (303, f"/checkout/{session['token']}")
    lookups = [r for r in connected_paystack.requests
               if r.method == "GET" and r.path.startswith("/transaction/verify/")]
    assert len(lookups) == 3
    assert connected_paystack.money_taken() == []
