"""The processors' own webhooks (issue #15) against the Paystack stand-in: the stand-in signs
and posts its events to a receiver, and the test delivers those exact bytes and header to
``/v1/processors/paystack/{merchantId}/events``. A completed transfer completes the session
once however often (or concurrently) it is delivered; a forged signature, a wrong merchant
and a malformed body change nothing; a refund event settles the pending refund."""

import hashlib
import hmac
import json
import threading

import pytest
from cryptography.fernet import Fernet
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from billing.models import PaymentAttempt, ProcessorEvent, Refund, Subscription
from billing.processors.connections import processor_connect
from billing.processors.paystack import processor_reference
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

LIVE_CARD = card("4084 0840 8408 4081", cvc="408")


@pytest.fixture
def connected(acme, paystack_standin, receiver, settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key, by="owner@acme.test")
    paystack_standin.webhook_url = receiver.url("/paystack")  # what Paystack posted
    return paystack_standin


def _url(merchant_id: str, name: str = "paystack") -> str:
    return f"/v1/processors/{name}/{merchant_id}/events"


def _posted(receiver) -> tuple[bytes, str]:
    """The stand-in's last event: its raw bytes and ``x-paystack-signature``."""
    last = receiver.at("/paystack")[-1]
    headers = {key.lower(): value for key, value in last.headers.items()}
    return last.body, headers["x-paystack-signature"]


def _deliver(merchant_id: str, body: bytes, signature: str | None, name: str = "paystack"):
    extra = {"HTTP_X_PAYSTACK_SIGNATURE": signature} if signature is not None else {}
    return Client().post(_url(merchant_id, name), data=body, content_type="application/json",
                         **extra)


def _transfer(live_api) -> tuple[dict, str]:
    session = make_session(live_api, successUrl="https://shop.example/ok",
                           cancelUrl="https://shop.example/no")
    answer = pay(APIClient(), session["token"], rail="bank_transfer", card={}).json()["data"]
    assert answer["status"] == "processing"
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get()
    return session, attempt.pk


def _session_status(live_api, session) -> str:
    return live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["status"]


def test_a_transfer_completed_at_paystack_completes_the_session_once(acme, live_api, connected,
                                                                     receiver):
    session, payment_id = _transfer(live_api)
    connected.complete(processor_reference(payment_id))
    body, signature = _posted(receiver)
    verifies_before = len(connected.at("GET", f"/transaction/verify/"
                                              f"{processor_reference(payment_id)}"))

    first = _deliver(acme.merchant.id, body, signature)
    assert first.status_code == 200
    verify = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["status"] == "succeeded"
    # Duro asked Paystack itself before believing the event.
    assert len(connected.at("GET", f"/transaction/verify/"
                                   f"{processor_reference(payment_id)}")) == verifies_before + 1

    again = _deliver(acme.merchant.id, body, signature)
    assert again.status_code == 200 and again.json() == {"message": "already received"}
    with mode_context("live"):
        assert Subscription.objects.count() == 1
        assert Event.objects.filter(type="subscription_payment_success").count() == 1
        [row] = ProcessorEvent.objects.all()
    assert (row.processor, row.name, row.payment_id, row.outcome) == (
        "paystack", "charge.success", payment_id, "applied")
    assert row.event_key == hashlib.sha256(body).hexdigest()


def test_the_event_body_alone_is_not_believed(acme, live_api, connected):
    """A correctly signed charge.success for a payment Paystack still awaits settles
    nothing: verify says it is not paid (503: deliver again), and nothing is recorded."""
    session, payment_id = _transfer(live_api)
    body = json.dumps({"event": "charge.success", "data": {
        "reference": processor_reference(payment_id), "status": "success",
        "amount": 1_500_000}}).encode()
    signature = hmac.new(connected.secret_key.encode(), body, hashlib.sha512).hexdigest()
    answer = _deliver(acme.merchant.id, body, signature)
    assert answer.status_code == 503
    assert _session_status(live_api, session) != "completed"
    with mode_context("live"):
        assert PaymentAttempt.objects.get().status == "processing"
        assert ProcessorEvent.objects.count() == 0


def test_a_forged_signature_is_refused_and_changes_nothing(acme, live_api, connected,
                                                           receiver):
    session, payment_id = _transfer(live_api)
    connected.complete(processor_reference(payment_id))
    body, signature = _posted(receiver)
    forged = hmac.new(b"sk_test_not_the_merchants_secret", body, hashlib.sha512).hexdigest()
    tampered = body.replace(b'"success"', b'"success" ', 1)
    for raw, header in ((body, forged), (body, None), (body, ""), (tampered, signature)):
        answer = _deliver(acme.merchant.id, raw, header)
        assert answer.status_code == 401 and answer.json() == {"message": "refused"}
    assert _session_status(live_api, session) != "completed"
    with mode_context("live"):
        assert PaymentAttempt.objects.get().status == "processing"
        assert ProcessorEvent.objects.count() == 0
    assert _deliver(acme.merchant.id, body, signature).status_code == 200  # the real one


def test_a_wrong_merchant_or_processor_is_unknown(acme, make_merchant, live_api, connected,
                                                  receiver):
    session, payment_id = _transfer(live_api)
    connected.complete(processor_reference(payment_id))
    body, signature = _posted(receiver)
    other = make_merchant("Other Shop", email="owner@other.test")  # connected nothing
    for merchant_id, name in ((other.merchant.id, "paystack"), ("mer_nobody", "paystack"),
                              (acme.merchant.id, "stripe"), (acme.merchant.id, "flutterwave")):
        answer = _deliver(merchant_id, body, signature, name=name)
        assert answer.status_code == 404 and answer.json() == {"message": "unknown"}
    assert _session_status(live_api, session) != "completed"
    with mode_context("live"):
        assert ProcessorEvent.objects.count() == 0


def test_a_malformed_body_is_a_400_and_an_oversized_one_a_413(acme, connected):
    for raw in (b"{not json", b"[]", b'{"event": "charge.success", "data": "x"}'):
        signature = hmac.new(connected.secret_key.encode(), raw, hashlib.sha512).hexdigest()
        answer = _deliver(acme.merchant.id, raw, signature)
        assert answer.status_code == 400 and answer.json() == {"message": "malformed"}
    huge = b'{"event": "charge.success", "data": {}, "pad": "' + b"x" * 300_000 + b'"}'
    assert _deliver(acme.merchant.id, huge, "whatever").status_code == 413
    assert Client().get(_url(acme.merchant.id)).status_code == 405
    with mode_context("live"):
        assert ProcessorEvent.objects.count() == 0


def test_an_event_for_a_payment_duro_does_not_know_is_recorded_and_ignored(acme, connected):
    raw = json.dumps({"event": "charge.success", "data": {
        "reference": "pay-SomeoneElses", "status": "success", "amount": 100}}).encode()
    signature = hmac.new(connected.secret_key.encode(), raw, hashlib.sha512).hexdigest()
    assert _deliver(acme.merchant.id, raw, signature).status_code == 200
    with mode_context("live"):
        [row] = ProcessorEvent.objects.all()
    assert (row.outcome, row.payment_id) == ("ignored", "")
    assert connected.at("GET", "/transaction/verify/pay-SomeoneElses") == []


def test_a_refund_processed_event_settles_the_pending_refund(acme, live_api, connected,
                                                             receiver):
    session = make_session(live_api, successUrl="https://shop.example/ok",
                           cancelUrl="https://shop.example/no")
    assert pay(APIClient(), session["token"], card=LIVE_CARD).json()["data"]["status"] == (
        "completed")
    payment_id = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()[
        "data"]["payment"]["id"]
    refund = live_api.post("/v1/refunds", {"paymentId": payment_id, "amount": 500_000},
                           format="json").json()["data"]
    assert refund["status"] == "pending"
    [paystack_refund] = connected.refunds
    connected.refund_process(paystack_refund)
    body, signature = _posted(receiver)
    assert json.loads(body)["event"] == "refund.processed"

    assert _deliver(acme.merchant.id, body, signature).status_code == 200
    assert _deliver(acme.merchant.id, body, signature).json() == {"message": "already received"}
    with mode_context("live"):
        settled = Refund.objects.get(pk=refund["id"])
        assert PaymentAttempt.objects.get(pk=payment_id).amount_refunded == 500_000
        assert Event.objects.filter(type="refund_succeeded").count() == 1
        assert ProcessorEvent.objects.get().outcome == "applied"
    assert settled.status == "succeeded"
    assert len(connected.at("POST", "/refund")) == 1  # settled, never refunded again


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_deliveries_complete_the_session_once(acme, live_api, connected, receiver):
    session, payment_id = _transfer(live_api)
    connected.complete(processor_reference(payment_id))
    body, signature = _posted(receiver)
    barrier = threading.Barrier(6)
    statuses, errors = [], []

    def deliver():
        try:
            barrier.wait()
            statuses.append(_deliver(acme.merchant.id, body, signature).status_code)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and statuses == [200] * 6
    assert _session_status(live_api, session) == "completed"
    with mode_context("live"):
        assert Subscription.objects.count() == 1
        assert Event.objects.filter(type="subscription_payment_success").count() == 1
        assert ProcessorEvent.objects.count() == 1
        assert PaymentAttempt.objects.get().status == "succeeded"


@pytest.fixture
def flutterwave_connected(acme, flutterwave_standin, receiver, settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_FLUTTERWAVE_BASE_URL = flutterwave_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="flutterwave",
                      secret=flutterwave_standin.secret_key,
                      webhook_secret=flutterwave_standin.secret_hash,
                      encryption_key=flutterwave_standin.encryption_key)
    flutterwave_standin.webhook_url = receiver.url("/flutterwave")
    return flutterwave_standin


def test_a_flutterwave_transfer_completes_once_and_a_wrong_hash_is_refused(
        acme, live_api, flutterwave_connected, receiver):
    session, payment_id = _transfer(live_api)
    flutterwave_connected.complete(payment_id)
    last = receiver.at("/flutterwave")[-1]
    headers = {key.lower(): value for key, value in last.headers.items()}
    url = _url(acme.merchant.id, "flutterwave")

    def deliver(verif_hash: str):
        return Client().post(url, data=last.body, content_type="application/json",
                             HTTP_VERIF_HASH=verif_hash)

    assert deliver("not-the-secret-hash").status_code == 401
    nan = (b'{"event": "charge.completed", "data": {"tx_ref": "pay_x", "currency": "NGN", '
           b'"status": "successful", "amount": NaN, "charged_amount": NaN}}')
    malformed = Client().post(url, data=nan, content_type="application/json",
                              HTTP_VERIF_HASH=headers["verif-hash"])
    assert malformed.status_code == 400  # signed, but not readable: never a 500
    assert _session_status(live_api, session) != "completed"
    assert _deliver(acme.merchant.id, last.body, "x", name="paystack").status_code == 404
    assert deliver(headers["verif-hash"]).status_code == 200
    assert deliver(headers["verif-hash"]).json() == {"message": "already received"}
    assert _session_status(live_api, session) == "completed"
    with mode_context("live"):
        [row] = ProcessorEvent.objects.all()
        assert Event.objects.filter(type="subscription_payment_success").count() == 1
    assert (row.processor, row.name, row.payment_id) == ("flutterwave", "charge.completed",
                                                         payment_id)
