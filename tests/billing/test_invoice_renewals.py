"""Renewals without a reusable authorization (first paid by transfer): no charge, the invoice
is opened and its hosted link emailed; unpaid it follows dunning with reminders, then
``past_due`` → ``canceled`` with the invoice void; paid on its page it renews."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connections
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError

from billing import tasks
from billing.attempts import attempt_open
from billing.models import DunningPolicy, Invoice, PaymentAttempt, SandboxCharge, Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # Feb 15 00:00 in Lagos
DAY = timedelta(days=1)


def subscribe_without_card(merchant_id: str, **kwargs) -> Subscription:
    """As a checkout paid by bank transfer leaves it: no saved card."""
    sub = subscribe(merchant_id, **kwargs)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
    return sub


@pytest.fixture
def sent(monkeypatch):
    """Run the queued invoice emails at once, as a worker would."""
    queued = []

    def run_now(args, **kwargs):
        queued.append(args)
        tasks.send_invoice_notice(*args)

    monkeypatch.setattr(tasks.send_invoice_notice, "apply_async", run_now)
    return queued


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run_at(now: datetime):
        with mode_context("test"), django_capture_on_commit_callbacks(execute=True,
                                                                      using="test"):
            return renewals_run(now=now)
    return run_at


def state(sub: Subscription) -> tuple[Subscription, Invoice]:
    with mode_context("test"):
        sub = Subscription.objects.select_related("customer").get(pk=sub.pk)
        return sub, Invoice.objects.get(subscription=sub, number=2)


def test_a_renewal_without_a_card_opens_the_invoice_and_emails_its_link(merchant, run, sent,
                                                                         settings):
    settings.DURO_PUBLIC_URL = "https://pay.duro.example"
    sub = subscribe_without_card(merchant.id)
    report = run(RENEWAL + timedelta(minutes=1))
    assert (report.claimed, report.renewed, report.failed) == (1, 0, 1)
    sub, invoice = state(sub)
    assert invoice.status == "open" and invoice.amount == 1_500_000
    assert invoice.hosted_token.startswith("in_test_") and len(invoice.hosted_token) == 40
    assert invoice.merchant_name == "Acme Gym"
    assert (invoice.notice_status, invoice.notice_step) == ("sent", 0)
    with mode_context("test"):  # nothing was charged, nothing was even attempted
        assert PaymentAttempt.objects.count() == 0 and SandboxCharge.objects.count() == 0
    # The period it paid for has ended unpaid: the first step of the dunning schedule.
    assert sub.status == "past_due" and sub.dunning_attempts == 1
    assert invoice.period_start == RENEWAL
    assert sub.next_attempt_at == RENEWAL + DAY + timedelta(minutes=1)  # the first reminder
    assert event_types(merchant.id) == ["subscription_payment_failed"]
    [email] = mail.outbox
    assert email.to == [sub.customer.email]
    assert "Your invoice from Acme Gym" in email.subject and "INV-000002" in email.subject
    link = f"https://pay.duro.example/invoice/{invoice.hosted_token}"
    assert link in email.body and link in email.alternatives[0][0]
    assert "₦15,000.00" in email.body and "Reminder" not in email.subject


def test_each_dunning_step_emails_a_reminder_then_the_subscription_is_canceled(merchant, run,
                                                                                sent):
    sub = subscribe_without_card(merchant.id)
    run(RENEWAL + timedelta(minutes=1))
    first_token = state(sub)[1].hosted_token
    run(RENEWAL + DAY + timedelta(minutes=1))   # day 1: reminder 1
    sub_now, invoice = state(sub)
    assert (sub_now.status, sub_now.dunning_attempts) == ("past_due", 2)
    assert (invoice.notice_step, invoice.notice_status) == (1, "sent")
    assert invoice.hosted_token == first_token  # the same link all along
    run(RENEWAL + 3 * DAY + timedelta(minutes=1))   # day 3: reminder 2
    assert state(sub)[1].notice_step == 2
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 3 and subjects[0].startswith("Your invoice")
    assert all(s.startswith("Reminder: your invoice from Acme Gym") for s in subjects[1:])
    report = run(RENEWAL + 5 * DAY + timedelta(minutes=1))   # day 5: the schedule is spent
    assert report.canceled == 1
    sub_now, invoice = state(sub)
    assert sub_now.status == "canceled" and sub_now.next_attempt_at is None
    assert invoice.status == "void"
    assert len(mail.outbox) == 3  # no reminder for a void invoice
    assert event_types(merchant.id) == ["subscription_payment_failed"] * 4 + [
        "subscription_canceled"]
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0
    assert run(RENEWAL + 40 * DAY).claimed == 0


def test_a_reminders_event_lists_what_the_customer_tried_on_the_page(merchant, run, sent):
    sub = subscribe_without_card(merchant.id)
    run(RENEWAL + timedelta(minutes=1))
    invoice = state(sub)[1]
    with mode_context("test"):  # a transfer opened on the invoice's page, never sent
        tried = attempt_open(merchant_id=merchant.id, rail="bank_transfer",
                             amount=invoice.amount, currency="NGN", invoice=invoice)
        PaymentAttempt.objects.filter(pk=tried.pk).update(status="failed",
                                                          failure_code="transfer_expired")
    run(RENEWAL + DAY + timedelta(minutes=1))   # day 1: reminder 1
    with mode_context("test"):
        first, reminder = Event.objects.order_by("created_at", "id")
    assert first.data["invoice"]["payments"] == []
    [payment] = reminder.data["invoice"]["payments"]
    assert (payment["id"], payment["status"], payment["rail"]) == (tried.pk, "failed",
                                                                   "bank_transfer")


def _statements_to_renew(merchant, count: int) -> list[str]:
    subs = [subscribe_without_card(merchant.id) for _ in range(count)]
    with mode_context("test"), CaptureQueriesContext(connections["test"]) as store:
        report = renewals_run(now=RENEWAL + timedelta(minutes=1))
    assert (report.claimed, report.failed) == (count, count)
    with mode_context("test"):
        assert Invoice.objects.filter(subscription__in=subs, status="open",
                                      hosted_token__startswith="in_test_").count() == count
    return [q["sql"] for q in store.captured_queries]


@pytest.mark.postgres
def test_the_invoice_path_costs_the_same_statements_for_one_renewal_or_a_batch(merchant):
    """A batch's statements do not depend on its size: the claim, the invoices numbered and
    inserted, their links and the subscriptions written (one pipelined ``executemany``
    each), the events inserted at once; no statement per invoice (its payments, its event,
    the endpoints) as there used to be five."""
    one = _statements_to_renew(merchant, 1)
    batch = _statements_to_renew(merchant, 6)  # the first one is not due again for a day
    assert len(batch) == len(one)
    assert not [sql for sql in batch if 'FROM "billing_paymentattempt"' in sql]


def test_the_merchants_own_schedule_sets_the_reminders(merchant, run, sent):
    with mode_context("test"):
        DunningPolicy.objects.create(merchant_id=merchant.id, retry_days=[2])
    sub = subscribe_without_card(merchant.id)
    run(RENEWAL + timedelta(minutes=1))
    assert state(sub)[0].next_attempt_at == RENEWAL + 2 * DAY + timedelta(minutes=1)
    assert run(RENEWAL + DAY + timedelta(minutes=1)).claimed == 0
    run(RENEWAL + 2 * DAY + timedelta(minutes=1))
    assert state(sub)[0].status == "canceled" and len(mail.outbox) == 1


def test_a_card_subscription_is_still_charged(merchant, run, sent):
    sub = subscribe(merchant.id)
    assert run(RENEWAL + timedelta(minutes=1)).renewed == 1
    sub, invoice = state(sub)
    assert invoice.status == "paid" and invoice.hosted_token is None
    assert mail.outbox == [] and sent == []


def test_an_email_lost_with_the_broker_is_sent_by_the_sweep(merchant, run, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(tasks.send_invoice_notice, "apply_async", broker_down)
    sub = subscribe_without_card(merchant.id)
    run(RENEWAL + timedelta(minutes=1))
    invoice = state(sub)[1]
    assert invoice.notice_status == "pending" and mail.outbox == []
    queued = []
    monkeypatch.setattr(tasks.send_invoice_notice, "delay", lambda *args: queued.append(args))
    assert tasks.invoice_notices_sweep("test") == 0  # the engine's own send goes first
    with mode_context("test"):
        Invoice.objects.filter(pk=invoice.pk).update(
            notice_at=invoice.notice_at - timedelta(minutes=5))
    assert tasks.invoice_notices_sweep("test") == 1 and queued == [("test", invoice.pk)]
    assert tasks.send_invoice_notice(*queued[0]) == "sent"
    assert tasks.send_invoice_notice(*queued[0]) == "sent"  # asked twice, sent once
    assert len(mail.outbox) == 1 and tasks.invoice_notices_sweep("test") == 0


def test_beat_sweeps_invoice_emails_in_each_mode(settings):
    from duro.celery import app

    tasks_by_name = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "billing.invoice_notices_sweep" in tasks_by_name
    assert "billing.invoice_notices_sweep" in app.tasks


def test_a_checkout_paid_by_transfer_renews_through_the_invoice_page(
        api, merchant, sent, django_capture_on_commit_callbacks):
    """The README's walkthrough: pay by transfer, advance the test clock past the period."""
    from rest_framework.test import APIClient

    from tests.checkout.factories import make_session, pay

    session = make_session(api)
    public = APIClient()
    pay(public, session["token"], rail="bank_transfer", card={})
    public.post(f"/v1/public/checkout/{session['token']}/simulate", {"outcome": "paid"},
                format="json")
    sub_id = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["subscriptionId"]
    with mode_context("test"):
        sub = Subscription.objects.get(pk=sub_id)
    assert sub.card_id is None
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        advanced = api.post(f"/v1/subscriptions/{sub_id}/advance",
                            {"to": (sub.current_period_end + timedelta(hours=1)).isoformat()},
                            format="json")
    assert advanced.status_code == 200, advanced.content
    assert advanced.json()["data"]["status"] == "past_due"
    with mode_context("test"):
        invoice = Invoice.objects.get(subscription_id=sub_id, number=2)
    assert invoice.status == "open" and invoice.hosted_token.startswith("in_test_")
    assert sent == [("test", invoice.pk)] and len(mail.outbox) == 1
