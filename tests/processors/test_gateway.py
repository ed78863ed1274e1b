"""The card rail's live protocol over a processor client, against the Paystack stand-in:
a pay, its OTP step, a decline, a lost answer resolved by lookup, a refund, a refused
secret, and the processor's PIN, OTP and 3-D Secure steps as the page's steps."""

import pytest

from billing.processors.gateway import Gateway
from billing.processors.paystack import Paystack
from billing.rails.base import RailError

CARD = {"number": "4084 0840 8408 4081", "cvc": "408", "exp_month": 12, "exp_year": 30,
        "email": "ada@example.com"}


@pytest.fixture
def gateway(paystack) -> Gateway:
    return Gateway(paystack)


def _card(number: str) -> dict:
    return {**CARD, "number": number}


def test_a_live_card_pay_succeeds_with_a_reusable_authorization(gateway, paystack_standin):
    result = gateway.charge(amount=150_000, currency="NGN", details=CARD,
                            idempotency_key="pay_Live1")
    assert result.status == "succeeded" and result.amount == 150_000
    assert result.card.last4 == "4081" and result.authorization.startswith("AUTH_")
    again = gateway.charge_authorization(amount=150_000, currency="NGN",
                                         authorization=result.authorization,
                                         idempotency_key="pay_Renew1", email="ada@example.com")
    assert again.status == "succeeded"
    assert len(paystack_standin.money_taken()) == 2


def test_the_processors_steps_are_the_pages_and_others_are_declined(gateway,
                                                                     paystack_standin):
    from billing.processors.gateway import _ours
    from billing.rails.base import ChargeResult

    otp = _ours(ChargeResult(status="requires_action", reference="r", extra={"action": "otp"}))
    assert (otp.status, otp.extra) == ("requires_otp", {"step": "otp"})
    phone = _ours(ChargeResult(status="requires_action", reference="r",
                               extra={"action": "phone"}))
    assert (phone.status, phone.failure_code) == ("failed", "step_unsupported")
    pin_first = gateway.charge(amount=150_000, currency="NGN",
                               details=_card("5060 6666 6666 6666 666"),
                               idempotency_key="pay_Pin1")
    assert (pin_first.status, pin_first.extra) == ("requires_otp", {"step": "pin"})
    then_otp = gateway.submit_pin(idempotency_key="pay_Pin1", pin="1234")
    assert (then_otp.status, then_otp.extra) == ("requires_otp", {"step": "otp"})
    paid = gateway.submit_otp(idempotency_key="pay_Pin1", otp="123456")
    assert paid.status == "succeeded"
    assert len(paystack_standin.money_taken()) == 1


def test_a_decline_a_wrong_pin_and_a_3ds_redirect_take_nothing(gateway, paystack_standin):
    declined = gateway.charge(amount=150_000, currency="NGN",
                              details=_card("4084 0800 0000 5408"), idempotency_key="pay_Dec1")
    assert declined.status == "failed"
    gateway.charge(amount=150_000, currency="NGN", details=_card("5078 5078 5078 5078 12"),
                   idempotency_key="pay_Pin2")
    wrong = gateway.submit_pin(idempotency_key="pay_Pin2", pin="9999")
    assert (wrong.status, wrong.failure_message) == ("failed", "Incorrect PIN")
    redirect = gateway.charge(amount=150_000, currency="NGN",
                              details={**_card("4084 0800 0000 0409"),
                                       "return_url": "https://duro.example/back"},
                              idempotency_key="pay_3ds1")
    assert (redirect.status, redirect.extra["step"]) == ("requires_otp", "redirect")
    assert redirect.extra["url"].startswith(paystack_standin.url + "/bank/")
    [sent] = paystack_standin.at("POST", "/charge")[-1:]
    assert sent.body["metadata"]["callback_url"] == "https://duro.example/back"
    assert gateway.lookup(idempotency_key="pay_3ds1").status == "processing"
    assert paystack_standin.money_taken() == []


def test_a_time_out_leaves_it_processing_and_the_lookup_finds_one_charge(gateway,
                                                                         paystack_standin):
    paystack_standin.hang_next("/charge", 4)
    result = gateway.charge(amount=150_000, currency="NGN", details=CARD,
                            idempotency_key="pay_Slow1")
    assert result.status == "processing"  # unknown: never a decline
    found = gateway.lookup(idempotency_key="pay_Slow1")
    assert found is not None and found.status == "succeeded"
    asked_again = gateway.charge(amount=150_000, currency="NGN", details=CARD,
                                 idempotency_key="pay_Slow1")
    assert asked_again.status == "succeeded"
    assert len(paystack_standin.money_taken()) == 1  # never charged twice
    assert gateway.lookup(idempotency_key="pay_Never1") is None


def test_a_refund_goes_back_once(gateway, paystack_standin):
    gateway.charge(amount=150_000, currency="NGN", details=CARD, idempotency_key="pay_Ref1")
    first = gateway.refund(charge_key="pay_Ref1", charge_reference="", amount=50_000,
                           currency="NGN", idempotency_key="re_One1")
    again = gateway.refund(charge_key="pay_Ref1", charge_reference="", amount=50_000,
                           currency="NGN", idempotency_key="re_One1")
    assert first.status in ("pending", "succeeded") and again.reference == first.reference


def test_a_refused_secret_is_the_merchants_to_fix_not_a_decline(paystack_standin):
    gateway = Gateway(Paystack("sk_test_wrong", base_url=paystack_standin.url, timeout=2))
    with pytest.raises(RailError) as refused:
        gateway.charge(amount=150_000, currency="NGN", details=CARD,
                       idempotency_key="pay_Auth1")
    assert refused.value.code == "processor_auth" and "Developers → Processor" in (
        refused.value.message)


@pytest.mark.parametrize("ours", ["pay_Abc123", "inv_Abc123", "inv_Abc123:2"])
def test_our_ids_and_renewal_retry_keys_round_trip_through_both_processors(ours):
    from billing.processors import flutterwave, paystack

    for processor in (paystack, flutterwave):
        reference = processor.processor_reference(ours)
        assert ":" not in reference and processor.our_id(reference) == ours
