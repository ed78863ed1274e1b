"""Blacklisting a customer stops their renewals (API.md §9): no further charge, open renewal
invoices void, subscriptions canceled, with events."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Invoice, PaymentAttempt, SandboxCharge, Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)


def test_a_blacklisted_customer_is_never_charged_again(merchant, api):
    sub = subscribe(merchant.id)
    response = api.post(f"/v1/customers/{sub.customer_id}/blacklist")
    assert response.status_code == 200 and response.json()["data"]["blacklisted"]
    with mode_context("test"):
        report = renewals_run(now=RENEWAL + timedelta(days=40))
        sub.refresh_from_db()
        assert report.renewed == 0 and SandboxCharge.objects.count() == 0
        assert sub.status == "canceled" and sub.next_attempt_at is None
    assert event_types(merchant.id)[-1] == "subscription_canceled"
    assert api.get(f"/v1/subscriptions/{sub.pk}").json()["data"]["status"] == "canceled"


def test_blacklisting_voids_the_open_renewal_invoice_of_a_past_due_subscription(merchant, api):
    sub = subscribe(merchant.id, authorization="sbx_fail_x")
    with mode_context("test"):
        renewals_run(now=RENEWAL + timedelta(minutes=1))
        sub.refresh_from_db()
        assert sub.status == "past_due"
        open_invoice = Invoice.objects.get(subscription=sub, status="open")
    api.post(f"/v1/customers/{sub.customer_id}/blacklist")
    with mode_context("test"):
        renewals_run(now=RENEWAL + timedelta(days=30))
        open_invoice.refresh_from_db()
        sub.refresh_from_db()
        assert open_invoice.status == "void" and sub.status == "canceled"
        assert PaymentAttempt.objects.filter(invoice=open_invoice).count() == 1  # no retry


def test_lifting_a_blacklist_does_not_revive_canceled_subscriptions(merchant, api):
    sub = subscribe(merchant.id)
    api.post(f"/v1/customers/{sub.customer_id}/blacklist")
    api.delete(f"/v1/customers/{sub.customer_id}/blacklist")
    with mode_context("test"):
        assert Subscription.objects.get(pk=sub.pk).status == "canceled"
