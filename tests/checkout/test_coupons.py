"""Coupons at checkout (API.md §13): a session's couponCode, the page's promo code, the
charge, the first invoice, and redemptions that never exceed their limit."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Coupon, Invoice, PaymentAttempt, SandboxCharge, Subscription
from billing.rails import get_rail
from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_plan, make_session, pay
from tests.openapi import assert_documented
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

FORM = {"email": "ada@example.com", "phone": "08031234567", "rail": "card",
        "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}


def make_coupon(api, **fields) -> dict:
    body = {"code": "LAUNCH20", "percentOff": 20, "duration": "once", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/v1/coupons", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def hydrate(token: str) -> dict:
    return APIClient().get(f"/v1/public/checkout/{token}").json()["data"]


def times_redeemed(coupon: dict) -> int:
    with mode_context("test"):
        return Coupon.objects.get(pk=coupon["id"]).times_redeemed


def charges() -> list[int]:
    with mode_context("test"):
        return list(PaymentAttempt.objects.filter(status="succeeded")
                    .values_list("amount", flat=True))


def test_a_sessions_coupon_is_shown_charged_invoiced_and_redeemed(
        api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.patch("/v1/merchant", {"tax": {"legalName": "Acme Ltd", "address": "Lagos",
                                           "vatRate": "7.5"}}, format="json")
    coupon = make_coupon(api, code="launch20")
    session = make_session(api, couponCode="Launch20")
    assert session["couponCode"] == "LAUNCH20" and session["allowCoupons"] is False
    shown = hydrate(session["token"])
    assert_documented("HydrateOutput", shown)
    assert_documented("SessionOutput", session)
    # 1_500_000 − 20 % = 1_200_000, + 7.5 % VAT = 1_290_000: discount first, then VAT.
    assert (shown["amount"], shown["discount"], shown["vat"]["amount"], shown["amountDue"]) == (
        1_500_000, {"couponCode": "LAUNCH20", "amountOff": 300_000}, 90_000, 1_290_000)
    page = Client().get(f"/checkout/{session['token']}").content.decode()
    assert 'id="discount-line"' in page and "Discount (LAUNCH20): −₦3,000.00" in page
    assert 'id="promo-form"' not in page  # the merchant chose the coupon
    assert times_redeemed(coupon) == 0
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    assert charges() == [1_290_000] and times_redeemed(coupon) == 1
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    invoice = api.get(f"/v1/invoices/{verify['invoiceId']}").json()["data"]
    assert invoice["amount"] == 1_290_000 and invoice["subtotal"] == 1_500_000
    assert invoice["discount"] == {"couponCode": "LAUNCH20", "amountOff": 300_000}
    with mode_context("test"):
        sub = Subscription.objects.get(pk=verify["subscriptionId"])
        assert (sub.coupon_id, sub.coupon_periods_left) == (coupon["id"], 0)  # once: used
        data = Event.objects.get(type="subscription_created").data
    assert data["invoice"]["discount"] == {"couponCode": "LAUNCH20", "amountOff": 300_000}


def test_a_fixed_amount_never_charges_below_zero(api):
    make_coupon(api, code="BIG", percentOff=None, amountOff=900_000, currency="NGN")
    session = make_session(api, amount=500_000, currency="NGN", couponCode="BIG")
    shown = hydrate(session["token"])
    assert (shown["discount"]["amountOff"], shown["amountDue"]) == (500_000, 0)


def test_a_repeating_coupons_first_period_is_the_checkout_invoice(api):
    coupon = make_coupon(api, code="THREE", duration="repeating", durationInPeriods=3)
    session = make_session(api, couponCode="THREE")
    pay(APIClient(), session["token"])
    with mode_context("test"):
        sub = Subscription.objects.get()
        assert (sub.coupon_id, sub.coupon_periods_left) == (coupon["id"], 2)


@pytest.mark.parametrize("problem", ["unknown", "inactive", "expired", "exhausted",
                                     "currency"])
def test_a_bad_coupon_is_refused_at_creation_naming_couponCode(api, problem):
    coupon = make_coupon(api, code="GOOD", maxRedemptions=1, percentOff=None,
                         amountOff=100_000, currency="NGN")
    code = "NOPE" if problem == "unknown" else "GOOD"
    with mode_context("test"):
        row = Coupon.objects.get(pk=coupon["id"])
        row.active = problem != "inactive"
        row.expires_at = timezone.now() - timedelta(seconds=1) if problem == "expired" else None
        row.times_redeemed = 1 if problem == "exhausted" else 0
        row.save()
    fields = {"amount": 500_000, "currency": "GHS" if problem == "currency" else "NGN"}
    response = api.post("/v1/checkout/sessions", {**fields, "couponCode": code}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "couponCode"
    with mode_context("test"):
        assert not CheckoutSession.objects.exists()


def test_allow_coupons_takes_a_code_at_the_json_pay(api):
    coupon = make_coupon(api)
    session = make_session(api, allowCoupons=True)
    shown = hydrate(session["token"])
    assert shown["allowCoupons"] is True and shown["discount"] is None
    assert shown["amountDue"] == 1_500_000
    refused = pay(APIClient(), session["token"], couponCode="WRONG")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "couponCode"
    with mode_context("test"):
        assert not PaymentAttempt.objects.exists() and not SandboxCharge.objects.exists()
    done = pay(APIClient(), session["token"], couponCode="launch20")
    assert done.json()["data"]["status"] == "completed", done.content
    assert charges() == [1_200_000] and times_redeemed(coupon) == 1
    assert hydrate(session["token"])["discount"] == {"couponCode": "LAUNCH20",
                                                     "amountOff": 300_000}


def test_a_session_without_allow_coupons_takes_no_code_at_pay(api):
    make_coupon(api)
    session = make_session(api)
    response = pay(APIClient(), session["token"], couponCode="LAUNCH20")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "couponCode"
    assert charges() == []


def test_the_pages_promo_code_without_javascript(api):
    make_coupon(api)
    session = make_session(api, allowCoupons=True)
    url = f"/checkout/{session['token']}"
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url).content.decode()
    assert 'id="promo-form"' in page and 'for="coupon_code"' in page
    assert "₦15,000.00 / month" in page and 'id="discount-line"' not in page
    csrf = browser.cookies["csrftoken"].value
    bad = browser.post(url, {"action": "apply_coupon", "coupon_code": "WRONG",
                             "csrfmiddlewaretoken": csrf})
    html = bad.content.decode()
    assert bad.status_code == 200 and 'id="coupon_code-error"' in html
    assert "not valid" in html and 'value="WRONG"' in html
    good = browser.post(url, {"action": "apply_coupon", "coupon_code": "launch20",
                              "csrfmiddlewaretoken": csrf})
    assert good.status_code == 303 and good["Location"] == url
    html = browser.get(url).content.decode()
    assert "Discount (LAUNCH20): −₦3,000.00" in html and "₦12,000.00 / month" in html
    assert 'value="LAUNCH20"' in html
    paid = browser.post(url, {**FORM, "csrfmiddlewaretoken": csrf})
    assert paid.status_code == 303
    assert charges() == [1_200_000]


def test_max_redemptions_and_expiry_are_checked_again_at_pay(api):
    coupon = make_coupon(api, maxRedemptions=1)
    first, second = make_session(api, couponCode="LAUNCH20"), make_session(
        api, couponCode="LAUNCH20")
    assert pay(APIClient(), first["token"]).json()["data"]["status"] == "completed"
    refused = pay(APIClient(), second["token"])
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "couponCode"
    assert "used up" in refused.json()["error"]["message"]
    assert times_redeemed(coupon) == 1 and charges() == [1_200_000]

    later = make_coupon(api, code="SOON")
    third = make_session(api, couponCode="SOON")
    with mode_context("test"):
        Coupon.objects.filter(pk=later["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1))
    refused = pay(APIClient(), third["token"])
    assert refused.status_code == 400 and "expired" in refused.json()["error"]["message"]


def test_a_claimed_pay_holds_a_redemption_and_is_honoured_at_settle(api, monkeypatch):
    """While one pay with the last redemption is at the rail, another is refused before
    any charge; the first is honoured even though the coupon expired and was deactivated
    between its claim and its settle (the customer was charged the discounted price)."""
    coupon = make_coupon(api, maxRedemptions=1)
    first, second = (make_session(api, couponCode="LAUNCH20") for _ in range(2))
    rail = get_rail("card")
    real = rail.charge
    during = []

    def charge(**kwargs):
        during.append(pay(APIClient(), second["token"], email="bo@example.com"))
        with mode_context("test"):
            Coupon.objects.filter(pk=coupon["id"]).update(
                active=False, expires_at=timezone.now() - timedelta(seconds=1))
        return real(**kwargs)

    monkeypatch.setattr(rail, "charge", charge)
    answer = pay(APIClient(), first["token"])
    assert answer.json()["data"]["status"] == "completed", answer.content
    [refused] = during
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "couponCode"
    assert charges() == [1_200_000] and times_redeemed(coupon) == 1
    with mode_context("test"):
        assert Invoice.objects.get().coupon_code == "LAUNCH20"


def test_a_declined_pay_gives_its_hold_back(api):
    coupon = make_coupon(api, maxRedemptions=1)
    first, second = (make_session(api, couponCode="LAUNCH20") for _ in range(2))
    declined = pay(APIClient(), first["token"], card={
        "number": "4000 0000 0000 0002", "expMonth": 12, "expYear": 2034, "cvc": "123"})
    assert declined.json()["data"]["status"] == "failed"
    assert pay(APIClient(), second["token"]).json()["data"]["status"] == "completed"
    assert times_redeemed(coupon) == 1


CONCURRENT = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_five_concurrent_pays_never_redeem_more_than_two(api, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = settings.DURO_PAY_RATE_PER_IP = 1000
    settings.DURO_PAY_RATE_PER_CARD = 1000
    settings.DURO_PAY_WAIT_SECONDS = 60
    coupon = make_coupon(api, maxRedemptions=2)
    plan = make_plan(api)
    sessions = [make_session(api, planId=plan["id"], couponCode="LAUNCH20")
                for _ in range(CONCURRENT)]
    barrier = threading.Barrier(CONCURRENT)
    answers, errors = [], []

    def one_pay(n: int, token: str):
        try:
            barrier.wait()
            response = pay(APIClient(), token, email=f"payer{n}@example.com", phone="")
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pay, args=(n, s["token"]))
               for n, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    completed = [a for code, a in answers if code == 200 and a["data"]["status"] == "completed"]
    refused = [a for code, a in answers if code == 400]
    assert len(completed) == 2 and len(refused) == CONCURRENT - 2, answers
    assert all(a["error"]["param"] == "couponCode" for a in refused)
    assert times_redeemed(coupon) == 2
    assert charges() == [1_200_000, 1_200_000]
    with mode_context("test"):
        assert SandboxCharge.objects.count() == 2
        assert Invoice.objects.filter(coupon_code="LAUNCH20").count() == 2


def test_a_session_tries_a_limited_number_of_promo_codes(api, settings):
    """Neither the page's Apply nor the JSON pay is an oracle for guessing codes."""
    settings.DURO_COUPON_TRIES_PER_TOKEN = 2
    make_coupon(api)
    session = make_session(api, allowCoupons=True)
    url = f"/checkout/{session['token']}"
    browser = Client()
    answers = [browser.post(url, {"action": "apply_coupon", "coupon_code": f"GUESS{n}"})
               for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Too many promo codes tried" in answers[2].content.decode()
    paid = Client().post(f"/v1/public/checkout/{session['token']}/pay",
                         {"email": "ada@example.com", "rail": "card", "couponCode": "launch20",
                          "card": {"number": "4242424242424242", "expMonth": 12,
                                   "expYear": 2034, "cvc": "123"}},
                         content_type="application/json")
    assert paid.status_code == 429 and paid.json()["error"]["code"] == "rate_limited"
    assert charges() == []


def test_the_receipt_shows_the_price_the_discount_and_the_vat(api):
    from django.core import mail

    from billing.receipts import receipt_deliver, receipt_for_invoice

    assert api.patch("/v1/merchant", {"tax": {"vatRate": "7.5"}},
                     format="json").status_code == 200
    make_coupon(api)
    session = make_session(api, couponCode="launch20")
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    done = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    with mode_context("test"):
        invoice = Invoice.objects.get(pk=done["invoiceId"])
        receipt_deliver(receipt=receipt_for_invoice(invoice))
    [message] = mail.outbox
    # ₦15,000 − 20 % = ₦12,000; VAT 7.5 % of it = ₦900; charged ₦12,900
    for line in ("Subtotal:   ₦15,000.00", "Discount (LAUNCH20): −₦3,000.00",
                 "VAT 7.5 %:  ₦900.00", "Amount:     ₦12,900.00"):
        assert line in message.body, message.body
    html = message.alternatives[0][0]
    assert "Discount (LAUNCH20)" in html and "VAT 7.5 %" in html
