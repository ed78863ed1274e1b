"""Receipt emails: branded, complete, sent after commit, never able to fail a pay."""

import socket

import pytest
from django.core import mail
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from billing import tasks
from billing.models import Invoice
from billing.receipts import invoice_receipt_send
from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.appearance.conftest import image_bytes
from tests.checkout.factories import make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")


def _paid_session(api, **fields) -> dict:
    session = make_session(api, **fields)
    answer = pay(APIClient(), session["token"])
    assert answer.json()["data"]["status"] == "completed", answer.content
    return session


def _invoice_id(api, session) -> str:
    return api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["invoiceId"]


def test_receipt_has_amount_plan_card_reference_and_support(api, brand, settings):
    settings.DURO_PUBLIC_URL = "https://pay.duro.example"
    brand(logo=image_bytes(), brand_color="#7b1fa2", support_contact="help@acme.test",
          success_message="Welcome to Acme!", terms_url="https://acme.test/terms")
    session = _paid_session(api)
    with mode_context("test"):
        assert invoice_receipt_send(invoice_id=_invoice_id(api, session)) == "sent"
    [email] = mail.outbox
    assert email.to == ["ada@example.com"] and email.reply_to == ["help@acme.test"]
    assert "Acme Gym" in email.subject and session["reference"] in email.subject
    html = email.alternatives[0][0]
    assert email.alternatives[0][1] == "text/html"
    for body in (email.body, html):
        for text in ("Welcome to Acme!", "₦15,000.00", "month", "Gold Membership",
                     "Visa •••• 4242", session["reference"], "help@acme.test",
                     "https://acme.test/terms"):
            assert text in body, text
    assert "color:#7b1fa2" in html  # links in the brand colour, which reads on white
    assert 'src="https://pay.duro.example/appearance/logo/' in html
    assert "<script" not in html


def test_unbranded_receipt_falls_back_to_merchant_support_email(api):
    session = _paid_session(api)
    assert tasks.send_receipt("test", _invoice_id(api, session)) == "sent"
    [email] = mail.outbox
    assert "owner@acme.test" in email.body and "Payment successful" in email.body


def test_no_receipt_for_an_open_session(api):
    session = make_session(api)
    assert _invoice_id(api, session) is None  # nothing paid: no invoice, no receipt row
    with mode_context("test"):
        assert invoice_receipt_send(invoice_id="inv_missing") == "missing"
    assert mail.outbox == []


def test_a_checkout_receipt_goes_to_the_address_given_at_checkout(api):
    """The customer is found by phone and has another email on file: the receipt still
    goes to the payer's address and quotes the checkout's reference, as the invoice kept."""
    first = _paid_session(api)
    second = make_session(api)
    answer = pay(APIClient(), second["token"], email="ada.new@example.com")
    assert answer.json()["data"]["status"] == "completed", answer.content
    invoice_id = _invoice_id(api, second)
    with mode_context("test"):
        invoice = Invoice.objects.select_related("customer").get(pk=invoice_id)
        assert invoice.customer.email == "ada@example.com"  # the customer of the first pay
        assert (invoice.checkout_reference, invoice.receipt_email) == (
            second["reference"], "ada.new@example.com")
    assert tasks.send_receipt("test", invoice_id) == "sent"
    [email] = mail.outbox
    assert email.to == ["ada.new@example.com"] and second["reference"] in email.subject
    assert first["reference"] not in email.body


def test_a_receipt_is_sent_once_however_often_it_is_asked(api):
    invoice_id = _invoice_id(api, _paid_session(api))
    assert tasks.send_receipt("test", invoice_id) == "sent"
    assert tasks.send_receipt("test", invoice_id) == "sent"
    with mode_context("test"):
        assert invoice_receipt_send(invoice_id=invoice_id) == "sent"
    assert len(mail.outbox) == 1


def test_the_sweep_sends_what_the_pay_could_not_queue(api, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    invoice_id = _invoice_id(api, _paid_session(api))  # on_commit never ran: still pending
    queued = []
    monkeypatch.setattr(tasks.send_receipt, "delay", lambda *args: queued.append(args))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.receipts_sweep("test") == 0  # not yet: the pay's own send goes first
    with mode_context("test"):
        Invoice.objects.filter(pk=invoice_id).update(
            paid_at=timezone.now() - timedelta(minutes=5))
    assert tasks.receipts_sweep("test") == 1 and queued == [("test", invoice_id)]
    assert tasks.send_receipt(*queued[0]) == "sent"
    assert tasks.receipts_sweep("test") == 0  # nothing pending any more
    assert len(mail.outbox) == 1


def test_renewals_send_branded_receipts_through_the_sweep(api, brand):
    from datetime import timedelta

    from billing.models import Subscription

    brand(success_message="Thanks for staying with Acme!")
    session = _paid_session(api)
    sub_id = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["subscriptionId"]
    with mode_context("test"):
        start = Subscription.objects.get(pk=sub_id).current_period_start
    api.post(f"/v1/subscriptions/{sub_id}/advance",
             {"to": (start + timedelta(days=40)).isoformat()}, format="json")
    with mode_context("test"):
        renewal = Invoice.objects.get(subscription_id=sub_id, number=2)
    assert renewal.status == "paid" and renewal.receipt_status == "pending"
    assert tasks.send_receipt("test", renewal.id) == "sent"
    [email] = mail.outbox
    assert f"INV-{renewal.number:06d}" in email.subject
    assert "Thanks for staying with Acme!" in email.body and "Visa •••• 4242" in email.body


def test_a_completed_pay_enqueues_the_receipt_after_commit(api, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.send_receipt, "apply_async",
                        lambda args, **kwargs: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        session = _paid_session(api)
    assert sent == [("test", _invoice_id(api, session))]


def test_a_broker_failure_is_logged_and_the_pay_stands(api, monkeypatch, caplog,
                                                       django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(tasks.send_receipt, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        session = _paid_session(api)
    failed = [r for r in caplog.records if r.getMessage().startswith("after-commit work failed")]
    assert [r.what for r in failed] == ["receipt email"]
    with mode_context("test"):
        assert CheckoutSession.objects.get(pk=session["id"]).status == "completed"
        assert Invoice.objects.get(pk=_invoice_id(api, session)).receipt_status == "pending"


def test_a_refusing_mail_server_never_fails_the_pay(api, settings, monkeypatch, caplog,
                                                    django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    # Run the task right away, as a worker would (retries included, without their waits).
    monkeypatch.setattr(tasks.send_receipt, "apply_async",
                        lambda args, **kwargs: tasks.send_receipt.apply(args=args))
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        session = _paid_session(api)
    with mode_context("test"):
        assert CheckoutSession.objects.get(pk=session["id"]).status == "completed"
    assert "receipt email failed; will retry" in caplog.text
    assert "receipt email failed; giving up" in caplog.text
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["invoiceId"]
    with mode_context("test"):
        assert Invoice.objects.get(pk=verify["invoiceId"]).receipt_status == "failed"


def test_beat_sweeps_receipts_in_each_mode_under_a_task_the_worker_knows(settings):
    from duro.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert sorted(e["args"][0] for e in schedule if e["task"] == "billing.receipts_sweep") == [
        "live", "test"]
    assert {e["task"] for e in schedule} <= set(app.tasks)  # no name a worker would drop
    assert "billing.send_receipt" in app.tasks
