"""The dashboard home: net revenue per currency, MRR, health over 30 days as real charts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import PaymentAttempt
from dashboard.charts import Series, nice_ceiling, svg_chart
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client

pytestmark = pytest.mark.django_db(databases="__all__")


def test_home_shows_net_revenue_per_currency_never_added_together(two_merchants):
    a, _ = two_merchants
    with mode_context("test"):
        PaymentAttempt.objects.create(merchant_id=a.merchant.id, rail="card",
                                      status="succeeded", amount=5_000, currency="GHS",
                                      paid_at=timezone.now())
        [paid] = PaymentAttempt.objects.filter(merchant_id=a.merchant.id, currency="NGN",
                                               status="succeeded")
    page = owner_client(a).get(reverse("admin:index")).content.decode()
    revenue = re.search(r'id="duro-revenue">(.*?)</p>', page, re.S).group(1)
    net = paid.amount - 100_000  # the fixture refunded ₦1,000.00 of it
    assert f"₦{net / 100:,.2f}" in revenue
    assert "GH₵50.00" in revenue
    assert "after ₦1,000.00 refunded" in page
    assert "Net revenue per day, NGN" in page and "Net revenue per day, GHS" in page


def test_home_shows_mrr_subscriptions_failures_and_webhook_health(two_merchants):
    a, _ = two_merchants
    page = owner_client(a).get(reverse("admin:index")).content.decode()
    mrr = re.search(r'id="duro-mrr">(.*?)</p>', page, re.S).group(1)
    assert "₦" in mrr
    assert re.search(r'id="duro-failed">1<', page)
    for title in ("New vs churned subscriptions per day", "Failed payments and recoveries per day",
                  "Webhook deliveries per day"):
        assert title in page
    assert page.count('class="duro-chart"') == 4


def test_chart_has_axes_with_values_and_names_each_bar():
    days = [timezone.now().date()] * 3
    svg = svg_chart(days, [Series("New", [0, 3, 1], "#000")], title="New")
    assert ">0</text>" in svg and ">3</text>" in svg and ">6</text>" in svg  # whole ticks
    assert "· New: 3</title>" in svg
    assert "New: 4 in total" in svg
    assert nice_ceiling(3) == 5
    assert nice_ceiling(2300) == 2500
