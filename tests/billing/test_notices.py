"""Customer emails (API.md §12): a failed renewal, an expiring card, a trial ending and a
cancellation — branded, with what the customer needs, written with the change that causes
them, sent once, and only to the customer of that merchant in that mode."""

import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError

from billing import tasks
from billing.card_expiry import card_expiry_notices_open
from billing.models import Card, CustomerNotice, Invoice, Subscription
from billing.notices import customer_notice_send, notices_open
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.appearance.conftest import image_bytes
from tests.billing.conftest import PAID_AT, subscribe

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # Feb 15 00:00 in Lagos: the first renewal
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def sent(monkeypatch):
    """Run the queued customer emails at once, as a worker would."""
    queued = []

    def run_now(args, **kwargs):
        queued.append(args)
        tasks.send_customer_notice(*args)

    monkeypatch.setattr(tasks.send_customer_notice, "apply_async", run_now)
    return queued


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the after-commit work of the test store (the queueing) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True, using="test")


@pytest.fixture
def run(on_commit):
    def run_at(now: datetime, mode: str = "test"):
        with mode_context(mode), on_commit():
            return renewals_run(now=now)
    return run_at


def notices(sub: Subscription, mode: str = "test") -> list[CustomerNotice]:
    with mode_context(mode):
        return list(CustomerNotice.objects.filter(subscription=sub).order_by("created_at", "id"))


def html_of(email) -> str:
    [(html, kind)] = email.alternatives
    assert kind == "text/html"
    return html


def expiring_card(sub: Subscription, month: int, year: int, mode: str = "test") -> None:
    with mode_context(mode):
        Card.objects.filter(pk=sub.card_id).update(exp_month=month, exp_year=year)


# --- a failed renewal -------------------------------------------------------------------

def test_a_declined_renewal_emails_the_reason_amount_retry_date_and_a_pay_now_link(
        merchant, run, sent, brand, settings):
    settings.DURO_PUBLIC_URL = "https://pay.duro.example"
    brand(logo=image_bytes(), brand_color="#7b1fa2", support_contact="help@acme.test")
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    [email] = mail.outbox
    assert email.to == [sub.customer.email] and email.reply_to == ["help@acme.test"]
    assert email.subject == "Your payment to Acme Gym failed · ₦15,000.00"
    with mode_context("test"):
        invoice = Invoice.objects.get(subscription=sub, number=2)
    assert invoice.status == "open" and invoice.hosted_token.startswith("in_test_")
    url = f"https://pay.duro.example/invoice/{invoice.hosted_token}"
    html = html_of(email)
    for body in (email.body, html):
        for text in ("The saved card was declined.", "₦15,000.00", "16 February 2025",
                     "Pay now", "Visa •••• 0341", sub.plan.name, "help@acme.test", url):
            assert text in body, text
    assert f"Pay now: {url}" in email.body
    assert f'href="{url}"' in html and ">Pay now</a>" in html
    assert "color:#7b1fa2" in html and 'src="https://pay.duro.example/appearance/logo/' in html
    assert "<script" not in html
    # The link opens the invoice's page, which asks for the amount due.
    page = Client().get(f"/invoice/{invoice.hosted_token}")
    assert page.status_code == 200 and "₦15,000.00" in page.content.decode()


def test_each_failed_retry_emails_its_next_date_and_the_last_one_only_the_cancellation(
        merchant, run, sent):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    for when in (RENEWAL, RENEWAL + DAY, RENEWAL + 3 * DAY, RENEWAL + 5 * DAY):
        run(when)
    failed = "Your payment to Acme Gym failed · ₦15,000.00"
    assert [m.subject for m in mail.outbox] == [failed] * 3 + [
        f"Your {sub.plan.name} subscription with Acme Gym is cancelled"]
    dates = ["16 February 2025", "18 February 2025", "20 February 2025"]
    for email, date in zip(mail.outbox, dates, strict=False):
        assert f"We will try again on {date}" in email.body
    last = mail.outbox[-1].body
    assert "could not be collected (The saved card was declined.)" in last
    assert "₦15,000.00" in last and "Nothing more will be charged." in last
    assert "Pay now" not in last  # the invoice is uncollectible: nothing to pay any more


def test_a_decline_is_emailed_once_even_when_its_task_runs_twice(merchant, run, sent):
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    [notice] = notices(sub)
    assert notice.status == "sent" and len(mail.outbox) == 1
    assert tasks.send_customer_notice("test", notice.pk) == "sent"
    with mode_context("test"):
        again = CustomerNotice(merchant_id=notice.merchant_id, kind=notice.kind,
                               subscription_id=sub.pk, key=notice.key)
        notices_open([again])  # the same fact recorded again: no second row, no second email
        assert CustomerNotice.objects.filter(key=notice.key).count() == 1
        assert customer_notice_send(notice_id=again.pk) == "missing"
    assert len(mail.outbox) == 1


def test_an_invoice_paid_before_the_email_goes_is_not_chased(merchant, run, monkeypatch):
    monkeypatch.setattr(tasks.send_customer_notice, "apply_async", lambda *a, **k: None)
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    [notice] = notices(sub)
    with mode_context("test"):
        Invoice.objects.filter(subscription=sub, number=2).update(status="paid")
    assert tasks.send_customer_notice("test", notice.pk) == "skipped"
    assert mail.outbox == []


def test_only_the_customer_of_that_merchant_in_that_mode_is_emailed(merchant, make_merchant,
                                                                   run, sent):
    other = make_merchant("Bukka Hut").merchant
    declined = subscribe(merchant.id, authorization="sbx_fail_0341")
    subscribe(merchant.id)  # renews fine
    subscribe(other.id, authorization="sbx_fail_0341")  # another merchant's, on its own run
    live = subscribe(merchant.id, authorization="sbx_fail_0341", mode="live")
    with mode_context("test"):
        Subscription.objects.filter(merchant_id=other.id).update(next_attempt_at=None)
    run(RENEWAL)
    assert [m.to for m in mail.outbox] == [[declined.customer.email]]
    assert notices(live, mode="live") == []
    with mode_context("test"):
        assert set(CustomerNotice.objects.values_list("merchant_id", flat=True)) == {
            merchant.id}


def test_a_lost_send_is_found_by_the_sweep(merchant, run, monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(tasks.send_customer_notice, "apply_async", broker_down)
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)  # the decline is recorded; its email could not be queued
    assert "after-commit work failed" in caplog.text
    [notice] = notices(sub)
    assert notice.status == "pending" and mail.outbox == []
    assert tasks.customer_notices_sweep("test") == 0  # too recent: its own send may be coming
    with mode_context("test"):
        CustomerNotice.objects.filter(pk=notice.pk).update(
            created_at=notice.created_at - timedelta(minutes=5))
    monkeypatch.setattr(tasks.send_customer_notice, "delay",
                        lambda *args: tasks.send_customer_notice(*args))
    assert tasks.customer_notices_sweep("test") == 1
    assert len(mail.outbox) == 1 and notices(sub)[0].status == "sent"
    assert tasks.customer_notices_sweep("test") == 0


def test_a_refusing_mail_server_is_retried_then_recorded_failed(merchant, run, monkeypatch,
                                                                settings):
    monkeypatch.setattr(tasks.send_customer_notice, "apply_async", lambda *a, **k: None)
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    [notice] = notices(sub)
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    with mode_context("test"), pytest.raises(OSError):
        customer_notice_send(notice_id=notice.pk)
    assert notices(sub)[0].status == "pending"  # the task retries it
    with mode_context("test"):
        assert customer_notice_send(notice_id=notice.pk, final=True) == "failed"


def test_sending_an_email_reads_a_handful_of_rows(merchant, run, monkeypatch, brand):
    brand(support_contact="help@acme.test")
    monkeypatch.setattr(tasks.send_customer_notice, "apply_async", lambda *a, **k: None)
    sub = subscribe(merchant.id, authorization="sbx_fail_0341")
    run(RENEWAL)
    [notice] = notices(sub)
    with mode_context("test"), CaptureQueriesContext(connections["test"]) as store, \
            CaptureQueriesContext(connections["default"]) as core:
        assert customer_notice_send(notice_id=notice.pk) == "sent"
    # The notice with its subscription, plan, customer and invoice; the hosted token; the
    # notice written back (and the transaction's own statements on PostgreSQL).
    assert len([q for q in store.captured_queries if "SAVEPOINT" not in q["sql"]]) <= 4
    assert len(core.captured_queries) <= 4  # the merchant's name, the published appearance


# --- a card expiring before the next renewal -------------------------------------------

def test_a_card_expiring_before_the_renewal_is_warned_once_seven_days_ahead(merchant, on_commit,
                                                                          sent):
    sub = subscribe(merchant.id)
    expiring_card(sub, 1, 2025)  # good through January; the renewal is on 15 February
    with mode_context("test"), on_commit():
        assert card_expiry_notices_open(now=RENEWAL - 7 * DAY - SECOND) == 0
        assert card_expiry_notices_open(now=RENEWAL - 7 * DAY) == 1
    [email] = mail.outbox
    assert email.subject == ("Your card Visa •••• 4242 expires before your next Acme Gym "
                             "payment")
    for body in (email.body, html_of(email)):
        for text in ("January 2025", "15 February 2025", "₦15,000.00", sub.plan.name,
                     "owner@acme.test"):
            assert text in body, text
    assert "/invoice/" not in email.body  # nothing to pay yet
    # "Update card" opens the customer's portal, through the emails' signed link.
    [update] = [line for line in email.body.splitlines() if line.startswith("Update card: ")]
    assert "/portal/pm_test_" in update and 'Update card</a>' in html_of(email)
    opened = Client().get(urlsplit(update.removeprefix("Update card: ")).path)
    assert opened.status_code == 303 and opened["Location"].endswith("/portal/")
    assert "Manage your subscription: " in email.body
    # The daily task runs again (and the next day): the same card and period, no new email.
    assert tasks.card_expiry_notices("test", (RENEWAL - 7 * DAY).isoformat()) == 0
    assert tasks.card_expiry_notices("test", (RENEWAL - 6 * DAY).isoformat()) == 0
    assert len(mail.outbox) == 1


def test_a_card_good_through_the_renewal_month_or_a_far_renewal_is_not_warned(merchant):
    good = subscribe(merchant.id)
    expiring_card(good, 2, 2025)  # good through February: the 15 February renewal is fine
    far = subscribe(merchant.id, paid_at=PAID_AT + 10 * DAY)  # renews 25 February
    expiring_card(far, 1, 2025)
    with mode_context("test"):
        assert card_expiry_notices_open(now=RENEWAL - 7 * DAY) == 0
        assert card_expiry_notices_open(now=RENEWAL + DAY) == 0  # far's is still 9 days away
    assert notices(good) == notices(far) == []


def test_the_renewal_month_is_the_subscriptions_own_zone(merchant):
    """1 March 00:00 in Lagos is still 28 February in UTC: a card good through February
    cannot pay it."""
    sub = subscribe(merchant.id, paid_at=datetime(2025, 2, 1, 9, 0, tzinfo=UTC))
    assert sub.current_period_end == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    expiring_card(sub, 2, 2025)
    with mode_context("test"):
        assert card_expiry_notices_open(now=sub.current_period_end - 7 * DAY) == 1


def test_no_warning_for_a_subscription_ending_or_in_another_mode(merchant, api):
    ending = subscribe(merchant.id)
    expiring_card(ending, 1, 2025)
    api.post(f"/v1/subscriptions/{ending.id}/cancel", {}, format="json")  # at period end
    live = subscribe(merchant.id, mode="live")
    expiring_card(live, 1, 2025, mode="live")
    with mode_context("test"):
        assert card_expiry_notices_open(now=RENEWAL - DAY) == 0
    assert notices(ending) == [] and notices(live, mode="live") == []


def test_on_a_test_clock_the_card_is_judged_at_the_clock(merchant, api, on_commit, sent):
    sub = subscribe(merchant.id, clock=PAID_AT)
    expiring_card(sub, 1, 2025)
    with on_commit():
        answer = api.post(f"/v1/subscriptions/{sub.id}/advance",
                          {"to": (RENEWAL - 7 * DAY - SECOND).isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    assert notices(sub) == []
    with mode_context("test"):  # the wall clock is years later: the clock decides, not it
        assert card_expiry_notices_open(now=datetime.now(UTC)) == 0
    with on_commit():
        api.post(f"/v1/subscriptions/{sub.id}/advance",
                 {"to": (RENEWAL - 7 * DAY).isoformat()}, format="json")
    assert [n.kind for n in notices(sub)] == ["card_expiring"]
    assert len(mail.outbox) == 1


# --- a trial ending -----------------------------------------------------------------------

def test_a_trial_ending_is_emailed_once_three_days_before(merchant, run, sent):
    sub = subscribe(merchant.id, trial_days=14)
    notice_at = sub.trial_end - 3 * DAY
    assert sub.next_attempt_at == notice_at
    run(notice_at - SECOND)
    assert mail.outbox == []
    run(notice_at)
    run(notice_at + DAY)
    [email] = mail.outbox
    [notice] = notices(sub)
    assert tasks.send_customer_notice("test", notice.pk) == "sent" and len(mail.outbox) == 1
    assert email.subject == f"Your {sub.plan.name} trial with Acme Gym ends on 29 January 2025"
    for body in (email.body, html_of(email)):
        for text in ("29 January 2025", "₦15,000.00", "Visa •••• 4242", "month"):
            assert text in body, text


def test_a_trial_in_another_mode_or_of_another_merchant_is_not_emailed_by_this_run(
        merchant, make_merchant, run, sent):
    mine = subscribe(merchant.id, trial_days=14)
    live = subscribe(merchant.id, trial_days=14, mode="live")
    other = subscribe(make_merchant("Bukka Hut").merchant.id, trial_days=14)
    with mode_context("test"):  # the other merchant's trial is further off
        Subscription.objects.filter(pk=other.pk).update(next_attempt_at=RENEWAL)
    run(mine.trial_end - 3 * DAY)
    assert [m.to for m in mail.outbox] == [[mine.customer.email]]
    assert notices(live, mode="live") == [] and notices(other) == []


def test_the_trial_notice_days_are_a_setting(merchant, settings):
    settings.DURO_TRIAL_NOTICE_DAYS = 5
    sub = subscribe(merchant.id, trial_days=14)
    assert sub.next_attempt_at == sub.trial_end - 5 * DAY


def test_on_a_test_clock_the_trial_email_goes_when_the_clock_reaches_it(merchant, api,
                                                                       on_commit, sent):
    sub = subscribe(merchant.id, trial_days=14, clock=PAID_AT)
    notice_at = sub.trial_end - 3 * DAY
    with on_commit():
        api.post(f"/v1/subscriptions/{sub.id}/advance",
                 {"to": (notice_at - SECOND).isoformat()}, format="json")
    assert mail.outbox == []
    with on_commit():
        api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": notice_at.isoformat()},
                 format="json")
    assert [n.kind for n in notices(sub)] == ["trial_ending"] and len(mail.outbox) == 1


# --- a cancellation -----------------------------------------------------------------------

def test_cancelled_now_by_the_merchant_is_emailed_once(merchant, api, on_commit, sent):
    sub = subscribe(merchant.id)
    with on_commit():
        assert api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False},
                        format="json").status_code == 200
        api.post(f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False}, format="json")
    [email] = mail.outbox
    assert email.to == [sub.customer.email]
    assert email.subject == f"Your {sub.plan.name} subscription with Acme Gym is cancelled"
    assert "Nothing more will be charged." in email.body and "Pay now" not in email.body
    [notice] = notices(sub)
    assert tasks.send_customer_notice("test", notice.pk) == "sent" and len(mail.outbox) == 1


def test_another_merchant_cannot_cancel_and_so_email_a_customer(merchant, make_merchant,
                                                               on_commit, sent):
    from tests.conftest import client_for

    sub = subscribe(merchant.id)
    rival = make_merchant("Bukka Hut")
    with on_commit():
        answer = client_for(rival.keys["test"]["secret"]).post(
            f"/v1/subscriptions/{sub.id}/cancel", {"atPeriodEnd": False}, format="json")
    assert answer.status_code == 404 and mail.outbox == [] and notices(sub) == []


def test_cancelled_at_period_end_is_emailed_when_the_period_ends(merchant, api, on_commit,
                                                                 run, sent):
    sub = subscribe(merchant.id)
    with on_commit():
        api.post(f"/v1/subscriptions/{sub.id}/cancel", {}, format="json")
    assert mail.outbox == []  # still running until the period ends
    run(RENEWAL)
    [email] = mail.outbox
    assert "ended on 15 February 2025, at the end of its period" in email.body


def test_an_unpaid_invoice_link_ending_in_cancellation_is_emailed(merchant, run, sent):
    """A renewal paid by transfer (no card): its link was emailed, it went unpaid."""
    sub = subscribe(merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
    for when in (RENEWAL, RENEWAL + DAY, RENEWAL + 3 * DAY, RENEWAL + 5 * DAY):
        run(when)
    assert [n.kind for n in notices(sub)] == ["subscription_canceled"]
    [email] = mail.outbox
    assert "could not be collected" in email.body and "₦15,000.00" in email.body


# --- operations ---------------------------------------------------------------------------

def test_beat_sweeps_every_minute_and_scans_cards_daily_in_each_mode(settings):
    from celery.schedules import crontab

    from duro.celery import app

    app.loader.import_default_modules()
    entries = settings.CELERY_BEAT_SCHEDULE.values()
    sweep = [e for e in entries if e["task"] == "billing.customer_notices_sweep"]
    daily = [e for e in entries if e["task"] == "billing.card_expiry_notices"]
    assert sorted(e["args"][0] for e in sweep) == sorted(e["args"][0] for e in daily) == [
        "live", "test"]
    assert all(e["schedule"] == 60.0 for e in sweep)
    assert all(e["schedule"] == crontab(hour=7, minute=0) for e in daily)
    assert {"billing.send_customer_notice", "billing.customer_notices_sweep",
            "billing.card_expiry_notices"} <= set(app.tasks)


def test_the_preview_command_sends_one_of_each_in_the_merchants_branding(acme, brand):
    from django.core.management import call_command

    brand(brand_color="#7b1fa2", support_contact="help@acme.test")
    call_command("customer_emails_preview", merchant=acme.merchant.id, to="me@acme.test")
    assert [m.to for m in mail.outbox] == [["me@acme.test"]] * 4
    subjects = " | ".join(m.subject for m in mail.outbox)
    for text in ("failed", "card Visa •••• 4242 expires", "trial", "is cancelled"):
        assert text in subjects, text
    assert all("color:#7b1fa2" in html_of(m) and "help@acme.test" in m.body
               for m in mail.outbox)
    assert "Pay now: http" in mail.outbox[0].body
    with mode_context("test"):
        assert not CustomerNotice.objects.exists()
