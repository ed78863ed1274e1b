"""A hundred hands on one pay button: exactly one charge, and every answer agrees."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from billing.models import Invoice, PaymentAttempt, SandboxCharge, Subscription
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay

CONCURRENT_PAYS = 50
CONCURRENT_OTP_PAYS = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_fifty_concurrent_pays_charge_once(api, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = settings.DURO_PAY_RATE_PER_IP = 1000
    settings.DURO_PAY_RATE_PER_CARD = 1000
    settings.DURO_PAY_WAIT_SECONDS = 60  # a loaded 2-core CI box must not turn waits into answers
    session = make_session(api)
    barrier = threading.Barrier(CONCURRENT_PAYS)
    answers, errors = [], []

    def one_pay():
        try:
            barrier.wait()
            response = pay(APIClient(), session["token"])
            answers.append((response.status_code, response.json()["data"]))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pay) for _ in range(CONCURRENT_PAYS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(answers) == CONCURRENT_PAYS
    assert {code for code, _ in answers} == {200}
    assert {(d["status"], d["reference"], d["redirectUrl"]) for _, d in answers} == {
        ("completed", session["reference"],
         f"https://shop.example/thanks?order=42&reference={session['reference']}")}
    with mode_context("test"):
        assert SandboxCharge.objects.count() == 1
        assert PaymentAttempt.objects.count() == 1
        assert Subscription.objects.count() == 1
        assert Invoice.objects.count() == 1


OTP_CARD = card("4000000000003220")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_otp_pays_start_one_rail_initiation(api, settings):
    """A burst of first pays with an OTP card: one initiation, one pending attempt, no
    attempt left waiting for an OTP that no page will ever ask for."""
    settings.DURO_PAY_RATE_PER_TOKEN = settings.DURO_PAY_RATE_PER_IP = 1000
    settings.DURO_PAY_RATE_PER_CARD = 1000
    settings.DURO_PAY_WAIT_SECONDS = 60
    session = make_session(api)
    barrier = threading.Barrier(CONCURRENT_OTP_PAYS)
    answers, errors = [], []

    def one_pay():
        try:
            barrier.wait()
            response = pay(APIClient(), session["token"], card=OTP_CARD)
            answers.append(response.json()["data"]["status"])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pay) for _ in range(CONCURRENT_OTP_PAYS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # and a few more, one after another, once the OTP step is showing
    for _ in range(3):
        answers.append(pay(APIClient(), session["token"], card=OTP_CARD).json()["data"]["status"])

    assert errors == []
    assert set(answers) == {"requires_otp"}
    with mode_context("test"):
        assert SandboxCharge.objects.count() == 1
        attempts = list(PaymentAttempt.objects.filter(session_id=session["id"]))
        assert [a.status for a in attempts] == ["requires_otp"]
    done = APIClient().post(f"/v1/public/checkout/{session['token']}/pay", {"otp": "123456"},
                            format="json").json()["data"]
    assert done["status"] == "completed"
