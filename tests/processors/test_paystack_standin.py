"""The stand-in itself speaks Paystack's documented protocol: raw HTTP, no client in between,
so that a test passing against it means something about Paystack."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from tests.worker import wait_for


@pytest.fixture
def call(paystack_standin):
    def send(method: str, path: str, body: dict | None = None, *, key: str | None = None):
        headers = {} if key == "" else {
            "Authorization": f"Bearer {key or paystack_standin.secret_key}"}
        return httpx.request(method, paystack_standin.url + path, json=body, headers=headers,
                             timeout=5)

    return send


def card_charge(reference: str = "pay-Std1", number: str = "4084084084084081", **extra):
    return {"email": "ada@example.com", "amount": 10_000, "reference": reference,
            "card": {"number": number, "cvv": "408", "expiry_month": "12",
                     "expiry_year": "2030"}, **extra}


def test_the_secret_is_a_bearer_token_and_a_wrong_one_is_a_401(call, paystack_standin):
    missing = call("GET", "/transaction/verify/pay-X", key="")
    wrong = call("POST", "/charge", card_charge(), key="sk_test_wrong")

    assert missing.status_code == 401
    assert missing.json() == {"status": False,
                              "message": "Format is Authorization: Bearer [secret key]"}
    assert (wrong.status_code, wrong.json()) == (401, {"status": False,
                                                       "message": "Invalid key"})
    assert paystack_standin.charges == {}


def test_a_charge_answers_in_paystacks_envelope(call):
    answer = call("POST", "/charge", card_charge())

    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["message"]) == (True, "Charge attempted")
    data = body["data"]
    assert (data["status"], data["reference"], data["amount"]) == ("success", "pay-Std1", 10_000)
    assert data["authorization"]["last4"] == "4081"
    assert data["authorization"]["reusable"] is True
    assert data["authorization"]["authorization_code"].startswith("AUTH_")


def test_a_reference_is_charged_once(call, paystack_standin):
    call("POST", "/charge", card_charge())

    again = call("POST", "/charge", card_charge(amount=99_999))

    assert again.status_code == 400
    assert again.json() == {"status": False, "message": "Duplicate Transaction Reference"}
    assert paystack_standin.charges["pay-Std1"].amount == 10_000
    assert len(paystack_standin.money_taken()) == 1


@pytest.mark.parametrize("change, message", [
    ({"email": ""}, "Email address is required"),
    ({"amount": 0}, "Invalid amount sent"),
    ({"amount": "ten"}, "Invalid amount sent"),
    ({"reference": "pay_Std1"}, "Invalid transaction reference"),
    ({"currency": "EUR"}, "Currency not supported"),
])
def test_invalid_requests_are_400s_with_a_message(call, paystack_standin, change, message):
    answer = call("POST", "/charge", {**card_charge(), **change})

    assert answer.status_code == 400
    assert answer.json()["status"] is False
    assert answer.json()["message"].startswith(message)
    assert paystack_standin.charges == {}


def test_a_charge_without_a_channel_or_with_a_bad_ussd_type_is_refused(call):
    no_channel = call("POST", "/charge", {"email": "a@b.co", "amount": 100})
    bad_ussd = call("POST", "/charge", {"email": "a@b.co", "amount": 100,
                                        "ussd": {"type": "123"}})

    assert no_channel.status_code == 400 and bad_ussd.status_code == 400
    assert bad_ussd.json()["message"] == "Invalid USSD type"


def test_verify_says_ongoing_while_the_payer_acts_and_reversed_after_a_full_refund(
        call, paystack_standin):
    call("POST", "/charge", card_charge(number="507850785078507812"))
    assert call("GET", "/transaction/verify/pay-Std1").json()["data"]["status"] == "ongoing"

    call("POST", "/charge/submit_pin", {"reference": "pay-Std1", "pin": "1111"})
    verified = call("GET", "/transaction/verify/pay-Std1").json()
    assert (verified["message"], verified["data"]["status"]) == ("Verification successful",
                                                                 "success")

    refund = call("POST", "/refund", {"transaction": "pay-Std1"}).json()
    assert (refund["message"], refund["data"]["status"]) == (
        "Refund has been queued for processing", "pending")
    assert call("GET", "/transaction/verify/pay-Std1").json()["data"]["status"] == "success"
    paystack_standin.refund_process(refund["data"]["id"])
    assert call("GET", "/transaction/verify/pay-Std1").json()["data"]["status"] == "reversed"


def test_refunds_never_exceed_the_charge_nor_refund_what_did_not_succeed(call):
    call("POST", "/charge", card_charge())
    call("POST", "/charge", card_charge(reference="pay-Std2", number="4084080000005408"))

    assert call("POST", "/refund", {"transaction": "pay-Std1", "amount": 6_000}).is_success
    too_much = call("POST", "/refund", {"transaction": "pay-Std1", "amount": 6_000})
    declined = call("POST", "/refund", {"transaction": "pay-Std2"})
    unknown = call("POST", "/refund", {"transaction": "pay-Nope"})

    assert too_much.status_code == 400 and too_much.json()["status"] is False
    assert declined.status_code == 400
    assert unknown.status_code == 404
    assert len(call("GET", "/refund").json()["data"]) == 1


def test_unknown_routes_and_references_answer_as_paystack_does(call, paystack_standin):
    assert call("GET", "/nowhere").status_code == 404
    assert call("GET", "/charge/pay-Nope").json() == {
        "status": False, "message": "Transaction reference is invalid"}
    assert call("GET", "/transaction/verify/pay-Nope").status_code == 400
    paystack_standin.unknown_status = 404
    assert call("GET", "/transaction/verify/pay-Nope").status_code == 404
    assert call("POST", "/transaction/charge_authorization", {
        "email": "a@b.co", "amount": 100, "authorization_code": "AUTH_nope"}).status_code == 400


def test_a_charge_that_succeeds_in_its_answer_is_announced_once_when_asked(
        call, paystack_standin, receiver):
    """Paystack posts charge.success for every charge that succeeds, after its answer; the
    stand-in does when ``events_for_answered_charges`` is on, once per charge."""
    paystack_standin.webhook_url = receiver.url("/paystack")
    call("POST", "/charge", card_charge("pay-Quiet"))  # off by default: nothing posted
    paystack_standin.events_for_answered_charges = True
    asked = call("POST", "/charge", card_charge("pay-Pin", number="507850785078507812"))
    assert asked.json()["data"]["status"] == "send_pin"
    call("POST", "/charge/submit_pin", {"reference": "pay-Pin", "pin": "1111"})
    call("GET", "/transaction/verify/pay-Pin")

    wait_for(lambda: paystack_standin.deliveries, message="the charge.success")
    [posted] = receiver.at("/paystack")
    signature = hmac.new(paystack_standin.secret_key.encode(), posted.body,
                         hashlib.sha512).hexdigest()
    assert posted.headers["x-paystack-signature"] == signature
    event = json.loads(posted.body)
    assert (event["event"], event["data"]["reference"]) == ("charge.success", "pay-Pin")
    assert paystack_standin.deliveries == [("charge.success", 200)]
