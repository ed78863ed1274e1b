"""The renewal engine: renew, dun, cancel, complete, trial notice, and no double charge."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.cycle import local_date
from billing.models import DunningPolicy, Invoice, PaymentAttempt, SandboxCharge, Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

LAGOS = "Africa/Lagos"
RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # Feb 15 00:00 in Lagos


def run(now: datetime, mode: str = "test"):
    with mode_context(mode):
        return renewals_run(now=now)


def reload(sub: Subscription) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.get(pk=sub.pk)


def invoices(sub: Subscription) -> list[Invoice]:
    with mode_context("test"):
        return list(Invoice.objects.filter(subscription=sub).order_by("number"))


def test_nothing_is_due_before_the_period_ends(merchant):
    sub = subscribe(merchant.id)
    assert sub.next_attempt_at == RENEWAL
    assert run(RENEWAL - timedelta(seconds=1)).claimed == 0
    assert len(invoices(sub)) == 1


def test_a_due_subscription_renews_once(merchant):
    sub = subscribe(merchant.id)
    report = run(RENEWAL + timedelta(minutes=1))
    assert (report.claimed, report.renewed) == (1, 1)
    sub = reload(sub)
    assert sub.status == "active" and sub.period_index == 1 and sub.invoices_paid == 2
    assert local_date(sub.current_period_start, LAGOS).isoformat() == "2025-02-15"
    assert local_date(sub.current_period_end, LAGOS).isoformat() == "2025-03-15"
    assert sub.next_attempt_at == sub.current_period_end
    first, second = invoices(sub)
    assert (first.number, second.number) == (1, 2)
    assert second.status == "paid" and second.amount == 1_500_000
    assert second.period_start == sub.current_period_start
    with mode_context("test"):
        payment = PaymentAttempt.objects.get(invoice=second)
        assert payment.status == "succeeded" and payment.idempotency_key == second.id
        assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
        assert SandboxCharge.objects.filter(pk=second.id).count() == 1
        event = Event.objects.get(type="subscription_payment_success")
    assert event.data["subscription"]["id"] == sub.id
    assert event.data["subscription"]["status"] == "active"
    assert event.data["invoice"]["number"] == 2
    assert event.data["invoice"]["payments"][0]["card"]["last4"] == "4242"
    assert event.data["payment"]["status"] == "succeeded"
    assert event.data["customer"]["email"].startswith("ada")
    # Run again at the same moment: nothing more is due, nothing is charged twice.
    assert run(RENEWAL + timedelta(minutes=2)).claimed == 0
    assert len(invoices(sub)) == 2


def test_a_late_run_catches_up_period_by_period(merchant):
    sub = subscribe(merchant.id)
    report = run(datetime(2025, 5, 20, tzinfo=UTC))
    assert report.renewed == 4  # Feb, Mar, Apr, May
    assert [i.number for i in invoices(sub)] == [1, 2, 3, 4, 5]
    days = [local_date(i.period_start, LAGOS).isoformat() for i in invoices(sub)]
    assert days == ["2025-01-15", "2025-02-15", "2025-03-15", "2025-04-15", "2025-05-15"]


def test_month_end_anchor_renews_on_the_last_day(merchant):
    sub = subscribe(merchant.id, paid_at=datetime(2025, 1, 31, 8, tzinfo=UTC))
    run(datetime(2025, 5, 1, tzinfo=UTC))
    days = [local_date(i.period_start, LAGOS).isoformat() for i in invoices(sub)]
    assert days == ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]


def test_failed_renewal_dunning_then_cancel(merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    sub = reload(sub)
    assert sub.status == "past_due" and sub.dunning_attempts == 1
    assert sub.next_attempt_at == RENEWAL + timedelta(days=1)
    assert sub.period_index == 0  # the period advances only when paid
    (_, invoice) = invoices(sub)
    assert invoice.status == "open"
    assert event_types(merchant.id) == ["subscription_payment_failed"]

    assert run(RENEWAL + timedelta(hours=23)).claimed == 0  # not before day 1
    run(RENEWAL + timedelta(days=1))
    assert reload(sub).next_attempt_at == RENEWAL + timedelta(days=3)
    run(RENEWAL + timedelta(days=3))
    assert reload(sub).next_attempt_at == RENEWAL + timedelta(days=5)
    run(RENEWAL + timedelta(days=5))
    sub = reload(sub)
    assert sub.status == "canceled" and sub.next_attempt_at is None
    assert [i.status for i in invoices(sub)] == ["paid", "uncollectible"]
    assert len(invoices(sub)) == 2  # retries reuse the invoice
    with mode_context("test"):
        attempts = list(PaymentAttempt.objects.filter(invoice=invoice).order_by("created_at"))
        keys = [a.idempotency_key for a in attempts]
        assert SandboxCharge.objects.filter(pk__in=keys).count() == 4
    assert [a.status for a in attempts] == ["failed"] * 4
    assert keys == [invoice.id, f"{invoice.id}:2", f"{invoice.id}:3", f"{invoice.id}:4"]
    assert event_types(merchant.id) == ["subscription_payment_failed"] * 4 + [
        "subscription_canceled"]
    assert run(RENEWAL + timedelta(days=60)).claimed == 0


def test_a_retry_with_a_working_card_returns_to_active(merchant):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    with mode_context("test"):
        card = Subscription.objects.get(pk=sub.pk).card
        card.authorization, card.last4 = "sbx_ok_new", "4444"
        card.save()
    run(RENEWAL + timedelta(days=1))
    sub = reload(sub)
    assert sub.status == "active" and sub.period_index == 1 and sub.dunning_attempts == 0
    assert local_date(sub.current_period_end, LAGOS).isoformat() == "2025-03-15"
    assert sub.next_attempt_at == sub.current_period_end  # still on the anchor's day
    assert [i.status for i in invoices(sub)] == ["paid", "paid"]
    assert event_types(merchant.id) == ["subscription_payment_failed",
                                        "subscription_payment_success"]
    with mode_context("test"):
        event = Event.objects.get(type="subscription_payment_success")
    assert [p["status"] for p in event.data["invoice"]["payments"]] == ["failed", "succeeded"]


def test_merchant_dunning_policy(merchant, settings):
    settings.DURO_DUNNING_DAYS = [2]
    other = subscribe(merchant.id, authorization="sbx_fail_x")
    with mode_context("test"):
        DunningPolicy.objects.create(merchant_id="mer_other", retry_days=[4, 8])
    run(RENEWAL)
    assert reload(other).next_attempt_at == RENEWAL + timedelta(days=2)
    run(RENEWAL + timedelta(days=2))
    assert reload(other).status == "canceled"


def test_cancel_at_period_end_is_applied_by_the_engine(merchant):
    from billing.subscriptions import subscription_cancel

    sub = subscribe(merchant.id)
    with mode_context("test"):
        subscription_cancel(merchant_id=merchant.id, subscription_id=sub.pk, at_period_end=True,
                            now=RENEWAL - timedelta(days=3))
    assert reload(sub).status == "non_renewing"
    run(RENEWAL)
    sub = reload(sub)
    assert sub.status == "canceled" and sub.canceled_at == RENEWAL
    assert len(invoices(sub)) == 1
    assert event_types(merchant.id) == ["subscription_non_renewing", "subscription_canceled"]


def test_invoice_limit_completes_the_subscription(merchant):
    sub = subscribe(merchant.id, invoice_limit=3)
    run(datetime(2025, 6, 1, tzinfo=UTC))
    sub = reload(sub)
    assert sub.status == "completed" and sub.invoices_paid == 3
    assert [i.number for i in invoices(sub)] == [1, 2, 3]
    assert event_types(merchant.id) == ["subscription_payment_success"] * 2 + [
        "subscription_completed"]


def test_trial_notice_then_first_charge(merchant):
    sub = subscribe(merchant.id, trial_days=14)  # trial ends Jan 29 00:00 Lagos
    trial_end = datetime(2025, 1, 28, 23, tzinfo=UTC)
    assert sub.status == "trialing" and sub.trial_end == trial_end and sub.period_index == -1
    assert sub.next_attempt_at == trial_end - timedelta(days=3)
    assert run(trial_end - timedelta(days=3, seconds=1)).claimed == 0
    run(trial_end - timedelta(days=3))
    assert event_types(merchant.id) == ["subscription_trial_will_end"]
    run(trial_end - timedelta(days=1))  # no second notice
    assert event_types(merchant.id) == ["subscription_trial_will_end"]
    run(trial_end)
    sub = reload(sub)
    assert sub.status == "active" and sub.period_index == 0 and sub.invoices_paid == 1
    assert (sub.current_period_start, sub.next_attempt_at) == (trial_end, sub.current_period_end)
    assert local_date(sub.current_period_end, LAGOS).isoformat() == "2025-02-28"
    assert [i.number for i in invoices(sub)] == [1]
    assert event_types(merchant.id) == ["subscription_trial_will_end",
                                        "subscription_payment_success"]


def test_a_short_trial_sends_its_notice_at_once(merchant):
    sub = subscribe(merchant.id, trial_days=1, paid_at=datetime(2025, 1, 15, 9, tzinfo=UTC))
    run(datetime(2025, 1, 15, 9, 1, tzinfo=UTC))
    assert reload(sub).trial_will_end_sent
    assert event_types(merchant.id) == ["subscription_trial_will_end"]


def test_a_runner_that_died_after_claiming_is_taken_over(merchant, monkeypatch):
    """The claim committed (invoice, pending attempt, lease); the charge never ran."""
    import billing.renewals as engine

    sub = subscribe(merchant.id)

    def crash(renewal):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_charge", crash)
    with pytest.raises(KeyboardInterrupt):
        run(RENEWAL)
    monkeypatch.undo()
    assert run(RENEWAL + timedelta(minutes=5)).claimed == 0  # leased
    run(RENEWAL + engine.LEASE)
    sub = reload(sub)
    assert sub.status == "active" and sub.period_index == 1
    assert [i.number for i in invoices(sub)] == [1, 2]
    with mode_context("test"):
        assert PaymentAttempt.objects.filter(invoice__subscription=sub).count() == 1
        assert SandboxCharge.objects.count() == 1


def test_subscriptions_on_a_test_clock_are_left_to_their_clock(merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(clock=RENEWAL - timedelta(days=1))
    assert run(RENEWAL + timedelta(days=1)).claimed == 0


def test_modes_are_separate(merchant):
    live = subscribe(merchant.id, mode="live", authorization="sbx_ok_live")
    subscribe(merchant.id)
    assert run(RENEWAL, mode="test").renewed == 1
    with mode_context("live"):
        report = renewals_run(now=RENEWAL)
        # Live mode needs a real processor: the charge is not attempted, the row stays leased.
        assert (report.claimed, report.errors, report.renewed) == (1, 1, 0)
        assert Subscription.objects.get(pk=live.pk).status == "active"
        assert PaymentAttempt.objects.get(invoice__number=2).status == "processing"


def test_after_an_outage_the_retries_keep_their_spacing(merchant):
    """The engine was down for six days: the renewal fails late, and its retries still come
    1, 2 and 2 days apart (the spacing of [1, 3, 5]), not back to back."""
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    at = RENEWAL + timedelta(days=6)
    attempts = []
    while at is not None:  # beat runs the engine whenever something is due
        run(at)
        attempts.append(at)
        at = reload(sub).next_attempt_at
    assert [a - RENEWAL for a in attempts] == [timedelta(days=d) for d in (6, 7, 9, 11)]
    sub = reload(sub)
    assert sub.status == "canceled" and sub.canceled_at == RENEWAL + timedelta(days=11)
    assert event_types(merchant.id) == ["subscription_payment_failed"] * 4 + [
        "subscription_canceled"]
