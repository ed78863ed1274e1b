"""Times in the merchant's time zone: the dashboard and receipts (Lagos is UTC+1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import PaymentAttempt
from billing.receipts import Receipt, receipt_deliver
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client

pytestmark = pytest.mark.django_db(databases="__all__")

LATE_EVENING_UTC = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 00:30 on Nov 24 in Lagos


def test_dashboard_shows_a_lagos_purchase_on_the_lagos_day(make_merchant):
    owner = make_merchant("Lagos Grill", email="owner@grill.test", password="pw-grill-123")
    assert owner.merchant.timezone == "Africa/Lagos"
    with mode_context("test"):
        payment = PaymentAttempt.objects.create(
            merchant_id=owner.merchant.id, rail="card", status="succeeded", amount=5_000,
            currency="NGN", paid_at=LATE_EVENING_UTC, created_at=LATE_EVENING_UTC)
    client = owner_client(owner)
    listing = client.get(reverse("admin:billing_paymentattempt_changelist")).content.decode()
    assert "Nov. 24, 2026, 12:30 a.m." in listing
    assert "Nov. 23" not in listing
    detail = client.get(reverse("admin:billing_paymentattempt_change", args=[payment.pk]))
    assert "Nov. 24, 2026" in detail.content.decode()


def test_receipt_dates_are_in_the_merchant_time_zone(make_merchant):
    owner = make_merchant("Lagos Grill", email="owner@grill.test", password="pw-grill-123")
    receipt_deliver(receipt=Receipt(
        merchant_id=owner.merchant.id, merchant_name="Lagos Grill", to="ada@example.com",
        amount=5_000, currency="NGN", reference="ORDER-1", paid_at=LATE_EVENING_UTC,
        time_zone="Africa/Lagos"))
    [message] = mail.outbox
    assert "24 November 2026, 00:30 WAT" in message.body
    assert "24 November 2026, 00:30 WAT" in message.alternatives[0][0]
