"""Live mode end to end through a connected processor: the Paystack stand-in on loopback,
written from Paystack's documentation, stands where Paystack would. A card pay, a decline,
a renewal charged on the saved authorization, a refund, a bank transfer whose confirmation
is lost and found by the sweep, and a time-out mid-charge resolved by lookup."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import PaymentAttempt, Subscription
from billing.processors.connections import processor_connect, processor_disconnect
from billing.processors.paystack import processor_reference
from billing.renewals import renewals_run
from checkout.pay import attempts_recover
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

LIVE_CARD = card("4084 0840 8408 4081", cvc="408")


@pytest.fixture
def connected(acme, paystack_standin, settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="paystack",
                      secret=paystack_standin.secret_key, by="owner@acme.test")
    return paystack_standin


def _session(live_api):
    return make_session(live_api, successUrl="https://shop.example/ok",
                        cancelUrl="https://shop.example/no")


def test_a_live_card_pay_renews_and_refunds_through_the_processor(live_api, connected):
    session = _session(live_api)
    answer = pay(APIClient(), session["token"], card=LIVE_CARD).json()["data"]
    assert answer["status"] == "completed"
    verify = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    payment = verify["payment"]
    assert (payment["rail"], payment["status"], payment["card"]["last4"]) == (
        "card", "succeeded", "4081")
    [charge] = connected.money_taken()
    assert charge.reference == processor_reference(payment["id"])  # found from either side
    assert charge.amount == 1_500_000 and charge.email == "ada@example.com"

    with mode_context("live"):
        sub = Subscription.objects.get()
        report = renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
    assert report.renewed == 1 and sub.invoices_paid == 2
    assert len(connected.money_taken()) == 2  # the saved authorization, charged once

    refund = live_api.post("/v1/refunds", {"paymentId": payment["id"], "amount": 500_000},
                           format="json").json()["data"]
    assert refund["status"] in ("pending", "succeeded") and refund["amount"] == 500_000
    assert len(connected.at("POST", "/refund")) == 1


def test_a_declined_live_card_reopens_the_session(live_api, connected):
    session = _session(live_api)
    declined = pay(APIClient(), session["token"],
                   card=card("4084 0800 0000 5408", cvc="408")).json()["data"]
    assert declined["status"] == "failed"
    assert connected.money_taken() == []
    assert pay(APIClient(), session["token"], card=LIVE_CARD).json()["data"]["status"] == (
        "completed")


def test_a_time_out_mid_charge_stays_processing_and_the_sweep_settles_it_once(live_api,
                                                                            connected):
    session = _session(live_api)
    connected.hang_next("/charge", 4)
    answer = pay(APIClient(), session["token"], card=LIVE_CARD).json()["data"]
    assert answer["status"] == "processing"  # unknown: never a decline, never a retry
    with mode_context("live"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=3)) == 1
    status = APIClient().get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "completed"
    assert len(connected.money_taken()) == 1


def test_a_live_transfer_whose_webhook_is_lost_is_found_by_the_sweep(live_api, connected):
    session = _session(live_api)
    answer = pay(APIClient(), session["token"], rail="bank_transfer", card={}).json()["data"]
    assert answer["status"] == "processing"
    transfer = answer["transfer"]
    assert transfer["accountNumber"] and transfer["amount"] == 1_500_000
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get()
    connected.complete(processor_reference(attempt.pk))  # no webhook URL: the event is lost
    with mode_context("live"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=3)) == 1
    verify = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "bank_transfer"


@pytest.fixture
def flutterwave_connected(acme, flutterwave_standin, settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_FLUTTERWAVE_BASE_URL = flutterwave_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 2.0
    processor_connect(merchant_id=acme.merchant.id, processor="flutterwave",
                      secret=flutterwave_standin.secret_key,
                      webhook_secret=flutterwave_standin.secret_hash,
                      encryption_key=flutterwave_standin.encryption_key)
    return flutterwave_standin


FLUTTERWAVE_CARD = card("5061 4601 6697 6054 667", cvc="564")  # no authentication step


def test_flutterwave_renews_on_the_saved_token_refunds_and_declines(live_api,
                                                                    flutterwave_connected):
    session = _session(live_api)
    declined = pay(APIClient(), session["token"],
                   card=card("5143 0105 2233 9965", cvc="276")).json()["data"]
    assert declined["status"] == "failed"
    assert flutterwave_connected.money_taken() == []
    assert pay(APIClient(), session["token"], card=FLUTTERWAVE_CARD).json()["data"][
        "status"] == "completed"
    payment = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["payment"]

    with mode_context("live"):
        sub = Subscription.objects.get()
        report = renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
    assert report.renewed == 1 and sub.invoices_paid == 2
    first, renewal = flutterwave_connected.money_taken()
    assert renewal.payment_type == "card" and renewal.tx_ref.startswith("inv_")
    assert len(flutterwave_connected.at("POST", "/v3/tokenized-charges")) == 1

    refund = live_api.post("/v1/refunds", {"paymentId": payment["id"], "amount": 500_000},
                           format="json").json()["data"]
    assert refund["status"] in ("pending", "succeeded") and refund["amount"] == 500_000
    assert len([r for r in flutterwave_connected.requests if r.method == "POST"
                and r.path == f"/v3/transactions/{first.id}/refund"]) == 1


def test_a_time_out_mid_charge_at_flutterwave_is_settled_once_by_the_sweep(
        live_api, flutterwave_connected):
    session = _session(live_api)
    flutterwave_connected.hang_next("/v3/charges", 4)
    answer = pay(APIClient(), session["token"], card=FLUTTERWAVE_CARD).json()["data"]
    assert answer["status"] == "processing"  # unknown: never a decline, never a retry
    with mode_context("live"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=3)) == 1
    status = APIClient().get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "completed"
    assert len(flutterwave_connected.money_taken()) == 1


def test_flutterwave_takes_a_live_card_pay_and_a_transfer_found_by_the_sweep(
        acme, live_api, flutterwave_connected):
    from billing.processors.connections import processor_check

    assert processor_check(acme.merchant.id)[0] is True
    session = _session(live_api)
    paid = pay(APIClient(), session["token"],
               card=card("5061 4601 6697 6054 667", cvc="564")).json()["data"]
    assert paid["status"] == "completed"
    [charge] = flutterwave_connected.money_taken()
    assert charge.tx_ref.startswith("pay_")

    other = _session(live_api)
    waiting = pay(APIClient(), other["token"], rail="bank_transfer", card={}).json()["data"]
    assert waiting["status"] == "processing" and waiting["transfer"]["accountNumber"]
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get(session_id=other["id"])
    flutterwave_connected.complete(attempt.pk)  # its webhook is lost: the sweep finds it
    with mode_context("live"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=3)) == 1
    verify = live_api.get(f"/v1/checkout/sessions/{other['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "bank_transfer"



@pytest.mark.parametrize(("currency", "rail", "extra", "shown"), [
    ("NGN", "ussd", {"ussd": {"bank": "737"}}, "ussd"),
    ("GHS", "mobile_money", {"mobileMoney": {"provider": "mtn", "phone": "024 123 4567"}},
     "mobileMoney"),
])
def test_live_ussd_and_mobile_money_wait_for_the_processor(live_api, connected, currency, rail,
                                                           extra, shown):
    session = make_session(live_api, amount=150_000, currency=currency, description="Tickets",
                           successUrl="https://shop.example/ok")
    response = pay(APIClient(), session["token"], rail=rail, card={}, phone="", **extra)
    assert response.status_code == 200, response.content
    answer = response.json()["data"]
    assert answer["status"] == "processing", answer
    assert answer[shown]["expiresAt"]
    with mode_context("live"):
        attempt = PaymentAttempt.objects.get()
    assert [c.channel for c in connected.charges.values()] == [rail]
    connected.complete(processor_reference(attempt.pk))
    with mode_context("live"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=3)) == 1
    verify = live_api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == rail


def test_a_declined_live_renewal_is_retried_under_its_own_reference(live_api, connected):
    """A renewal's retry asks the processor with the invoice's n-th key (``inv_…:2``), in
    the processor's characters (``inv-….2``), so it is neither refused as malformed nor
    mistaken for the first, declined, charge."""
    session = _session(live_api)
    assert pay(APIClient(), session["token"], card=LIVE_CARD).json()["data"]["status"] == (
        "completed")
    with mode_context("live"):
        sub = Subscription.objects.select_related("card").get()
        authorization = sub.card.authorization
    connected.decline_authorization(authorization)
    with mode_context("live"):
        first = renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
    assert first.failed == 1 and sub.status == "past_due"
    connected.declining.discard(authorization)
    with mode_context("live"):
        retry = renewals_run(now=sub.next_attempt_at + timedelta(minutes=1))
        sub.refresh_from_db()
        keys = sorted(PaymentAttempt.objects.exclude(idempotency_key="")
                      .values_list("idempotency_key", flat=True))
    assert retry.renewed == 1 and sub.status == "active" and sub.invoices_paid == 2
    assert keys[1] == keys[0] + ":2"
    references = [c.reference for c in connected.charges.values()]
    assert processor_reference(keys[0]) in references
    assert processor_reference(keys[1]) in references
    assert len(connected.money_taken()) == 2  # the first pay and the retry


def _banks(token: str) -> list[str]:
    return [b["code"] for b in APIClient().get(f"/v1/public/checkout/{token}").json()[
        "data"]["ussdBanks"]]


def test_live_pages_offer_only_the_ussd_banks_the_processor_takes(live_api, api,
                                                                   connected):
    """The sandbox lists six USSD banks; Paystack takes four of them, so a live page offers
    those four and a live pay naming another is refused before the processor is asked."""
    live = make_session(live_api, amount=150_000, description="Tickets")
    assert _banks(live["token"]) == ["737", "919", "966", "822"]
    page = APIClient().get(f"/checkout/{live['token']}").content.decode()
    assert "*737#" in page and "*894#" not in page
    sandbox = make_session(api, amount=150_000, description="Tickets")
    assert _banks(sandbox["token"]) == ["737", "919", "966", "894", "901", "822"]

    refused = pay(APIClient(), live["token"], rail="ussd", card={}, phone="",
                  ussd={"bank": "894"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "ussd.bank"
    assert connected.requests == [] or all(r.path != "/charge" for r in connected.requests)


def test_the_live_ussd_banks_follow_the_connected_processor(live_api, acme, connected):
    live = make_session(live_api, amount=150_000, description="Tickets")
    assert "894" not in _banks(live["token"])
    processor_connect(merchant_id=acme.merchant.id, processor="flutterwave",
                      secret="FLWSECK-" + "a" * 32 + "-X", webhook_secret="hash",
                      encryption_key="b" * 24, by="owner@acme.test")
    assert "894" in _banks(live["token"])  # Flutterwave takes First Bank's
    processor_disconnect(merchant_id=acme.merchant.id)
    assert _banks(live["token"]) == ["737", "919", "966", "894", "901", "822"]
