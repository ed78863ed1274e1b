"""The dashboard home page: the chosen mode's last 30 days at a glance."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import mark_safe

from billing.models import PaymentAttempt, Subscription
from duro.dashboard.charts import svg_bars
from duro.money import format_amount
from webhooks.models import Delivery

DAYS = 30
LIVE_STATUSES = ("active", "trialing", "past_due", "non_renewing")


def _days(now):
    start = (now - timedelta(days=DAYS - 1)).date()
    return [start + timedelta(days=i) for i in range(DAYS)]


def _per_day(rows, days, field="n"):
    by_day = {row["day"]: row[field] or 0 for row in rows}
    return [by_day.get(day, 0) for day in days]


def home_metrics(*, merchant_id: str | None, now=None) -> dict:
    """Revenue, subscriptions and payment health for one merchant (or all, for operators)."""
    now = now or timezone.now()
    since = now - timedelta(days=DAYS)
    days = _days(now)
    labels = [d.isoformat() for d in days]
    scope = {} if merchant_id is None else {"merchant_id": merchant_id}

    payments = PaymentAttempt.objects.filter(created_at__gte=since, **scope)
    succeeded = payments.filter(status="succeeded")
    revenue = defaultdict(int)
    for row in succeeded.values("currency").annotate(total=Sum("amount")):
        revenue[row["currency"]] = row["total"] or 0
    daily_revenue = succeeded.annotate(day=TruncDate("paid_at")).values("day").annotate(
        n=Sum("amount"))
    subscriptions = Subscription.objects.filter(**scope)
    new = subscriptions.filter(created_at__gte=since)
    churned = subscriptions.filter(canceled_at__gte=since)
    counts = payments.aggregate(failed=Count("id", filter=Q(status="failed")),
                                ok=Count("id", filter=Q(status="succeeded")))
    new_daily = new.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("id"))
    churn_daily = churned.annotate(day=TruncDate("canceled_at")).values("day").annotate(
        n=Count("id"))
    return {
        "revenue": [format_amount(total, currency) for currency, total in sorted(revenue.items())]
        or [format_amount(0, "NGN")],
        "active_subscriptions": subscriptions.filter(status__in=LIVE_STATUSES).count(),
        "new_subscriptions": new.count(),
        "churned_subscriptions": churned.count(),
        "failed_payments": counts["failed"],
        "succeeded_payments": counts["ok"],
        "webhook_success_rate": webhook_success_rate(scope=scope, since=since),
        "revenue_chart": mark_safe(svg_bars(_per_day(daily_revenue, days), labels=labels,  # noqa: S308
                                            title="Revenue per day, last 30 days")),
        "new_chart": mark_safe(svg_bars(_per_day(new_daily, days), labels=labels,  # noqa: S308
                                        title="New subscriptions per day")),
        "churn_chart": mark_safe(svg_bars(_per_day(churn_daily, days), labels=labels,  # noqa: S308
                                          title="Churned subscriptions per day",
                                          colour="#b3261e")),
    }


def webhook_success_rate(*, scope: dict, since) -> str | None:
    """Share of finished webhook deliveries that succeeded, as text (None: none finished)."""
    counts = Delivery.objects.filter(created_at__gte=since, **scope).exclude(
        status=Delivery.Status.PENDING).aggregate(
        done=Count("id"), ok=Count("id", filter=Q(status=Delivery.Status.SUCCEEDED)))
    if not counts["done"]:
        return None
    return f"{counts['ok'] * 100 / counts['done']:.1f}%"
