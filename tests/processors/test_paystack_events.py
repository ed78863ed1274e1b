"""Paystack's signed events and refunds: what arrives at Duro's endpoint is verified by its
signature and read in our terms; refunds wait for Paystack and are never made twice."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from billing.processors.paystack import ProcessorRejected, parse_event, verify_signature

EMAIL = "ada@example.com"


def signed(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def signature_of(delivery) -> str:
    """The delivery's ``x-paystack-signature`` (header names are case-insensitive)."""
    return next(v for k, v in delivery.headers.items() if k.lower() == "x-paystack-signature")


def paid_card(paystack, payment_id: str = "pay_Paid1", amount: int = 150_000):
    return paystack.charge_card(payment_id=payment_id, amount=amount, currency="NGN",
                                email=EMAIL, card={"number": "4084084084084081", "cvv": "408",
                                                   "expiry_month": "12",
                                                   "expiry_year": "2030"})


def test_a_transfer_completed_at_paystack_posts_a_signed_charge_success(
        paystack, paystack_standin, receiver):
    paystack_standin.webhook_url = receiver.url("/paystack")
    paystack.charge_bank_transfer(payment_id="pay_Tr1", amount=1_500_000, currency="NGN",
                                  email=EMAIL)

    assert paystack_standin.complete("pay-Tr1") == 200

    delivery = receiver.at("/paystack")[0]
    assert verify_signature(paystack_standin.secret_key, delivery.body, signature_of(delivery))
    event = parse_event(delivery.body)
    assert event.name == "charge.success"
    assert event.payment_id == "pay_Tr1"
    assert event.charge.status == "succeeded"
    assert event.amount == 1_500_000
    assert paystack.verify(payment_id="pay_Tr1").status == "succeeded"


def test_ussd_and_mobile_money_complete_with_what_arrived(paystack, paystack_standin, receiver):
    paystack_standin.webhook_url = receiver.url("/paystack")
    paystack.charge_ussd(payment_id="pay_Us1", amount=50_000, currency="NGN", email=EMAIL,
                         bank="966")
    paystack.charge_mobile_money(payment_id="pay_Mo1", amount=15_000, currency="GHS",
                                 email=EMAIL, phone="+233241234567", provider="airteltigo")

    paystack_standin.complete("pay-Us1")
    paystack_standin.complete("pay-Mo1", amount=10_000)  # less than asked arrived

    events = {e.payment_id: e for e in (parse_event(d.body) for d in receiver.at("/paystack"))}
    assert events["pay_Us1"].charge.status == "succeeded"
    assert events["pay_Us1"].amount == 50_000
    assert events["pay_Mo1"].amount == 10_000  # billing decides what to do with too little
    assert paystack.verify(payment_id="pay_Mo1").amount == 10_000
    assert all(verify_signature(paystack_standin.secret_key, d.body,
                                signature_of(d))
               for d in receiver.at("/paystack"))


def test_a_forged_or_altered_event_is_refused():
    secret = "sk_test_merchant"
    body = json.dumps({"event": "charge.success",
                       "data": {"reference": "pay-X", "status": "success",
                                "amount": 100}}).encode()

    assert verify_signature(secret, body, signed(secret, body))
    assert verify_signature(secret, body, signed(secret, body).upper())  # hex either case
    assert not verify_signature(secret, body, signed("sk_test_someone_else", body))
    assert not verify_signature(secret, body.replace(b"100", b"999"), signed(secret, body))
    assert not verify_signature(secret, body, hashlib.sha512(body).hexdigest())  # unkeyed
    assert not verify_signature(secret, body, None)
    assert not verify_signature(secret, body, "")
    assert not verify_signature("", body, signed("", body))  # no secret: nothing verifies
    assert not verify_signature(secret, body, "é" * 128)  # a hostile header: False, no error


def test_events_duro_does_not_act_on_are_none():
    assert parse_event(b"not json") is None
    assert parse_event(b"[]") is None
    assert parse_event(json.dumps({"event": "subscription.create",
                                   "data": {"subscription_code": "SUB_x"}}).encode()) is None
    assert parse_event(json.dumps({"event": "charge.dispute.create", "data": {
        "transaction": {"reference": "pay-X"}, "status": "awaiting-merchant-feedback"}})
        .encode()) is None
    foreign = parse_event(json.dumps({"event": "charge.success", "data": {
        "reference": "T685312322670591", "status": "success", "amount": 100}}).encode())
    assert foreign.payment_id is None  # a charge Duro did not make


def test_a_refund_is_pending_until_paystack_processes_it(paystack, paystack_standin, receiver):
    paystack_standin.webhook_url = receiver.url("/paystack")
    paid_card(paystack)

    pending = paystack.refund(refund_id="re_One", payment_id="pay_Paid1", amount=150_000,
                              currency="NGN")

    assert pending.status == "pending"
    assert paystack.refund_fetch(refund_reference=pending.reference).status == "pending"
    sent = paystack_standin.at("POST", "/refund")[0].body
    assert (sent["transaction"], sent["amount"]) == ("pay-Paid1", 150_000)

    paystack_standin.refund_process(int(pending.reference))

    assert paystack.refund_fetch(refund_reference=pending.reference).status == "succeeded"
    assert paystack.refund_find(refund_id="re_One", payment_id="pay_Paid1").status == \
        "succeeded"
    delivery = receiver.at("/paystack")[-1]
    assert verify_signature(paystack_standin.secret_key, delivery.body,
                            signature_of(delivery))
    event = parse_event(delivery.body)
    assert (event.name, event.payment_id) == ("refund.processed", "pay_Paid1")
    assert (event.refund.status, event.amount) == ("succeeded", 150_000)
    # Refunded in full, verify says "reversed": still a payment that succeeded.
    assert paystack.verify(payment_id="pay_Paid1").status == "succeeded"


def test_a_refund_asked_twice_is_made_once(paystack, paystack_standin):
    paid_card(paystack)

    first = paystack.refund(refund_id="re_Twice", payment_id="pay_Paid1", amount=50_000,
                            currency="NGN")
    again = paystack.refund(refund_id="re_Twice", payment_id="pay_Paid1", amount=50_000,
                            currency="NGN")
    other = paystack.refund(refund_id="re_Other", payment_id="pay_Paid1", amount=50_000,
                            currency="NGN")

    assert again.reference == first.reference
    assert other.reference != first.reference
    assert len(paystack_standin.at("POST", "/refund")) == 2
    assert paystack_standin.charges["pay-Paid1"].refunded == 100_000


def test_a_refund_that_fails_at_paystack_fails_with_its_event(paystack, paystack_standin,
                                                              receiver):
    paystack_standin.webhook_url = receiver.url("/paystack")
    paid_card(paystack)
    pending = paystack.refund(refund_id="re_Fail", payment_id="pay_Paid1", amount=150_000,
                              currency="NGN")

    paystack_standin.refund_fail(int(pending.reference))

    failed = paystack.refund_fetch(refund_reference=pending.reference)
    assert (failed.status, failed.failure_code) == ("failed", "refund_failed")
    event = parse_event(receiver.at("/paystack")[-1].body)
    assert (event.name, event.refund.status) == ("refund.failed", "failed")
    assert paystack.refund_fetch(refund_reference="999") is None


def test_a_refund_of_a_payment_paystack_never_saw_is_refused(paystack, paystack_standin):
    assert paystack.refund_find(refund_id="re_X", payment_id="pay_Never") is None
    with pytest.raises(ProcessorRejected) as refused:
        paystack.refund(refund_id="re_X", payment_id="pay_Never", amount=100, currency="NGN")
    assert refused.value.status == 404
    assert paystack_standin.refunds == {}
