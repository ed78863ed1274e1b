"""An invoice paid by an asynchronous rail with the wrong amount (API.md §9, §10): too much
pays it and the excess goes back; too little pays nothing, is given back in full, and is no
decline (no dunning step); late money is given back."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.attempts import attempt_open
from billing.invoices import invoice_create
from billing.models import Invoice, PaymentAttempt, Refund, Subscription
from billing.payments import Outcome, payments_settle
from billing.rails.base import ChargeResult
from duro.db import atomic
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe

pytestmark = pytest.mark.django_db(databases="__all__")

PRICE = 1_500_000


def _renewal_attempt(merchant_id: str, *, expires: datetime | None = None) -> PaymentAttempt:
    sub = subscribe(merchant_id)
    with mode_context("test"), atomic():
        invoice = invoice_create(merchant_id=merchant_id, customer=sub.customer,
                                 subscription=sub, amount=PRICE, currency="NGN",
                                 period_start=sub.current_period_end,
                                 period_end=sub.current_period_end + timedelta(days=31))
        attempt = attempt_open(merchant_id=merchant_id, customer=sub.customer, rail="bank_transfer",
                               amount=PRICE, currency="NGN", invoice=invoice)
        if expires is not None:
            attempt.instructions = {"transfer": {"expiresAt": expires.isoformat()}}
            attempt.save(update_fields=["instructions"])
    return attempt


def _arrived(attempt: PaymentAttempt, amount: int) -> None:
    with mode_context("test"):
        payments_settle([Outcome(attempt.pk, ChargeResult(status="succeeded", reference="r",
                                                          amount=amount))])


def test_too_much_pays_the_invoice_and_the_excess_goes_back(merchant):
    attempt = _renewal_attempt(merchant.id)
    _arrived(attempt, PRICE + 20_000)
    _arrived(attempt, PRICE + 20_000)  # the bank's answer twice: applied once
    with mode_context("test"):
        attempt.refresh_from_db()
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        sub = Subscription.objects.get()
        [refund] = Refund.objects.all()
    assert (attempt.status, attempt.amount, invoice.status) == ("succeeded", 1_520_000, "paid")
    assert (refund.reason, refund.amount) == ("overpayment", 20_000)
    assert sub.invoices_paid == 2 and sub.status == "active"
    assert event_types(merchant.id)[-1] == "subscription_payment_success"


def test_too_little_pays_nothing_is_given_back_and_is_no_decline(merchant):
    attempt = _renewal_attempt(merchant.id)
    _arrived(attempt, 500_000)
    with mode_context("test"):
        attempt.refresh_from_db()
        invoice = Invoice.objects.get(pk=attempt.invoice_id)
        sub = Subscription.objects.get()
        [refund] = Refund.objects.all()
    assert (attempt.status, attempt.failure_code, invoice.status) == ("succeeded", "underpaid",
                                                                      "open")
    assert (refund.reason, refund.amount) == ("underpayment", 500_000)
    assert (sub.status, sub.dunning_attempts, sub.invoices_paid) == ("active", 0, 1)
    assert "subscription_payment_failed" not in event_types(merchant.id)


def test_money_after_the_invoice_payment_expired_is_late(merchant):
    attempt = _renewal_attempt(merchant.id, expires=datetime(2020, 1, 1, tzinfo=UTC))
    _arrived(attempt, PRICE)
    with mode_context("test"):
        attempt.refresh_from_db()
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "open"
        assert Refund.objects.get().reason == "late"
    assert (attempt.status, attempt.failure_code) == ("succeeded", "late")


def test_money_for_a_failed_attempt_is_late_and_applied_once(merchant):
    attempt = _renewal_attempt(merchant.id)
    with mode_context("test"):
        payments_settle([Outcome(attempt.pk, ChargeResult(status="failed",
                                                          failure_code="transfer_expired"))])
    _arrived(attempt, PRICE)
    _arrived(attempt, PRICE)
    with mode_context("test"):
        attempt.refresh_from_db()
        assert Refund.objects.get().reason == "late"
    assert (attempt.status, attempt.failure_code) == ("succeeded", "late")


def test_a_payers_own_failed_try_on_an_invoice_is_no_dunning_step(merchant):
    attempt = _renewal_attempt(merchant.id)  # opened without a key: the invoice page's
    with mode_context("test"):
        payments_settle([Outcome(attempt.pk, ChargeResult(status="failed",
                                                          failure_code="card_declined"))])
        sub = Subscription.objects.get()
        attempt.refresh_from_db()
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "open"
    assert attempt.status == "failed"
    assert (sub.status, sub.dunning_attempts) == ("active", 0)
    assert "subscription_payment_failed" not in event_types(merchant.id)


def test_the_sweep_settles_an_invoice_transfer_that_expired_or_arrived(merchant):
    from django.utils import timezone

    from billing.rails import get_rail
    from checkout.invoice_pay import invoice_attempts_recover as invoice_payments_recover

    rail = get_rail("bank_transfer")
    expired, arrived = _renewal_attempt(merchant.id), _renewal_attempt(merchant.id)
    with mode_context("test"):
        for attempt in (expired, arrived):
            rail.charge(mode="test", amount=PRICE, currency="NGN", details={},
                        idempotency_key=attempt.pk)
        rail.simulate(mode="test", idempotency_key=arrived.pk, outcome="paid")  # webhook lost
        now = timezone.now()
        assert invoice_payments_recover(now=now + timedelta(minutes=3)) == 1  # the paid one
        assert invoice_payments_recover(now=now + timedelta(minutes=31)) == 1  # expired
        assert invoice_payments_recover(now=now + timedelta(minutes=32)) == 0
        expired.refresh_from_db()
        arrived.refresh_from_db()
        assert Invoice.objects.get(pk=arrived.invoice_id).status == "paid"
        assert Invoice.objects.get(pk=expired.invoice_id).status == "open"
    assert (arrived.status, expired.status, expired.failure_code) == (
        "succeeded", "failed", "transfer_expired")
