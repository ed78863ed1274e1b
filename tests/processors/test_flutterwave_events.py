"""Flutterwave's events and refunds: what arrives at Duro's endpoint is checked by its
``verif-hash`` and read in our terms; refunds wait for Flutterwave and are never made
twice."""

from __future__ import annotations

import json

import pytest

from billing.processors.flutterwave import (
    SIGNATURE_HEADER,
    ProcessorRejected,
    parse_event,
    verify_signature,
)

EMAIL = "ada@example.com"


def hash_of(delivery) -> str:
    """The delivery's ``verif-hash`` (header names are case-insensitive)."""
    return next(v for k, v in delivery.headers.items() if k.lower() == SIGNATURE_HEADER)


def paid_card(flutterwave, payment_id: str = "pay_Paid1", amount: int = 150_000):
    return flutterwave.charge_card(payment_id=payment_id, amount=amount, currency="NGN",
                                   email=EMAIL, card={"number": "5061460166976054667",
                                                      "cvv": "564", "expiry_month": "10",
                                                      "expiry_year": "29"})


def test_a_transfer_completed_at_flutterwave_posts_charge_completed_with_the_hash(
        flutterwave, flutterwave_standin, receiver):
    flutterwave_standin.webhook_url = receiver.url("/flutterwave")
    flutterwave.charge_bank_transfer(payment_id="pay_Tr1", amount=1_500_001, currency="NGN",
                                     email=EMAIL)

    assert flutterwave_standin.complete("pay_Tr1") == 200

    delivery = receiver.at("/flutterwave")[0]
    assert verify_signature(flutterwave_standin.secret_hash, delivery.body, hash_of(delivery))
    event = parse_event(delivery.body)
    assert (event.name, event.payment_id) == ("charge.completed", "pay_Tr1")
    assert event.charge.status == "succeeded"
    assert event.amount == 1_500_001  # 15000.01 on the wire, to the kobo here
    assert b"15000.01" in delivery.body
    assert event.transaction_id == str(flutterwave_standin.transactions["pay_Tr1"].id)
    assert flutterwave.verify_transaction(transaction_id=event.transaction_id).status == \
        "succeeded"


def test_ussd_and_mpesa_complete_with_what_arrived_and_a_failure_says_failed(
        flutterwave, flutterwave_standin, receiver):
    flutterwave_standin.webhook_url = receiver.url("/flutterwave")
    flutterwave.charge_ussd(payment_id="pay_Us1", amount=50_000, currency="NGN", email=EMAIL,
                            bank="966")
    flutterwave.charge_mobile_money(payment_id="pay_Mo1", amount=15_000, currency="KES",
                                    email=EMAIL, phone="254712345678", provider="mpesa")
    flutterwave.charge_ussd(payment_id="pay_Us2", amount=50_000, currency="NGN", email=EMAIL,
                            bank="822")

    flutterwave_standin.complete("pay_Us1")
    flutterwave_standin.complete("pay_Mo1", amount="100.50")  # less than asked arrived
    flutterwave_standin.fail("pay_Us2", "Transaction expired")

    events = {e.payment_id: e for e in
              (parse_event(d.body) for d in receiver.at("/flutterwave"))}
    assert (events["pay_Us1"].charge.status, events["pay_Us1"].amount) == ("succeeded", 50_000)
    assert events["pay_Mo1"].amount == 10_050  # billing decides what to do with too little
    assert flutterwave.verify(payment_id="pay_Mo1").amount == 10_050
    failed = events["pay_Us2"].charge
    assert (failed.status, failed.failure_message) == ("failed", "Transaction expired")
    assert all(verify_signature(flutterwave_standin.secret_hash, d.body, hash_of(d))
               for d in receiver.at("/flutterwave"))


def test_a_forged_hash_is_refused(flutterwave, flutterwave_standin, receiver):
    flutterwave_standin.webhook_url = receiver.url("/flutterwave")
    flutterwave.charge_bank_transfer(payment_id="pay_Tr1", amount=5_000, currency="NGN",
                                     email=EMAIL)
    data = flutterwave_standin._data(flutterwave_standin.transactions["pay_Tr1"])

    flutterwave_standin.send_event("charge.completed", {**data, "status": "successful"},
                                   secret_hash="guessed-hash")

    forged = receiver.at("/flutterwave")[0]
    assert hash_of(forged) == "guessed-hash"
    assert not verify_signature(flutterwave_standin.secret_hash, forged.body, hash_of(forged))


def test_the_hash_is_compared_exactly():
    secret = "my-dashboard-secret-hash"
    body = b'{"event": "charge.completed"}'

    assert verify_signature(secret, body, secret)
    assert verify_signature(secret, body, f" {secret} ")  # header whitespace is not the hash
    assert not verify_signature(secret, body, secret.upper())  # not hex: case counts
    assert not verify_signature(secret, body, secret[:-1])
    assert not verify_signature(secret, body, "")
    assert not verify_signature(secret, body, None)
    assert not verify_signature("", body, "")  # no secret hash set: nothing verifies
    assert not verify_signature(secret, body, "é" * 24)  # a hostile header: False, no error


def test_events_duro_does_not_act_on_are_none():
    assert parse_event(b"not json") is None
    assert parse_event(b"[]") is None
    assert parse_event(json.dumps({"event": "transfer.completed", "data": {
        "id": 1, "reference": "x", "status": "SUCCESSFUL"}}).encode()) is None
    assert parse_event(json.dumps({"event": "charge.completed", "data": "x"}).encode()) is None
    foreign = parse_event(json.dumps({"event": "charge.completed", "data": {
        "id": 7, "tx_ref": "MC-1585230950508", "status": "successful", "amount": 100,
        "currency": "NGN"}}).encode())
    assert foreign.payment_id is None  # a charge Duro did not make
    assert foreign.amount == 10_000


def test_a_refund_is_pending_until_flutterwave_completes_it(flutterwave, flutterwave_standin):
    paid_card(flutterwave, amount=1_500_001)

    pending = flutterwave.refund(refund_id="re_One", payment_id="pay_Paid1",
                                 amount=1_500_001, currency="NGN")

    assert pending.status == "pending"
    transaction = flutterwave_standin.transactions["pay_Paid1"]
    sent = flutterwave_standin.at("POST", f"/v3/transactions/{transaction.id}/refund")[0].body
    assert (str(sent["amount"]), sent["comments"]) == ("15000.01", "Duro refund re_One")
    assert flutterwave.refund_fetch(refund_reference=pending.reference).status == "pending"

    flutterwave_standin.refund_complete(int(pending.reference))

    assert flutterwave.refund_fetch(refund_reference=pending.reference).status == "succeeded"
    assert flutterwave.refund_find(refund_id="re_One", payment_id="pay_Paid1").status == \
        "succeeded"
    assert flutterwave.verify(payment_id="pay_Paid1").status == "succeeded"


def test_a_refund_asked_twice_is_made_once(flutterwave, flutterwave_standin):
    paid_card(flutterwave)

    first = flutterwave.refund(refund_id="re_Twice", payment_id="pay_Paid1", amount=50_000,
                               currency="NGN")
    again = flutterwave.refund(refund_id="re_Twice", payment_id="pay_Paid1", amount=50_000,
                               currency="NGN")
    other = flutterwave.refund(refund_id="re_Other", payment_id="pay_Paid1", amount=50_000,
                               currency="NGN")

    assert again.reference == first.reference
    assert other.reference != first.reference
    assert len(flutterwave_standin.refunds) == 2
    assert flutterwave_standin.transactions["pay_Paid1"].refunded == 1000


def test_a_refund_that_fails_at_flutterwave_fails(flutterwave, flutterwave_standin):
    paid_card(flutterwave)
    pending = flutterwave.refund(refund_id="re_Fail", payment_id="pay_Paid1", amount=150_000,
                                 currency="NGN")

    flutterwave_standin.refund_fail(int(pending.reference))

    failed = flutterwave.refund_fetch(refund_reference=pending.reference)
    assert (failed.status, failed.failure_code) == ("failed", "refund_failed")
    assert flutterwave.refund_fetch(refund_reference="999") is None


def test_a_refund_of_a_payment_flutterwave_never_saw_is_refused(flutterwave,
                                                               flutterwave_standin):
    assert flutterwave.refund_find(refund_id="re_X", payment_id="pay_Never") is None
    with pytest.raises(ProcessorRejected) as refused:
        flutterwave.refund(refund_id="re_X", payment_id="pay_Never", amount=100,
                           currency="NGN")
    assert refused.value.status == 404
    assert flutterwave_standin.refunds == {}


def test_more_than_was_paid_is_not_refunded(flutterwave, flutterwave_standin):
    paid_card(flutterwave, amount=10_000)

    with pytest.raises(ProcessorRejected) as refused:
        flutterwave.refund(refund_id="re_Big", payment_id="pay_Paid1", amount=10_001,
                           currency="NGN")
    assert refused.value.status == 400
    assert flutterwave_standin.refunds == {}
