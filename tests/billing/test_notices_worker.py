"""End to end on PostgreSQL and Redis with a real Celery worker: a declined renewal is
emailed by the worker (written to the data folder's ``mail/``) with a "Pay now" link that
opens the invoice's page, and the email's row is recorded as sent, once."""

import re
import time

import pytest
from django.test import Client

from billing.models import CustomerNotice, Invoice
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.checkout.test_invoice_worker import RENEWAL, mails_to, text_of
from tests.worker import wait_for, worker, worker_factory  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker,
              pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.mark.usefixtures("worker")
def test_a_declined_renewal_reaches_the_mail_folder_with_a_pay_now_link(acme):
    since = time.time() - 1
    sub = subscribe(acme.merchant.id, authorization="sbx_fail_0341")
    with mode_context("test"):
        renewals_run(now=RENEWAL)  # commits the decline and its email row; queued after commit
    [message] = wait_for(lambda: mails_to(sub.customer.email, since), timeout=30,
                         message="the failed-payment email")
    assert str(message["Subject"]).strip() == "Your payment to Acme Gym failed · ₦15,000.00"
    text = text_of(message)
    assert "Reason: The saved card was declined." in text and "16 February 2025" in text
    link = re.search(r"Pay now: https?://\S+(/invoice/in_test_\w+)", text)
    assert link is not None
    html = message.get_body(preferencelist=("html",)).get_content()
    assert ">Pay now</a>" in html and "Visa •••• 0341" in html

    page = Client().get(link.group(1))
    assert page.status_code == 200
    assert "₦15,000.00" in page.content.decode()
    with mode_context("test"):
        invoice = Invoice.objects.get(subscription=sub, number=2)
    assert link.group(1) == f"/invoice/{invoice.hosted_token}" and invoice.status == "open"

    def recorded():
        with mode_context("test"):
            rows = list(CustomerNotice.objects.filter(subscription=sub)
                        .values_list("kind", "status", "attempts"))
        return rows if rows and rows[0][1] != "pending" else None
    assert wait_for(recorded, timeout=30, message="the email recorded as sent") == [
        ("payment_failed", "sent", 1)]
    assert len(mails_to(sub.customer.email, since)) == 1
