"""Money an asynchronous rail delivers that cannot be applied as it is (API.md §9, §10):
the excess of an overpayment, all of an underpayment, a late payment, a second payment for a
completed session. Each is recorded as the bank sent it and refunded automatically."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.confirmations import payment_confirmed
from billing.models import Invoice, PaymentAttempt, Refund, Subscription
from billing.rails import get_rail
from billing.refunds import refunds_recover
from checkout.pay import attempts_recover
from duro.modes import mode_context
from tests.checkout.factories import card, make_session, pay
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

PRICE = 1_500_000  # the factory's plan: ₦15,000.00


def _transfer(client, token):
    answer = pay(client, token, rail="bank_transfer", card={})
    assert answer.json()["data"]["status"] == "processing", answer.content
    return answer.json()["data"]


def _simulate(client, token, outcome):
    return client.post(f"/v1/public/checkout/{token}/simulate", {"outcome": outcome},
                       format="json")


def _refunds_run() -> None:
    """What the refund task (or its sweep) does after commit."""
    with mode_context("test"):
        refunds_recover(now=timezone.now() + timedelta(minutes=3))


def _refund_events() -> list[dict]:
    with mode_context("test"):
        return [e.data for e in Event.objects.filter(type="refund_succeeded").order_by("id")]


def test_an_overpayment_completes_the_session_and_refunds_the_excess(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    done = _simulate(public, session["token"], "overpaid").json()["data"]
    assert done["status"] == "completed"
    with mode_context("test"):
        payment = PaymentAttempt.objects.get()
        invoice = Invoice.objects.get()
        [refund] = Refund.objects.all()
    assert (payment.status, payment.amount) == ("succeeded", 1_650_000)  # what the bank sent
    assert (invoice.status, invoice.amount) == ("paid", PRICE)  # what was bought
    assert (refund.reason, refund.amount, refund.status) == ("overpayment", 150_000, "pending")
    _refunds_run()
    [event] = _refund_events()
    assert event["refund"]["reason"] == "overpayment" and event["refund"]["amount"] == 150_000
    assert event["payment"]["amountRefunded"] == 150_000
    assert event["metadata"] == {"orderId": "ord_42"}
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    assert verify["payment"]["amount"] == 1_650_000


def test_an_underpayment_is_refunded_in_full_and_the_session_reopens(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    answer = _simulate(public, session["token"], "underpaid").json()["data"]
    assert answer["status"] == "failed" and answer["error"]["code"] == "underpaid"
    assert "₦7,500.00 arrived" in answer["error"]["message"]
    assert "₦15,000.00" in answer["error"]["message"]
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "open"  # the page, polling, reloads and says what arrived
    page = public.get(f"/checkout/{session['token']}")
    assert "₦7,500.00 arrived" in page.content.decode() and 'name="rail"' in page.content.decode()
    with mode_context("test"):
        assert Subscription.objects.count() == 0 and Invoice.objects.count() == 0
        [refund] = Refund.objects.all()
    assert (refund.reason, refund.amount) == ("underpayment", 750_000)
    _refunds_run()
    [event] = _refund_events()
    assert event["refund"]["reason"] == "underpayment" and event["invoice"] is None
    # The customer pays the right amount after all: it completes, and is no "duplicate".
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"
    with mode_context("test"):
        assert Subscription.objects.count() == 1 and Refund.objects.count() == 1


def test_money_after_the_account_expired_is_refunded_as_late(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    answer = _simulate(public, session["token"], "late").json()["data"]
    assert answer["status"] == "failed" and answer["error"]["code"] == "late"
    with mode_context("test"):
        payment = PaymentAttempt.objects.get()
        [refund] = Refund.objects.all()
        assert Subscription.objects.count() == 0
    assert (payment.status, payment.amount) == ("succeeded", PRICE)
    assert (refund.reason, refund.amount) == ("late", PRICE)
    # asked again, nothing more happens
    again = _simulate(public, session["token"], "late").json()["data"]
    assert again["error"]["code"] == "late"
    with mode_context("test"):
        assert Refund.objects.count() == 1
    _refunds_run()
    assert [e["refund"]["reason"] for e in _refund_events()] == ["late"]


def test_money_for_an_account_the_sweep_expired_is_late(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    with mode_context("test"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=31)) == 1
    answer = _simulate(public, session["token"], "late").json()["data"]
    assert answer["error"]["code"] == "late"
    with mode_context("test"):
        assert Refund.objects.get().reason == "late"


def test_money_arriving_after_expires_at_but_before_the_sweep_is_late(api):
    """The settle decides from the account's expiry, not from whether a sweep ran."""
    public = APIClient()
    session = make_session(api)
    answer = _transfer(public, session["token"])
    with mode_context("test"):
        attempt = PaymentAttempt.objects.get()
        shown = dict(attempt.instructions["transfer"], expiresAt="2020-01-01T00:00:00Z")
        PaymentAttempt.objects.filter(pk=attempt.pk).update(instructions={"transfer": shown})
    assert answer["transfer"]["expiresAt"] > "2020"
    late = _simulate(public, session["token"], "paid").json()["data"]
    assert late["status"] == "failed" and late["error"]["code"] == "late"
    with mode_context("test"):
        assert Refund.objects.get().reason == "late" and Subscription.objects.count() == 0


def test_paying_by_card_while_a_transfer_is_awaited_and_then_the_transfer_arrives(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"
    with mode_context("test"):
        transfer = PaymentAttempt.objects.get(rail="bank_transfer")
        rail = get_rail("bank_transfer")
        payment_confirmed(attempt_id=transfer.pk, result=rail.simulate(
            mode="test", idempotency_key=transfer.pk, outcome="paid"))
        transfer.refresh_from_db()
        [refund] = Refund.objects.all()
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
    assert transfer.status == "succeeded" and transfer.invoice_id is None
    assert (refund.payment_id, refund.reason, refund.amount) == (transfer.pk, "duplicate", PRICE)
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "card"


def test_a_transfer_left_for_a_declined_card_can_still_complete_the_session(api):
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    declined = pay(public, session["token"], card=card("4000 0000 0000 0002")).json()["data"]
    assert declined["status"] == "failed"
    with mode_context("test"):
        transfer = PaymentAttempt.objects.get(rail="bank_transfer")
        payment_confirmed(attempt_id=transfer.pk, result=get_rail("bank_transfer").simulate(
            mode="test", idempotency_key=transfer.pk, outcome="paid"))
        assert Refund.objects.count() == 0 and Subscription.objects.count() == 1
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "completed"


def test_the_same_transfer_asked_again_keeps_its_account_until_it_expires(api):
    public = APIClient()
    session = make_session(api)
    first = _transfer(public, session["token"])["transfer"]
    assert _transfer(public, session["token"])["transfer"] == first
    with mode_context("test"):
        attempt = PaymentAttempt.objects.get()
        shown = dict(attempt.instructions["transfer"], expiresAt="2020-01-01T00:00:00Z")
        PaymentAttempt.objects.filter(pk=attempt.pk).update(instructions={"transfer": shown})
    fresh = _transfer(public, session["token"])["transfer"]
    assert fresh["accountNumber"] != first["accountNumber"]
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 2


def test_money_in_time_whose_confirmation_was_lost_is_applied_by_a_later_sweep(api):
    """Lateness is when the money arrived, not when Duro hears of it: a confirmation lost
    and found by the sweep after the account expired still pays."""
    public = APIClient()
    session = make_session(api)
    _transfer(public, session["token"])
    with mode_context("test"):
        attempt = PaymentAttempt.objects.get()
        get_rail("bank_transfer").simulate(mode="test", idempotency_key=attempt.pk,
                                           outcome="paid")  # the webhook never came
        assert attempts_recover(now=timezone.now() + timedelta(minutes=45)) == 1
        assert Refund.objects.count() == 0 and Subscription.objects.count() == 1
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "completed"


def test_the_waiting_page_lets_the_payer_pay_another_way_without_javascript(api):
    from django.test import Client

    session = make_session(api)
    browser = Client()
    url = f"/checkout/{session['token']}"
    browser.post(url, {"email": "ada@example.com", "rail": "bank_transfer"})
    waiting = browser.get(url).content.decode()
    assert 'id="transfer-account"' in waiting and f'href="{url}?another=1"' in waiting
    form = browser.get(f"{url}?another=1").content.decode()
    assert 'id="form-notice"' in form and 'name="card_number"' in form
    assert 'id="transfer-account"' not in form
    paid = browser.post(url, {"email": "ada@example.com", "rail": "card",
                              "card_number": "4242 4242 4242 4242", "card_expiry": "12/34",
                              "card_cvc": "123"})
    assert paid.status_code == 303 and "reference=" in paid["Location"]
    with mode_context("test"):
        assert PaymentAttempt.objects.filter(status="processing").count() == 1  # still watched
        assert Subscription.objects.count() == 1
