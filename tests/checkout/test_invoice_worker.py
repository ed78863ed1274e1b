"""End to end with a real Celery worker: a renewal without a card opens its invoice, the worker
emails the link, the customer pays on the linked page by bank transfer (the sandbox's bank
confirms) and the subscription renews, with its receipt emailed by the worker too."""

import email
import re
import time
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from billing.models import Invoice, PaymentAttempt, Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.worker import wait_for, worker, worker_factory  # noqa: F401 - fixtures

pytestmark = [pytest.mark.worker,
              pytest.mark.django_db(transaction=True, databases="__all__")]

RENEWAL = datetime(2025, 2, 14, 23, 1, tzinfo=UTC)  # a minute into the renewal (Lagos midnight)


def mails_to(address: str, since: float) -> list[email.message.EmailMessage]:
    """The emails the worker wrote to the data folder's ``mail/`` for ``address``."""
    folder = Path(settings.DATA_DIR) / "mail"
    found = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        if path.stat().st_mtime < since:
            continue
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = email.message_from_bytes(raw.strip(), policy=policy.default)
                if message["To"] == address:
                    found.append(message)
    return found


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.usefixtures("worker")
def test_a_renewal_paid_through_the_emailed_invoice_page(acme):
    since = time.time() - 1
    sub = subscribe(acme.merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)  # first paid by transfer
        customer = Subscription.objects.select_related("customer").get(pk=sub.pk).customer
        renewals_run(now=RENEWAL)  # commits; the link email is queued after commit
        invoice = Invoice.objects.get(subscription=sub, number=2)
    assert invoice.status == "open" and invoice.hosted_token

    [link_mail] = wait_for(lambda: mails_to(customer.email, since), timeout=30,
                           message="the invoice link email")
    assert str(link_mail["Subject"]).strip().startswith("Your invoice from Acme Gym")
    link = re.search(r"https?://\S+/invoice/(in_test_\w+)", text_of(link_mail))
    assert link is not None and link.group(1) == invoice.hosted_token
    path = f"/invoice/{link.group(1)}"

    client = Client()
    assert 'name="rail"' in client.get(path).content.decode()
    assert client.post(path, {"rail": "bank_transfer"}).status_code == 303
    html = client.get(path).content.decode()
    assert "Transfer ₦15,000.00 to this account" in html and 'id="simulate-paid"' in html
    assert client.post(f"{path}/simulate", {"outcome": "paid"}).status_code == 303
    assert 'data-status="paid"' in client.get(path).content.decode()

    with mode_context("test"):
        invoice = Invoice.objects.get(pk=invoice.pk)
        renewed = Subscription.objects.get(pk=sub.pk)
        payment = PaymentAttempt.objects.get(invoice=invoice)
    assert invoice.status == "paid" and payment.rail == "bank_transfer"
    assert renewed.status == "active" and renewed.period_index == 1
    assert renewed.current_period_start == invoice.period_start
    assert renewed.next_attempt_at == invoice.period_end
    assert renewed.current_period_end - renewed.current_period_start >= timedelta(days=28)

    def receipt():
        return [m for m in mails_to(customer.email, since)
                if str(m["Subject"]).strip().startswith("Your receipt from Acme Gym")]
    [receipt_mail] = wait_for(receipt, timeout=30, message="the receipt email")
    assert "INV-000002" in receipt_mail["Subject"]

    def recorded():  # the worker marks the outbox rows after the mail has gone
        with mode_context("test"):
            row = Invoice.objects.get(pk=invoice.pk)
        return (row.receipt_status, row.notice_status) == ("sent", "sent")
    wait_for(recorded, timeout=30, message="the receipt and notice recorded as sent")
