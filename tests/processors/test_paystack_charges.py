"""The Paystack client against the stand-in: every charge path answers in the rails' types,
and a lost answer never charges twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from billing.processors.paystack import (
    Paystack,
    ProcessorAuthError,
    ProcessorRejected,
    ProcessorUnavailable,
    our_id,
    processor_reference,
)
from duro.timestamps import iso

EMAIL = "ada@example.com"


def card(number: str, cvv: str = "408") -> dict:
    return {"number": number, "cvv": cvv, "expiry_month": "12", "expiry_year": "2030"}


def charge_card(client: Paystack, number: str, payment_id: str = "pay_Card1", **kwargs):
    return client.charge_card(payment_id=payment_id, amount=kwargs.pop("amount", 150_000),
                              currency="NGN", email=EMAIL, card=card(number), **kwargs)


def test_reference_is_the_payment_id_in_paystack_characters_and_back():
    assert processor_reference("pay_Abc123") == "pay-Abc123"
    assert our_id("pay-Abc123") == "pay_Abc123"
    assert our_id(processor_reference("re_Zz9")) == "re_Zz9"
    assert our_id("T685312322670591") is None  # a reference Duro did not make
    with pytest.raises(ValueError):
        processor_reference("pay_has-hyphen")


def test_a_card_that_succeeds_gives_its_card_and_a_reusable_authorization(paystack,
                                                                          paystack_standin):
    result = charge_card(paystack, "4084084084084081")

    assert result.status == "succeeded"
    assert result.reference == "pay-Card1"
    assert result.amount == 150_000
    assert (result.card.brand, result.card.last4) == ("visa", "4081")
    assert (result.card.exp_month, result.card.exp_year) == (12, 2030)
    assert result.authorization.startswith("AUTH_")
    sent = paystack_standin.at("POST", "/charge")[0]
    assert sent.headers["Authorization"] == f"Bearer {paystack_standin.secret_key}"
    assert sent.body["reference"] == "pay-Card1" and sent.body["amount"] == 150_000
    assert sent.body["metadata"]["duro_payment"] == "pay_Card1"


def test_a_declined_card_fails_with_the_banks_words(paystack):
    result = charge_card(paystack, "4084080000005408")

    assert result.status == "failed"
    assert result.failure_code == "declined"
    assert result.failure_message == "Declined"
    assert result.authorization == ""


def test_a_pin_card_asks_for_its_pin_then_succeeds(paystack):
    asked = charge_card(paystack, "507850785078507812")
    assert (asked.status, asked.extra["action"]) == ("requires_action", "pin")

    result = paystack.submit_pin(payment_id="pay_Card1", pin="1111")

    assert result.status == "succeeded"
    assert result.authorization  # this card is reusable


def test_a_pin_and_otp_card_takes_both_steps_and_a_wrong_otp_fails_it(paystack):
    assert charge_card(paystack, "5060666666666666666").extra["action"] == "pin"
    otp = paystack.submit_pin(payment_id="pay_Card1", pin="1234")
    assert (otp.status, otp.extra["action"]) == ("requires_action", "otp")
    assert otp.extra["displayText"]
    assert paystack.submit_otp(payment_id="pay_Card1", otp="123456").status == "succeeded"

    charge_card(paystack, "5060666666666666666", payment_id="pay_Card2")
    paystack.submit_pin(payment_id="pay_Card2", pin="1234")
    wrong = paystack.submit_otp(payment_id="pay_Card2", otp="000000")
    assert wrong.status == "failed"


def test_a_wrong_pin_fails_the_charge(paystack):
    charge_card(paystack, "507850785078507812")
    assert paystack.submit_pin(payment_id="pay_Card1", pin="9999").status == "failed"


def test_3d_secure_answers_a_redirect_and_is_polled_until_the_bank_says(paystack,
                                                                       paystack_standin):
    asked = charge_card(paystack, "4084080000000409")

    assert asked.status == "requires_action"
    assert asked.extra["action"] == "redirect"
    assert asked.extra["url"].startswith(paystack_standin.url)
    assert paystack.charge_status(payment_id="pay_Card1").status == "requires_action"
    assert paystack.verify(payment_id="pay_Card1").status == "processing"  # "ongoing"

    paystack_standin.complete("pay-Card1")  # the payer passed the bank's page

    assert paystack.charge_status(payment_id="pay_Card1").status == "succeeded"
    assert paystack.verify(payment_id="pay_Card1").status == "succeeded"


def test_a_pending_charge_is_processing_until_verify_says_otherwise(paystack, paystack_standin):
    assert charge_card(paystack, "506066506066506067").status == "processing"
    assert paystack.verify(payment_id="pay_Card1").status == "processing"

    paystack_standin.complete("pay-Card1")
    assert paystack.verify(payment_id="pay_Card1").status == "succeeded"

    charge_card(paystack, "506066506066506067", payment_id="pay_Card2")
    paystack_standin.fail("pay-Card2", "Issuer not available")
    failed = paystack.verify(payment_id="pay_Card2")
    assert (failed.status, failed.failure_message) == ("failed", "Issuer not available")


def test_a_renewal_charges_the_saved_authorization(paystack, paystack_standin):
    first = charge_card(paystack, "4084084084084081")

    renewal = paystack.charge_authorization(
        payment_id="pay_Renew1", amount=150_000, currency="NGN", email=EMAIL,
        authorization_code=first.authorization)

    assert renewal.status == "succeeded"
    assert renewal.reference == "pay-Renew1"
    assert renewal.card.last4 == "4081"
    assert len(paystack_standin.money_taken()) == 2

    paystack_standin.decline_authorization(first.authorization)
    declined = paystack.charge_authorization(
        payment_id="pay_Renew2", amount=150_000, currency="NGN", email=EMAIL,
        authorization_code=first.authorization)
    assert (declined.status, declined.failure_message) == ("failed", "Insufficient Funds")

    with pytest.raises(ProcessorRejected):
        paystack.charge_authorization(payment_id="pay_Renew3", amount=150_000, currency="NGN",
                                      email=EMAIL, authorization_code="AUTH_unknown")


def test_a_bank_transfer_answers_the_account_as_the_sandbox_rail_does(paystack,
                                                                      paystack_standin):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)

    result = paystack.charge_bank_transfer(payment_id="pay_Tr1", amount=1_500_000,
                                           currency="NGN", email=EMAIL, expires_at=expires)

    assert result.status == "processing"
    transfer = result.extra["instructions"]["transfer"]
    assert set(transfer) == {"bankName", "accountNumber", "accountName", "amount", "currency",
                             "expiresAt"}
    assert transfer["bankName"] == "Test Bank"
    assert len(transfer["accountNumber"]) == 10
    assert (transfer["amount"], transfer["currency"]) == (1_500_000, "NGN")
    assert transfer["expiresAt"] == iso(expires)
    sent = paystack_standin.at("POST", "/charge")[0].body
    assert sent["bank_transfer"] == {"account_expires_at": iso(expires)}
    assert paystack.verify(payment_id="pay_Tr1").status == "processing"


def test_ussd_answers_the_code_to_dial_and_refuses_a_bank_paystack_lacks(paystack,
                                                                        paystack_standin):
    result = paystack.charge_ussd(payment_id="pay_Us1", amount=50_000, currency="NGN",
                                  email=EMAIL, bank="737")

    assert result.status == "processing"
    ussd = result.extra["instructions"]["ussd"]
    assert ussd["code"].startswith("*737*") and ussd["code"].endswith("#")
    assert ussd["bankCode"] == "737" and "expiresAt" in ussd
    assert paystack_standin.at("POST", "/charge")[0].body["ussd"] == {"type": "737"}

    with pytest.raises(ProcessorRejected) as refused:
        paystack.charge_ussd(payment_id="pay_Us2", amount=50_000, currency="NGN",
                             email=EMAIL, bank="894")
    assert refused.value.code == "ussd_bank_unsupported"
    assert len(paystack_standin.at("POST", "/charge")) == 1  # nothing was sent


def test_mobile_money_uses_paystacks_provider_names_and_vodafone_asks_a_voucher(
        paystack, paystack_standin):
    mtn = paystack.charge_mobile_money(payment_id="pay_Mo1", amount=15_000, currency="GHS",
                                       email=EMAIL, phone="+233241234567", provider="mtn")
    assert mtn.status == "processing"
    shown = mtn.extra["instructions"]["mobileMoney"]
    assert shown["instructions"] and shown["provider"] == "mtn"

    voda = paystack.charge_mobile_money(payment_id="pay_Mo2", amount=15_000, currency="GHS",
                                        email=EMAIL, phone="+233201234567",
                                        provider="vodafone")
    assert (voda.status, voda.extra["action"]) == ("requires_action", "otp")
    assert "voucher" in voda.extra["displayText"]
    assert paystack.submit_otp(payment_id="pay_Mo2", otp="482913").status == "processing"

    sent = [r.body["mobile_money"]["provider"] for r in paystack_standin.at("POST", "/charge")]
    assert sent == ["mtn", "vod"]

    mpesa = paystack.charge_mobile_money(payment_id="pay_Mo3", amount=15_000, currency="KES",
                                         email=EMAIL, phone="+254712345678", provider="mpesa")
    assert mpesa.status == "processing"
    with pytest.raises(ProcessorRejected):  # M-Pesa is Kenya's: the stand-in refuses GHS
        paystack.charge_mobile_money(payment_id="pay_Mo4", amount=15_000, currency="GHS",
                                     email=EMAIL, phone="+254712345678", provider="mpesa")


@pytest.mark.parametrize("status", [400, 404])
def test_verify_of_a_reference_paystack_never_saw_is_none(paystack, paystack_standin, status):
    paystack_standin.unknown_status = status

    assert paystack.verify(payment_id="pay_Never") is None
    assert paystack_standin.at("GET", "/transaction/verify/pay-Never")


def test_a_wrong_secret_raises_an_auth_error_never_an_outcome(paystack_standin):
    wrong = Paystack("sk_test_wrong", base_url=paystack_standin.url, timeout=2)

    with pytest.raises(ProcessorAuthError):
        charge_card(wrong, "4084084084084081")
    with pytest.raises(ProcessorAuthError):
        wrong.verify(payment_id="pay_Card1")
    assert paystack_standin.money_taken() == []


def test_an_invalid_key_answered_with_a_400_is_an_auth_error_not_unseen(paystack, paystack_standin):
    """Paystack's documented verify error for a bad key is a 400 "Invalid key": read as
    "never seen" it would let the caller charge again; it is an auth error."""
    paystack_standin.fail_next("/transaction/verify/", 400, method="GET",
                               message="Invalid key")

    with pytest.raises(ProcessorAuthError):
        paystack.verify(payment_id="pay_Card1")


def test_a_429_is_unavailable_not_a_refusal(paystack, paystack_standin):
    paystack_standin.fail_next("/charge", 429, message="Too many requests")

    with pytest.raises(ProcessorUnavailable):
        charge_card(paystack, "4084084084084081")


def test_a_time_out_mid_charge_raises_unavailable_and_the_charge_is_found_once(
        paystack_standin):
    client = Paystack(paystack_standin.secret_key, base_url=paystack_standin.url, timeout=0.5)
    paystack_standin.hang_next("/charge", 2.0)  # the charge is made; its answer comes late

    with pytest.raises(ProcessorUnavailable) as lost:
        charge_card(client, "4084084084084081")
    assert lost.value.code == "processor_timeout"

    found = client.verify(payment_id="pay_Card1")
    assert found.status == "succeeded"
    again = charge_card(client, "4084084084084081")  # the pay retried: Paystack refuses the
    assert again.status == "succeeded"               # reused reference, the client reads it
    assert len(paystack_standin.at("POST", "/charge")) == 2
    assert [c.reference for c in paystack_standin.money_taken()] == ["pay-Card1"]


def test_a_5xx_raises_unavailable_and_nothing_was_charged(paystack, paystack_standin):
    paystack_standin.fail_next("/charge", 503)

    with pytest.raises(ProcessorUnavailable) as lost:
        charge_card(paystack, "4084084084084081")

    assert lost.value.status == 503
    assert paystack.verify(payment_id="pay_Card1") is None
    assert charge_card(paystack, "4084084084084081").status == "succeeded"
    assert len(paystack_standin.money_taken()) == 1

    with pytest.raises(ProcessorUnavailable):  # Paystack's "500 error" test card
        charge_card(paystack, "5060660000000064", payment_id="pay_Card2")


def test_an_unreachable_paystack_is_unavailable(paystack_standin):
    url = paystack_standin.url
    paystack_standin.close()

    with pytest.raises(ProcessorUnavailable) as lost:
        Paystack("sk_test_x", base_url=url, timeout=1).verify(payment_id="pay_Card1")
    assert lost.value.code == "processor_unreachable"


def test_neither_the_card_number_nor_the_secret_reaches_a_log(paystack, caplog):
    caplog.set_level(logging.DEBUG)

    charge_card(paystack, "4084084084084081")
    paystack.verify(payment_id="pay_Card1")

    assert "4084084084084081" not in caplog.text
    assert paystack._secret not in caplog.text
    assert paystack._secret not in repr(paystack)
