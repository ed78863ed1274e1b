"""Bank transfer (API.md §10): a one-time account, confirmed asynchronously through the same
settle as a card pay, exactly once."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connections
from rest_framework.test import APIClient

from billing.models import Invoice, PaymentAttempt, Subscription
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")


def _transfer(client, token):
    return pay(client, token, rail="bank_transfer", card={})


def _simulate(client, token, outcome="paid"):
    return client.post(f"/v1/public/checkout/{token}/simulate", {"outcome": outcome},
                       format="json")


def test_naira_sessions_offer_transfer_and_cedi_sessions_do_not(api):
    naira = APIClient().get(f"/v1/public/checkout/{make_session(api)['token']}").json()["data"]
    assert [r["id"] for r in naira["rails"]] == ["card", "bank_transfer", "ussd"]
    cedi_session = make_session(api, amount=50_000, currency="GHS")
    cedi = APIClient().get(f"/v1/public/checkout/{cedi_session['token']}").json()["data"]
    assert [r["id"] for r in cedi["rails"]] == ["card", "mobile_money"]
    refused = _transfer(APIClient(), cedi_session["token"])
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "rail"


def test_a_transfer_pays_once_when_the_bank_confirms(api):
    public = APIClient()
    session = make_session(api)
    answer = _transfer(public, session["token"]).json()["data"]
    assert answer["status"] == "processing"
    transfer = answer["transfer"]
    assert transfer["amount"] == 1_500_000 and transfer["currency"] == "NGN"
    assert len(transfer["accountNumber"]) == 10 and transfer["bankName"]
    expires = datetime.fromisoformat(transfer["expiresAt"].replace("Z", "+00:00"))
    created = datetime.fromisoformat(session["createdAt"].replace("Z", "+00:00"))
    assert expires <= created + timedelta(minutes=31)
    # the customer reloads or pays again: the same account, no second attempt
    assert _transfer(public, session["token"]).json()["data"]["transfer"] == transfer
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "processing" and verify["payment"]["status"] == "processing"

    done = _simulate(public, session["token"]).json()["data"]
    assert done["status"] == "completed" and "reference=" in done["redirectUrl"]
    assert _simulate(public, session["token"]).json()["data"]["status"] == "completed"
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "bank_transfer"
    with mode_context("test"):
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
        assert sorted(Event.objects.values_list("type", flat=True)) == [
            "subscription_created", "subscription_payment_success"]


def test_a_failed_transfer_reopens_the_session_for_another_way(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    failed = _simulate(public, session["token"], "failed").json()["data"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "transfer_failed"
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"


def test_simulate_is_for_test_tokens_and_pending_transfers_only(api, live_api):
    public = APIClient()
    session = make_session(api)
    nothing = _simulate(public, session["token"])
    assert nothing.status_code == 400 and nothing.json()["error"]["param"] == "outcome"
    live = make_session(live_api)
    assert _simulate(public, live["token"]).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_confirmations_settle_once(api):
    session = make_session(api)
    _transfer(APIClient(), session["token"])
    barrier = threading.Barrier(8)
    answers, errors = [], []

    def confirm():
        try:
            barrier.wait()
            answers.append(_simulate(APIClient(), session["token"]).json()["data"]["status"])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and set(answers) == {"completed"}
    with mode_context("test"):
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
        assert PaymentAttempt.objects.get().status == "succeeded"
        assert Event.objects.filter(type="subscription_payment_success").count() == 1


def test_a_transfer_that_never_arrives_expires_and_the_session_reopens(api):
    from django.utils import timezone

    from checkout.pay import attempts_recover

    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    with mode_context("test"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=5)) == 0  # still valid
        assert attempts_recover(now=timezone.now() + timedelta(minutes=31)) == 1
        attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.failure_code) == ("failed", "transfer_expired")
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "open"  # not stuck in processing: the customer may pay again
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"
    # the bank cannot confirm an account that has expired
    late = _simulate(public, session["token"])
    assert late.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("round_", range(3))
def test_a_confirmation_racing_the_expiry_sweep_settles_one_way(api, round_):
    """The bank's answer and the sweep that expires the account at the same moment: either
    the money paid the session, or the account expired and nothing was taken; never both,
    never a payment stuck in processing."""
    from django.utils import timezone

    from checkout.pay import attempts_recover

    session = make_session(api)
    _transfer(APIClient(), session["token"])
    later = timezone.now() + timedelta(minutes=31)
    barrier = threading.Barrier(3)
    errors = []

    def run(work):
        try:
            barrier.wait()
            work()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    def sweep():
        with mode_context("test"):
            attempts_recover(now=later)

    threads = [threading.Thread(target=run, args=(w,)) for w in (
        sweep, lambda: _simulate(APIClient(), session["token"]),
        lambda: APIClient().get(f"/v1/public/checkout/{session['token']}/status"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    with mode_context("test"):
        attempt = PaymentAttempt.objects.get()
        subscriptions = Subscription.objects.count()
    if verify["status"] == "completed":
        assert attempt.status == "succeeded" and subscriptions == 1
    else:
        assert verify["status"] == "open" and subscriptions == 0
        assert (attempt.status, attempt.failure_code) == ("failed", "transfer_expired")
