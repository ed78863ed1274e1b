"""The stand-in itself speaks Flutterwave's documented v3 protocol: raw HTTP, no client in
between, so that a test passing against it means something about Flutterwave."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes


@pytest.fixture
def call(flutterwave_standin):
    def send(method: str, path: str, body: dict | None = None, *, key: str | None = None,
             params: dict | None = None):
        headers = {} if key == "" else {
            "Authorization": f"Bearer {key or flutterwave_standin.secret_key}"}
        return httpx.request(method, flutterwave_standin.url + path, json=body,
                             headers=headers, params=params, timeout=5)

    return send


def encrypted(key: str, payload: dict) -> str:
    """As Flutterwave's encryption guide does it (here written once more, by hand)."""
    padder = padding.PKCS7(64).padder()
    data = padder.update(json.dumps(payload).encode()) + padder.finalize()
    encryptor = Cipher(TripleDES(key.encode()), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def card_payload(tx_ref: str = "pay_Std1", number: str = "5061460166976054667", **extra):
    return {"card_number": number, "cvv": "564", "expiry_month": "10", "expiry_year": "29",
            "currency": "NGN", "amount": "100", "email": "ada@example.com", "tx_ref": tx_ref,
            **extra}


def test_the_secret_is_a_bearer_token_and_a_wrong_one_is_a_401(call, flutterwave_standin):
    missing = call("GET", "/v3/transactions/verify_by_reference", key="",
                   params={"tx_ref": "pay_X"})
    wrong = call("POST", "/v3/charges?type=ussd", {"tx_ref": "pay_X"}, key="FLWSECK-wrong")

    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.json() == {"status": "error", "message": "Invalid authorization key",
                                 "data": None}
    assert flutterwave_standin.transactions == {}


def test_a_card_charge_is_read_from_its_encrypted_client_field(call, flutterwave_standin):
    key = flutterwave_standin.encryption_key
    answer = call("POST", "/v3/charges?type=card", {"client": encrypted(key, card_payload())})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["message"]) == ("success", "Charge initiated")
    data = body["data"]
    assert (data["status"], data["tx_ref"], data["amount"]) == ("successful", "pay_Std1", 100)
    assert data["card"]["last_4digits"] == "4667"
    assert data["card"]["token"].startswith("flw-t1nf-")

    plain = call("POST", "/v3/charges?type=card", card_payload(tx_ref="pay_Std2"))
    assert plain.status_code == 400  # a card is never taken in the clear
    assert plain.json()["status"] == "error"


def test_a_pin_card_names_its_authorization_and_makes_nothing_until_given(
        call, flutterwave_standin):
    key = flutterwave_standin.encryption_key
    first = call("POST", "/v3/charges?type=card",
                 {"client": encrypted(key, card_payload(number="5531886652142950"))}).json()

    assert first == {"status": "success", "message": "Charge authorization data required",
                     "meta": {"authorization": {"mode": "pin", "fields": ["pin"]}}}
    assert flutterwave_standin.transactions == {}

    with_pin = call("POST", "/v3/charges?type=card", {"client": encrypted(key, card_payload(
        number="5531886652142950", authorization={"mode": "pin", "pin": "3310"}))}).json()
    assert with_pin["data"]["status"] == "pending"
    assert with_pin["meta"]["authorization"] == {"mode": "otp",
                                                 "endpoint": "/v3/validate-charge"}

    validated = call("POST", "/v3/validate-charge", {
        "otp": "12345", "flw_ref": with_pin["data"]["flw_ref"], "type": "card"}).json()
    assert (validated["message"], validated["data"]["status"]) == ("Charge validated",
                                                                   "successful")


def test_a_tx_ref_is_charged_once(call, flutterwave_standin):
    call("POST", "/v3/charges?type=ussd", {"tx_ref": "pay_Std1", "account_bank": "058",
                                           "amount": 100, "currency": "NGN",
                                           "email": "a@b.co"})

    again = call("POST", "/v3/charges?type=ussd", {"tx_ref": "pay_Std1", "account_bank": "058",
                                                   "amount": 999, "currency": "NGN",
                                                   "email": "a@b.co"})

    assert again.status_code == 400
    assert again.json() == {"status": "error", "message": "Duplicate transaction reference",
                            "data": None}
    assert flutterwave_standin.transactions["pay_Std1"].amount == 100


@pytest.mark.parametrize("change, message", [
    ({"email": ""}, "email is required"),
    ({"amount": 0}, "amount is required"),
    ({"amount": "ten"}, "amount is required"),
    ({"tx_ref": ""}, "tx_ref is required"),
    ({"currency": "GHS"}, "Invalid currency"),
    ({"account_bank": "999"}, "Invalid account_bank"),
])
def test_invalid_requests_are_400s_with_a_message(call, flutterwave_standin, change, message):
    body = {"tx_ref": "pay_Std1", "account_bank": "058", "amount": 100, "currency": "NGN",
            "email": "a@b.co", **change}

    answer = call("POST", "/v3/charges?type=ussd", body)

    assert answer.status_code == 400
    assert answer.json()["status"] == "error" and answer.json()["data"] is None
    assert answer.json()["message"].startswith(message)
    assert flutterwave_standin.transactions == {}


def test_transfer_and_ussd_answer_their_details_under_meta_authorization(call):
    transfer = call("POST", "/v3/charges?type=bank_transfer", {
        "tx_ref": "pay_Tr1", "amount": "1500.50", "currency": "NGN",
        "email": "a@b.co"}).json()
    ussd = call("POST", "/v3/charges?type=ussd", {
        "tx_ref": "pay_Us1", "account_bank": "057", "amount": 100, "currency": "NGN",
        "email": "a@b.co"}).json()

    account = transfer["meta"]["authorization"]
    assert account["mode"] == "banktransfer"
    assert set(account) >= {"transfer_account", "transfer_bank", "account_expiration",
                            "transfer_amount", "transfer_reference"}
    assert account["transfer_amount"] == "1500.50"
    assert ussd["meta"]["authorization"]["mode"] == "ussd"
    assert ussd["meta"]["authorization"]["note"].startswith("*889*")
    assert ussd["data"]["status"] == "pending"


def test_verify_by_id_and_by_reference_and_unknown_ones(call, flutterwave_standin):
    made = call("POST", "/v3/charges?type=mpesa", {
        "tx_ref": "pay_Mp1", "amount": 10, "currency": "KES", "email": "a@b.co",
        "phone_number": "254712345678"}).json()["data"]

    by_id = call("GET", f"/v3/transactions/{made['id']}/verify").json()
    by_ref = call("GET", "/v3/transactions/verify_by_reference",
                  params={"tx_ref": "pay_Mp1"}).json()
    assert by_id["message"] == "Transaction fetched successfully"
    assert by_id["data"] == by_ref["data"]
    assert by_id["data"]["status"] == "pending"

    unknown = call("GET", "/v3/transactions/1/verify")
    assert (unknown.status_code, unknown.json()["status"]) == (400, "error")
    flutterwave_standin.unknown_status = 404
    assert call("GET", "/v3/transactions/verify_by_reference",
                params={"tx_ref": "pay_Nope"}).status_code == 404
    assert call("GET", "/v3/nowhere").status_code == 404


def test_refunds_never_exceed_the_charge_nor_refund_what_did_not_succeed(
        call, flutterwave_standin):
    key = flutterwave_standin.encryption_key
    paid = call("POST", "/v3/charges?type=card",
                {"client": encrypted(key, card_payload())}).json()["data"]
    pending = call("POST", "/v3/charges?type=ussd", {
        "tx_ref": "pay_Us1", "account_bank": "057", "amount": 100, "currency": "NGN",
        "email": "a@b.co"}).json()["data"]

    first = call("POST", f"/v3/transactions/{paid['id']}/refund",
                 {"amount": "60.00", "comments": "partly"})
    too_much = call("POST", f"/v3/transactions/{paid['id']}/refund", {"amount": 60})
    not_paid = call("POST", f"/v3/transactions/{pending['id']}/refund", {})
    unknown = call("POST", "/v3/transactions/1/refund", {})

    assert first.json()["data"]["amount_refunded"] == 60
    assert first.json()["data"]["status"] == "pending"
    assert too_much.status_code == 400 and too_much.json()["status"] == "error"
    assert not_paid.status_code == 400
    assert unknown.status_code == 404
    listed = call("GET", "/v3/refunds", params={"id": paid["id"]}).json()["data"]
    assert [r["comments"] for r in listed] == ["partly"]
    assert flutterwave_standin.transactions["pay_Std1"].refunded == Decimal(60)
