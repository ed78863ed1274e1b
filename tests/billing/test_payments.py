"""The one settlement path: every answer is applied once, decided from rows re-read under lock.

The rail is slowed down the way a real processor is slow: while it "charges",
the merchant acts on the subscription in its own transaction, and the
settlement must see what the merchant did.
"""

from datetime import UTC, datetime, timedelta

import pytest

from billing import tasks
from billing.attempts import attempt_open
from billing.models import Invoice, PaymentAttempt, Refund, SandboxRefund, Subscription
from billing.payments import Outcome, payments_settle
from billing.rails import get_rail
from billing.rails.base import ChargeResult
from billing.renewals import renewals_run
from billing.subscriptions import subscription_cancel
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # Feb 15 00:00 in Lagos
NOW = RENEWAL + timedelta(minutes=1)


def _cancel_during_the_charge(monkeypatch, merchant_id: str, sub_id: str, *, at_period_end: bool):
    rail = get_rail("card")
    charge = rail.charge_authorization

    def slow_charge(**kwargs):
        subscription_cancel(merchant_id=merchant_id, subscription_id=sub_id,
                            at_period_end=at_period_end, now=NOW)
        return charge(**kwargs)

    monkeypatch.setattr(rail, "charge_authorization", slow_charge)


def _renewal_invoice(sub: Subscription) -> Invoice:
    return Invoice.objects.filter(subscription=sub).order_by("-number").first()


def test_a_renewal_paid_after_a_cancel_now_leaves_the_invoice_void_and_is_refunded(
        merchant, monkeypatch, django_capture_on_commit_callbacks):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(metadata={"orderId": "ord_7"})
    _cancel_during_the_charge(monkeypatch, merchant.id, sub.pk, at_period_end=False)
    queued = []
    monkeypatch.setattr(tasks.refund_execute_task, "apply_async",
                        lambda args, **options: queued.append(args))
    with mode_context("test"), django_capture_on_commit_callbacks(execute=True, using="test"):
        report = renewals_run(now=NOW)
    with mode_context("test"):
        sub.refresh_from_db()
        invoice = _renewal_invoice(sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        [refund] = Refund.objects.filter(payment=attempt)
    assert report.renewed == 0
    assert sub.status == "canceled" and sub.invoices_paid == 1
    assert invoice.status == "void" and invoice.paid_at is None and invoice.receipt_status == ""
    assert attempt.status == "succeeded"  # the rail took the money: recorded as it happened
    assert "subscription_payment_success" not in event_types(merchant.id)
    # ...and gives it back: a full refund, opened with the settlement, asked after commit.
    assert (refund.status, refund.reason, refund.amount) == (
        "pending", "subscription_canceled", attempt.amount)
    assert queued == [("test", refund.pk)]
    assert tasks.refund_execute_task(*queued[0]) == "succeeded"  # what the worker does
    with mode_context("test"):
        attempt.refresh_from_db()
        invoice.refresh_from_db()
        [event] = Event.objects.filter(merchant_id=merchant.id, type="refund_succeeded")
        assert SandboxRefund.objects.get(pk=refund.pk).charge_key == attempt.idempotency_key
    assert attempt.amount_refunded == attempt.amount == invoice.amount_refunded
    assert invoice.status == "void"
    assert event.data["refund"]["id"] == refund.pk
    assert event.data["refund"]["reason"] == "subscription_canceled"
    assert event.data["payment"]["id"] == attempt.pk
    assert event.data["payment"]["amountRefunded"] == attempt.amount
    assert event.data["invoice"]["status"] == "void"
    assert event.data["metadata"] == {"orderId": "ord_7"}


def test_a_second_charge_on_an_invoice_paid_meanwhile_is_refunded_as_a_duplicate(merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        renewals_run(now=NOW)
        invoice = _renewal_invoice(sub)
        late = attempt_open(merchant_id=merchant.id, rail="card", amount=invoice.amount,
                            currency="NGN", customer=sub.customer, invoice=invoice,
                            idempotency_key=f"{invoice.pk}:late", card=sub.card)
        result = get_rail("card").charge_authorization(
            mode="test", amount=invoice.amount, currency="NGN",
            authorization=sub.card.authorization, idempotency_key=late.idempotency_key)
        [settled] = payments_settle([Outcome(late.pk, result)], now=NOW)
        [refund] = Refund.objects.filter(payment=late)
        sub.refresh_from_db()
    assert settled.status == "succeeded" and settled.events == []
    assert (refund.reason, refund.amount, refund.status) == ("duplicate", invoice.amount,
                                                             "pending")
    assert sub.invoices_paid == 2 and sub.period_index == 1  # paid once, advanced once
    assert event_types(merchant.id).count("subscription_payment_success") == 1


def test_a_lost_refund_task_is_picked_up_by_the_sweep(merchant, monkeypatch):
    sub = subscribe(merchant.id)
    _cancel_during_the_charge(monkeypatch, merchant.id, sub.pk, at_period_end=False)
    with mode_context("test"):
        renewals_run(now=NOW)  # the after-commit queueing never ran (the broker was down)
        [refund] = Refund.objects.all()
        assert tasks.refunds_recover_task("test") == 0  # too fresh: its task goes first
        Refund.objects.filter(pk=refund.pk).update(updated_at=NOW - timedelta(minutes=5))
    assert tasks.refunds_recover_task("test") == 1
    with mode_context("test"):
        refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert event_types(merchant.id)[-1] == "refund_succeeded"


def test_a_renewal_declined_after_a_cancel_now_does_not_reopen_the_invoice(merchant,
                                                                           monkeypatch):
    sub = subscribe(merchant.id, authorization="sbx_fail_x")
    _cancel_during_the_charge(monkeypatch, merchant.id, sub.pk, at_period_end=False)
    with mode_context("test"):
        renewals_run(now=NOW)
        sub.refresh_from_db()
        invoice = _renewal_invoice(sub)
    assert sub.status == "canceled" and invoice.status == "void"
    assert event_types(merchant.id)[-1] == "subscription_canceled"
    assert "subscription_payment_failed" not in event_types(merchant.id)


def test_a_cancel_at_period_end_during_the_charge_is_kept(merchant, monkeypatch):
    sub = subscribe(merchant.id)
    _cancel_during_the_charge(monkeypatch, merchant.id, sub.pk, at_period_end=True)
    with mode_context("test"):
        renewals_run(now=NOW)
        sub.refresh_from_db()
    assert sub.status == "non_renewing" and sub.invoices_paid == 2
    assert sub.next_attempt_at == sub.current_period_end  # it ends when the paid period ends
    with mode_context("test"):
        renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
        assert sub.status == "canceled"
        assert Invoice.objects.filter(subscription=sub).count() == 2  # no third charge


def test_the_same_answer_twice_is_applied_once(merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        renewals_run(now=NOW)
        invoice = _renewal_invoice(sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        again = payments_settle([Outcome(attempt.pk, ChargeResult(status="succeeded"))],
                                now=NOW + timedelta(hours=1))
        sub.refresh_from_db()
    assert [s.applied for s in again] == [False]
    assert sub.invoices_paid == 2 and sub.period_index == 1
    assert event_types(merchant.id).count("subscription_payment_success") == 1


def test_a_late_decline_cannot_undo_a_success(merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        renewals_run(now=NOW)
        attempt = PaymentAttempt.objects.get(invoice=_renewal_invoice(sub))
        payments_settle([Outcome(attempt.pk, ChargeResult(status="failed",
                                                          failure_code="card_declined"))],
                        now=NOW)
        attempt.refresh_from_db()
        sub.refresh_from_db()
    assert attempt.status == "succeeded" and sub.status == "active"


def test_a_second_payment_for_a_completed_session_is_refunded_as_a_duplicate(
        api, merchant, monkeypatch, django_capture_on_commit_callbacks):
    """The first attempt's answer is lost (a crash after the charge); the session is paid
    again by a second attempt; then the sweep learns from the rail that the first one
    succeeded too. Its money is given back, and nothing is created twice."""
    from rest_framework.test import APIClient

    import checkout.pay
    from checkout.models import CheckoutSession
    from checkout.pay import attempts_recover
    from tests.checkout.factories import make_session, pay

    session = make_session(api)
    real_settle = checkout.pay.attempt_settle

    def crash(**kwargs):
        raise RuntimeError("the web process died after the charge")

    monkeypatch.setattr(checkout.pay, "attempt_settle", crash)
    assert pay(APIClient(), session["token"]).status_code == 500
    monkeypatch.setattr(checkout.pay, "attempt_settle", real_settle)
    with mode_context("test"):
        first = PaymentAttempt.objects.get()
        # The session is reopened (as a rail's timeout would) and the customer pays again.
        CheckoutSession.objects.filter(pk=session["id"]).update(status="open")
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["payment"]["id"] != first.pk

    queued = []
    monkeypatch.setattr(tasks.refund_execute_task, "apply_async",
                        lambda args, **options: queued.append(args))
    later = first.updated_at + timedelta(minutes=5)
    with mode_context("test"), django_capture_on_commit_callbacks(execute=True, using="test"):
        assert attempts_recover(now=later) == 1
    with mode_context("test"):
        first.refresh_from_db()
        [refund] = Refund.objects.all()
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
    assert first.status == "succeeded" and first.invoice_id is None
    assert first.customer_id == verify["customerId"]
    assert (refund.payment_id, refund.reason, refund.amount) == (first.pk, "duplicate",
                                                                 first.amount)
    assert api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"] == verify
    assert event_types(merchant.id) == ["subscription_created", "subscription_payment_success"]
    assert queued == [("test", refund.pk)]
    assert tasks.refund_execute_task(*queued[0]) == "succeeded"
    payment = api.get(f"/v1/payments/{first.pk}").json()["data"]
    assert payment["amountRefunded"] == payment["amount"] == 1_500_000
    assert payment["sessionId"] == session["id"] and payment["refunds"][0]["reason"] == "duplicate"
    with mode_context("test"):
        [event] = Event.objects.filter(type="refund_succeeded")
    assert event.data["payment"] == payment and event.data["invoice"] is None
    assert event.data["metadata"] == {"orderId": "ord_42"}  # the session's: the merchant's order
