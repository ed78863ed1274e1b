"""The one settlement path: every answer is applied once, decided from rows re-read under lock.

The rail is slowed down the way a real processor is slow: while it "charges",
the merchant acts on the subscription in its own transaction, and the
settlement must see what the merchant did.
"""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Invoice, PaymentAttempt, Subscription
from billing.payments import Outcome, payments_settle
from billing.rails import get_rail
from billing.rails.base import ChargeResult
from billing.renewals import renewals_run
from billing.subscriptions import subscription_cancel
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe

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


def test_a_renewal_paid_after_a_cancel_now_leaves_the_invoice_void(merchant, monkeypatch):
    sub = subscribe(merchant.id)
    _cancel_during_the_charge(monkeypatch, merchant.id, sub.pk, at_period_end=False)
    with mode_context("test"):
        report = renewals_run(now=NOW)
        sub.refresh_from_db()
        invoice = _renewal_invoice(sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice)
    assert report.renewed == 0
    assert sub.status == "canceled" and sub.invoices_paid == 1
    assert invoice.status == "void" and invoice.paid_at is None and invoice.receipt_status == ""
    assert attempt.status == "succeeded"  # the rail took the money: recorded as it happened
    assert "subscription_payment_success" not in event_types(merchant.id)


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
