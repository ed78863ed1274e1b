"""The dashboard home page: the chosen mode's last 30 days at a glance.

Figures come from the apps' selectors (:func:`billing.selectors.payment_stats`,
:func:`~billing.selectors.subscription_stats`,
:func:`webhooks.selectors.delivery_stats`); this module only lays them out as
text and small server-rendered charts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.safestring import mark_safe

from billing.selectors import payment_stats, subscription_stats
from dashboard.charts import svg_bars
from duro.money import format_amount
from webhooks.selectors import delivery_stats

DAYS = 30


def _days(now: datetime) -> list[date]:
    start = (now - timedelta(days=DAYS - 1)).date()
    return [start + timedelta(days=i) for i in range(DAYS)]


def _per_day(by_day: dict[date, int], days: list[date]) -> list[int]:
    return [by_day.get(day, 0) for day in days]


def home_metrics(*, merchant_id: str | None, now: datetime | None = None) -> dict:
    """Revenue, subscriptions and payment health for one merchant (or all, for operators)."""
    now = now or timezone.now()
    since = now - timedelta(days=DAYS)
    days = _days(now)
    labels = [d.isoformat() for d in days]
    payments = payment_stats(merchant_id=merchant_id, since=since)
    subscriptions = subscription_stats(merchant_id=merchant_id, since=since)
    return {
        "revenue": [format_amount(total, currency)
                    for currency, total in sorted(payments.revenue.items())]
        or [format_amount(0, "NGN")],
        "active_subscriptions": subscriptions.live,
        "new_subscriptions": subscriptions.new,
        "churned_subscriptions": subscriptions.churned,
        "failed_payments": payments.failed,
        "succeeded_payments": payments.succeeded,
        "webhook_success_rate": webhook_success_rate(merchant_id=merchant_id, since=since),
        "revenue_chart": mark_safe(svg_bars(_per_day(payments.revenue_by_day, days),  # noqa: S308
                                            labels=labels,
                                            title="Revenue per day, last 30 days")),
        "new_chart": mark_safe(svg_bars(_per_day(subscriptions.new_by_day, days),  # noqa: S308
                                        labels=labels, title="New subscriptions per day")),
        "churn_chart": mark_safe(svg_bars(  # noqa: S308
            _per_day(subscriptions.churned_by_day, days), labels=labels,
            title="Churned subscriptions per day", colour="#b3261e")),
    }


def webhook_success_rate(*, merchant_id: str | None, since: datetime) -> str | None:
    """Share of finished webhook deliveries that succeeded, as text (None: none finished)."""
    stats = delivery_stats(merchant_id=merchant_id, since=since)
    if not stats.finished:
        return None
    return f"{stats.succeeded * 100 / stats.finished:.1f}%"
