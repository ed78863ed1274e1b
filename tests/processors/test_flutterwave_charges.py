"""The Flutterwave client against the stand-in: every charge path answers in the rails'
types, amounts cross in major units exactly, and a lost answer never charges twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.processors.errors import ProcessorError
from billing.processors.flutterwave import (
    Flutterwave,
    ProcessorAuthError,
    ProcessorRejected,
    ProcessorUnavailable,
    encrypt,
    our_id,
    processor_reference,
    to_major,
    to_minor,
)
from billing.processors.paystack import ProcessorError as PaystackProcessorError
from duro.timestamps import iso
from tests.standins.flutterwave import decrypt

EMAIL = "ada@example.com"
PIN_CARD = "5531886652142950"
NOAUTH_CARD = "5061460166976054667"


def card(number: str, cvv: str = "564") -> dict:
    return {"number": number, "cvv": cvv, "expiry_month": "9", "expiry_year": "2032"}


def charge_card(client: Flutterwave, number: str, payment_id: str = "pay_Card1", **kwargs):
    return client.charge_card(payment_id=payment_id, amount=kwargs.pop("amount", 150_000),
                              currency="NGN", email=EMAIL, card=card(number), **kwargs)


def pin(client: Flutterwave, number: str = PIN_CARD, payment_id: str = "pay_Card1",
        code: str = "3310"):
    return client.submit_pin(payment_id=payment_id, pin=code, amount=150_000, currency="NGN",
                             email=EMAIL, card=card(number))


# --- amounts, references, encryption ------------------------------------------------------

def test_minor_units_cross_as_exact_major_units_and_back():
    assert to_major(1_500_001, "NGN") == Decimal("15000.01")
    assert str(to_major(1_500_001, "NGN")) == "15000.01"
    assert to_minor(to_major(1_500_001, "NGN"), "NGN") == 1_500_001
    assert to_major(100, "GHS") == Decimal("1.00")
    assert to_minor("15000.01", "KES") == 1_500_001
    assert to_minor(15000, "NGN") == 1_500_000
    assert to_minor(Decimal("0.29"), "USD") == 29  # 0.29 * 100 as a float is 28.999…
    assert to_minor(Decimal("1.405"), "NGN") == 140  # beyond kobo: never more than arrived
    assert to_minor(None, "NGN") is None and to_minor("n/a", "NGN") is None
    with pytest.raises(TypeError):
        to_minor(15000.01, "NGN")  # a float is refused, never rounded silently
    with pytest.raises(TypeError):
        to_major(150.5, "NGN")  # type: ignore[arg-type]


def test_an_amount_reaches_flutterwave_and_comes_back_to_the_kobo(flutterwave,
                                                                  flutterwave_standin):
    result = charge_card(flutterwave, NOAUTH_CARD, amount=1_500_001)

    assert result.status == "succeeded"
    assert result.amount == 1_500_001
    sent = flutterwave_standin.at("POST", "/v3/charges")[0]
    assert sent.decrypted["amount"] == Decimal("15000.01")
    assert flutterwave_standin.transactions["pay_Card1"].amount == Decimal("15000.01")
    assert flutterwave.verify(payment_id="pay_Card1").amount == 1_500_001


def test_the_reference_is_the_payment_id_itself():
    assert processor_reference("pay_Abc123") == "pay_Abc123"
    assert our_id("pay_Abc123") == "pay_Abc123"
    assert our_id("MC-1585230950508") is None  # a tx_ref Duro did not make
    assert our_id("") is None
    with pytest.raises(ValueError):
        processor_reference("pay_has-hyphen")


def test_the_card_payload_is_3des_encrypted_as_flutterwaves_guide_says():
    key = "FLWSECK_TESTabcdef012345"
    payload = {"card_number": "5531886652142950", "amount": Decimal("1500.01")}

    # What `openssl enc -des-ede3` (PHP's openssl_encrypt 'DES-EDE3', the guide's
    # example) makes of the same JSON under the same key.
    assert encrypt(key, payload) == (
        "n7wD+6k1b2ZikbGcrx/3W98AE4CcmDrKNrQ3/EDD6HaIH4MRoBRIrL8vox/30kTtEJbWAzzn1gg=")
    assert decrypt(key, encrypt(key, payload)) == payload
    with pytest.raises(ValueError):
        encrypt("too-short", payload)


def test_the_failures_are_the_same_classes_as_paystacks():
    assert ProcessorError is PaystackProcessorError
    assert issubclass(ProcessorRejected, ProcessorError)


# --- cards --------------------------------------------------------------------------------

def test_a_card_without_authentication_succeeds_with_its_card_and_token(flutterwave,
                                                                        flutterwave_standin):
    result = charge_card(flutterwave, NOAUTH_CARD)

    assert result.status == "succeeded"
    assert result.reference == "pay_Card1"
    assert (result.card.brand, result.card.last4) == ("mastercard", "4667")
    assert (result.card.exp_month, result.card.exp_year) == (9, 2032)
    assert result.authorization.startswith("flw-t1nf-")
    sent = flutterwave_standin.at("POST", "/v3/charges")[0]
    assert sent.query == {"type": ["card"]}
    assert set(sent.body) == {"client"}  # nothing readable but the ciphertext
    assert NOAUTH_CARD not in str(sent.body)
    assert sent.headers["Authorization"] == f"Bearer {flutterwave_standin.secret_key}"
    assert sent.decrypted["tx_ref"] == "pay_Card1"
    assert (sent.decrypted["expiry_month"], sent.decrypted["expiry_year"]) == ("09", "32")
    assert sent.decrypted["meta"]["duro_payment"] == "pay_Card1"


def test_a_pin_card_asks_for_the_pin_then_the_otp_then_succeeds(flutterwave,
                                                                 flutterwave_standin):
    asked = charge_card(flutterwave, PIN_CARD)
    assert (asked.status, asked.extra["action"]) == ("requires_action", "pin")
    assert flutterwave_standin.transactions == {}  # nothing is made before the PIN

    otp = pin(flutterwave)
    assert (otp.status, otp.extra["action"]) == ("requires_action", "otp")
    assert "OTP" in otp.extra["displayText"]
    sent = flutterwave_standin.at("POST", "/v3/charges")[1].decrypted
    assert sent["authorization"] == {"mode": "pin", "pin": "3310"}

    result = flutterwave.submit_otp(payment_id="pay_Card1", otp="12345")

    assert result.status == "succeeded"
    assert result.authorization
    validated = flutterwave_standin.at("POST", "/v3/validate-charge")[0].body
    assert validated == {"otp": "12345", "type": "card",
                         "flw_ref": flutterwave_standin.transactions["pay_Card1"].flw_ref}


def test_a_wrong_pin_fails_and_a_wrong_otp_is_refused_without_failing(flutterwave):
    charge_card(flutterwave, PIN_CARD)
    wrong = pin(flutterwave, code="0000")
    assert (wrong.status, wrong.failure_message) == ("failed", "Incorrect PIN")

    charge_card(flutterwave, PIN_CARD, payment_id="pay_Card2")
    pin(flutterwave, payment_id="pay_Card2")
    with pytest.raises(ProcessorRejected) as refused:
        flutterwave.submit_otp(payment_id="pay_Card2", otp="99999")
    assert refused.value.message == "Invalid OTP"
    assert flutterwave.submit_otp(payment_id="pay_Card2", otp="12345").status == "succeeded"


def test_an_insufficient_funds_card_fails_after_its_otp(flutterwave):
    charge_card(flutterwave, "5258585922666506")
    pin(flutterwave, number="5258585922666506")

    result = flutterwave.submit_otp(payment_id="pay_Card1", otp="12345")

    assert (result.status, result.failure_code) == ("failed", "declined")
    assert result.failure_message == "Insufficient funds"


def test_a_declined_card_fails_with_the_banks_words(flutterwave):
    result = charge_card(flutterwave, "5143010522339965")

    assert (result.status, result.failure_message) == ("failed", "Do not honour")
    assert result.authorization == ""


def test_3d_secure_answers_a_redirect_and_is_polled_until_the_bank_says(flutterwave,
                                                                       flutterwave_standin):
    asked = charge_card(flutterwave, "4187427415564246")

    assert (asked.status, asked.extra["action"]) == ("requires_action", "redirect")
    assert asked.extra["url"].startswith(flutterwave_standin.url)
    assert flutterwave.charge_status(payment_id="pay_Card1").status == "processing"

    flutterwave_standin.complete("pay_Card1")  # the payer passed the bank's page

    assert flutterwave.charge_status(payment_id="pay_Card1").status == "succeeded"
    with pytest.raises(ProcessorRejected):
        flutterwave.charge_status(payment_id="pay_Never")


def test_address_verification_asks_for_the_address_then_redirects(flutterwave,
                                                                 flutterwave_standin):
    asked = charge_card(flutterwave, "4556052704172643")

    assert (asked.status, asked.extra["action"]) == ("requires_action", "address")
    assert asked.extra["fields"] == ["city", "address", "state", "country", "zipcode"]

    address = {"city": "Lagos", "address": "1 Admiralty Way", "state": "Lagos",
               "country": "NG", "zipcode": "100001"}
    redirected = charge_card(flutterwave, "4556052704172643", address=address)

    assert redirected.extra["action"] == "redirect"
    sent = flutterwave_standin.at("POST", "/v3/charges")[1].decrypted
    assert sent["authorization"] == {"mode": "avs_noauth", **address}


def test_a_card_charge_needs_the_encryption_key(flutterwave_standin):
    keyless = Flutterwave(flutterwave_standin.secret_key, base_url=flutterwave_standin.url)

    with pytest.raises(ProcessorRejected) as refused:
        charge_card(keyless, NOAUTH_CARD)
    assert refused.value.code == "encryption_key_missing"
    assert flutterwave_standin.requests == []

    wrong = Flutterwave(flutterwave_standin.secret_key, base_url=flutterwave_standin.url,
                        encryption_key="FLWSECK_TESTwrongkey0000")
    with pytest.raises(ProcessorRejected) as unreadable:
        charge_card(wrong, NOAUTH_CARD)
    assert unreadable.value.status == 400


def test_a_renewal_charges_the_saved_token(flutterwave, flutterwave_standin):
    first = charge_card(flutterwave, NOAUTH_CARD)

    renewal = flutterwave.charge_authorization(
        payment_id="pay_Renew1", amount=150_000, currency="NGN", email=EMAIL,
        authorization_code=first.authorization)

    assert renewal.status == "succeeded"
    assert (renewal.reference, renewal.amount) == ("pay_Renew1", 150_000)
    assert renewal.card.last4 == "4667"
    sent = flutterwave_standin.at("POST", "/v3/tokenized-charges")[0].body
    assert (sent["token"], sent["amount"], sent["tx_ref"]) == (
        first.authorization, Decimal("1500.00"), "pay_Renew1")
    assert len(flutterwave_standin.money_taken()) == 2

    flutterwave_standin.decline_token(first.authorization)
    declined = flutterwave.charge_authorization(
        payment_id="pay_Renew2", amount=150_000, currency="NGN", email=EMAIL,
        authorization_code=first.authorization)
    assert (declined.status, declined.failure_message) == ("failed", "Insufficient funds")

    with pytest.raises(ProcessorRejected):
        flutterwave.charge_authorization(payment_id="pay_Renew3", amount=150_000,
                                         currency="NGN", email=EMAIL,
                                         authorization_code="flw-t1nf-unknown")


# --- transfer, USSD, mobile money -----------------------------------------------------------

def test_a_bank_transfer_answers_the_account_as_the_sandbox_rail_does(flutterwave,
                                                                      flutterwave_standin):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)

    result = flutterwave.charge_bank_transfer(payment_id="pay_Tr1", amount=1_500_001,
                                              currency="NGN", email=EMAIL, expires_at=expires)

    assert result.status == "processing"
    assert result.reference == "pay_Tr1"
    transfer = result.extra["instructions"]["transfer"]
    assert set(transfer) == {"bankName", "accountNumber", "accountName", "amount", "currency",
                             "expiresAt"}
    assert transfer["bankName"] == "Mock Bank"
    assert len(transfer["accountNumber"]) == 10
    assert (transfer["amount"], transfer["currency"]) == (1_500_001, "NGN")
    assert transfer["expiresAt"].endswith("Z")  # Flutterwave's own expiry (epoch ms)
    sent = flutterwave_standin.at("POST", "/v3/charges")[0]
    assert sent.query == {"type": ["bank_transfer"]}
    assert sent.body["amount"] == Decimal("15000.01")
    assert flutterwave.verify(payment_id="pay_Tr1").status == "processing"


def test_ussd_answers_the_code_to_dial_and_refuses_a_bank_flutterwave_lacks(
        flutterwave, flutterwave_standin):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    result = flutterwave.charge_ussd(payment_id="pay_Us1", amount=50_000, currency="NGN",
                                     email=EMAIL, bank="737", expires_at=expires)

    assert result.status == "processing"
    ussd = result.extra["instructions"]["ussd"]
    assert ussd["code"].startswith("*889*") and ussd["code"].endswith("#")
    assert ussd["code"] in ussd["displayText"]
    assert (ussd["bankCode"], ussd["expiresAt"]) == ("737", iso(expires))
    sent = flutterwave_standin.at("POST", "/v3/charges")[0]
    assert (sent.query, sent.body["account_bank"]) == ({"type": ["ussd"]}, "058")  # GTBank

    with pytest.raises(ProcessorRejected) as refused:
        flutterwave.charge_ussd(payment_id="pay_Us2", amount=50_000, currency="NGN",
                                email=EMAIL, bank="999")
    assert refused.value.code == "ussd_bank_unsupported"
    assert len(flutterwave_standin.at("POST", "/v3/charges")) == 1  # nothing was sent


def test_ghana_mobile_money_redirects_and_mpesa_prompts_the_phone(flutterwave,
                                                                  flutterwave_standin):
    mtn = flutterwave.charge_mobile_money(payment_id="pay_Mo1", amount=15_000,
                                          currency="GHS", email=EMAIL,
                                          phone="233241234567", provider="mtn")
    assert (mtn.status, mtn.extra["action"]) == ("requires_action", "redirect")
    assert mtn.extra["url"].startswith(flutterwave_standin.url)

    flutterwave.charge_mobile_money(payment_id="pay_Mo2", amount=15_000, currency="GHS",
                                    email=EMAIL, phone="233201234567", provider="vodafone",
                                    voucher="482913")
    flutterwave.charge_mobile_money(payment_id="pay_Mo3", amount=15_000, currency="GHS",
                                    email=EMAIL, phone="233271234567", provider="airteltigo")
    mpesa = flutterwave.charge_mobile_money(payment_id="pay_Mo4", amount=15_000,
                                            currency="KES", email=EMAIL,
                                            phone="254712345678", provider="mpesa")
    assert mpesa.status == "processing"
    shown = mpesa.extra["instructions"]["mobileMoney"]
    assert (shown["provider"], shown["phone"]) == ("mpesa", "254712345678")
    assert shown["instructions"]

    sent = flutterwave_standin.at("POST", "/v3/charges")
    assert [(r.query["type"][0], r.body.get("network")) for r in sent] == [
        ("mobile_money_ghana", "MTN"), ("mobile_money_ghana", "VODAFONE"),
        ("mobile_money_ghana", "TIGO"), ("mpesa", None)]
    assert sent[1].body["voucher"] == "482913"
    with pytest.raises(ProcessorRejected):  # M-Pesa is Kenya's: the stand-in refuses GHS
        flutterwave.charge_mobile_money(payment_id="pay_Mo5", amount=15_000, currency="GHS",
                                        email=EMAIL, phone="254712345678", provider="mpesa")
    with pytest.raises(ProcessorRejected) as unknown:
        flutterwave.charge_mobile_money(payment_id="pay_Mo6", amount=15_000, currency="GHS",
                                        email=EMAIL, phone="233241234567", provider="orange")
    assert unknown.value.code == "provider_unsupported"


# --- lookups and failures ------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 404])
def test_a_payment_flutterwave_never_saw_is_none(flutterwave, flutterwave_standin, status):
    flutterwave_standin.unknown_status = status

    assert flutterwave.verify(payment_id="pay_Never") is None
    assert flutterwave.verify_transaction(transaction_id="123") is None
    asked = flutterwave_standin.at("GET", "/v3/transactions/verify_by_reference")[0]
    assert asked.query == {"tx_ref": ["pay_Never"]}


def test_verify_by_flutterwaves_id_reads_the_transaction(flutterwave, flutterwave_standin):
    charge_card(flutterwave, NOAUTH_CARD)
    identifier = flutterwave_standin.transactions["pay_Card1"].id

    found = flutterwave.verify_transaction(transaction_id=str(identifier))

    assert (found.status, found.reference, found.amount) == ("succeeded", "pay_Card1", 150_000)
    with pytest.raises(ValueError):  # not an id: never put in a path
        flutterwave.verify_transaction(transaction_id="../refunds")


def test_a_wrong_secret_raises_an_auth_error_never_an_outcome(flutterwave_standin):
    wrong = Flutterwave("FLWSECK_TEST-wrong-X", base_url=flutterwave_standin.url, timeout=2,
                        encryption_key=flutterwave_standin.encryption_key)

    with pytest.raises(ProcessorAuthError):
        charge_card(wrong, NOAUTH_CARD)
    with pytest.raises(ProcessorAuthError):
        wrong.verify(payment_id="pay_Card1")
    assert flutterwave_standin.money_taken() == []


def test_a_429_is_unavailable_not_a_refusal(flutterwave, flutterwave_standin):
    flutterwave_standin.fail_next("/v3/charges", 429, message="Too many requests")

    with pytest.raises(ProcessorUnavailable):
        charge_card(flutterwave, NOAUTH_CARD)


def test_a_time_out_mid_charge_raises_unavailable_and_the_charge_is_found_once(
        flutterwave_standin):
    client = Flutterwave(flutterwave_standin.secret_key, base_url=flutterwave_standin.url,
                         timeout=0.5, encryption_key=flutterwave_standin.encryption_key)
    flutterwave_standin.hang_next("/v3/charges", 2.0)  # made; its answer comes late

    with pytest.raises(ProcessorUnavailable) as lost:
        charge_card(client, NOAUTH_CARD)
    assert lost.value.code == "processor_timeout"

    assert client.verify(payment_id="pay_Card1").status == "succeeded"
    again = charge_card(client, NOAUTH_CARD)  # the pay retried: Flutterwave refuses the
    assert again.status == "succeeded"        # reused tx_ref, the client reads the first
    assert len(flutterwave_standin.at("POST", "/v3/charges")) == 2
    assert [t.tx_ref for t in flutterwave_standin.money_taken()] == ["pay_Card1"]


def test_a_refusal_with_no_charge_behind_it_stays_a_refusal(flutterwave, flutterwave_standin):
    with pytest.raises(ProcessorRejected) as refused:
        flutterwave.charge_bank_transfer(payment_id="pay_Tr1", amount=1_000, currency="USD",
                                         email=EMAIL)  # transfers are NGN only

    assert refused.value.status == 400
    assert "currency" in refused.value.message
    assert flutterwave_standin.at("GET", "/v3/transactions/verify_by_reference")


def test_a_5xx_raises_unavailable_and_nothing_was_charged(flutterwave, flutterwave_standin):
    flutterwave_standin.fail_next("/v3/charges", 503)

    with pytest.raises(ProcessorUnavailable) as lost:
        charge_card(flutterwave, NOAUTH_CARD)

    assert lost.value.status == 503
    assert flutterwave.verify(payment_id="pay_Card1") is None
    assert charge_card(flutterwave, NOAUTH_CARD).status == "succeeded"
    assert len(flutterwave_standin.money_taken()) == 1


def test_an_unreachable_flutterwave_is_unavailable(flutterwave_standin):
    url = flutterwave_standin.url
    flutterwave_standin.close()

    with pytest.raises(ProcessorUnavailable) as lost:
        Flutterwave("FLWSECK_TEST-x-X", base_url=url, timeout=1).verify(payment_id="pay_Card1")
    assert lost.value.code == "processor_unreachable"


def test_neither_the_card_nor_the_keys_reach_a_log(flutterwave, caplog):
    caplog.set_level(logging.DEBUG)

    charge_card(flutterwave, NOAUTH_CARD)
    flutterwave.verify(payment_id="pay_Card1")

    assert NOAUTH_CARD not in caplog.text
    assert flutterwave._secret not in caplog.text
    assert flutterwave._encryption_key not in caplog.text
    assert flutterwave._secret not in repr(flutterwave)
    assert flutterwave._encryption_key not in repr(flutterwave)
