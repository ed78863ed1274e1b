"""Bank transfers end to end on PostgreSQL with a real Celery worker: confirmations that
arrive twice or at once settle once and their events arrive once; money that cannot be
applied (too much, too little, too late) is refunded by the worker and the merchant's
endpoint hears ``refund_succeeded``."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from billing.models import Invoice, Refund, SandboxRefund, Subscription
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay
from tests.webhooks.factories import endpoint_make
from tests.worker import wait_for
from webhooks.models import Delivery, Event
from webhooks.signing import verify

pytestmark = [pytest.mark.worker,
              pytest.mark.django_db(transaction=True, databases="__all__")]

PAID = ["subscription_created", "subscription_payment_success"]


def _transfer(public, token):
    answer = pay(public, token, rail="bank_transfer", card={}).json()["data"]
    assert answer["status"] == "processing"
    return answer


def _simulate(public, token, outcome):
    return public.post(f"/v1/public/checkout/{token}/simulate", {"outcome": outcome},
                       format="json").json()["data"]


def _types(receiver, path, endpoint):
    return sorted(verify(endpoint.secret, r.headers, r.body)["type"] for r in receiver.at(path))


def test_double_and_concurrent_confirmations_settle_once_and_notify_once(acme, api, receiver,
                                                                         worker):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/paid"), events=PAID)
    session = make_session(api)
    _transfer(APIClient(), session["token"])
    barrier = threading.Barrier(6)
    answers, errors = [], []

    def confirm():
        try:
            barrier.wait()
            answers.append(_simulate(APIClient(), session["token"], "paid")["status"])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and set(answers) == {"completed"}
    assert _simulate(APIClient(), session["token"], "paid")["status"] == "completed"  # again

    wait_for(lambda: len(receiver.at("/paid")) >= 2, timeout=30, message="the pay's events")

    def delivered():
        with mode_context("test"):
            return Delivery.objects.filter(status="succeeded").count() == 2
    wait_for(delivered, message="deliveries recorded")
    assert _types(receiver, "/paid", endpoint) == PAID
    with mode_context("test"):
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
        assert Event.objects.count() == 2 and Refund.objects.count() == 0
    verify_ = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify_["status"] == "completed" and verify_["payment"]["status"] == "succeeded"


@pytest.mark.parametrize(("outcome", "reason", "refunded", "session_status"), [
    ("overpaid", "overpayment", 150_000, "completed"),
    ("underpaid", "underpayment", 750_000, "open"),
    ("late", "late", 1_500_000, "open"),
])
def test_money_that_cannot_be_applied_is_refunded_by_the_worker(
        acme, api, receiver, worker, outcome, reason, refunded, session_status):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/refunds"),
                             events=["refund_succeeded"])
    session = make_session(api)
    public = APIClient()
    _transfer(public, session["token"])
    _simulate(public, session["token"], outcome)

    wait_for(lambda: receiver.at("/refunds"), timeout=30, message="refund_succeeded")
    [delivery] = receiver.at("/refunds")
    data = verify(endpoint.secret, delivery.headers, delivery.body)["data"]
    assert data["refund"]["reason"] == reason and data["refund"]["amount"] == refunded
    assert data["refund"]["status"] == "succeeded"
    assert data["payment"]["rail"] == "bank_transfer"
    assert data["payment"]["amountRefunded"] == refunded
    assert data["metadata"] == {"orderId": "ord_42"}
    with mode_context("test"):
        assert SandboxRefund.objects.get().amount == refunded  # the bank gave it back once
        assert Subscription.objects.count() == (1 if session_status == "completed" else 0)
    verify_ = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify_["status"] == session_status
