"""The dashboard home page: the chosen mode's last 30 days at a glance.

Figures come from the apps' selectors (:func:`billing.selectors.payment_stats`,
:func:`~billing.selectors.subscription_stats`,
:func:`webhooks.selectors.delivery_stats`); this module only lays them out as
cards and server-rendered charts. Money is shown per currency — two currencies
are never added together — and revenue is net of refunds. Days are the
merchant's (the dashboard activates its time zone).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.safestring import mark_safe

from billing.selectors import payment_stats, subscription_stats
from dashboard.charts import Series, compact, legend, svg_chart
from duro.money import MINOR_UNITS, SYMBOLS, format_amount
from webhooks.selectors import delivery_stats

DAYS = 30
GREEN, RED, AMBER, BLUE = "#0b6e4f", "#b3261e", "#b45309", "#1d4ed8"


def _days(now: datetime) -> list[date]:
    today = timezone.localtime(now).date()
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


def _per_day(by_day: dict[date, int], days: list[date]) -> list[int]:
    return [by_day.get(day, 0) for day in days]


def _chart(days, series, *, title, **kwargs) -> dict:
    return {"title": title,
            "svg": mark_safe(svg_chart(days, series, title=title, **kwargs)),  # noqa: S308
            "legend": mark_safe(legend(series)) if len(series) > 1 else ""}  # noqa: S308


def _money_axis(currency: str):
    scale = 10 ** MINOR_UNITS.get(currency, 2)
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return lambda value: f"{symbol}{compact(value / scale)}"


def home_metrics(*, merchant_id: str | None, now: datetime | None = None) -> dict:
    """Revenue, MRR, subscriptions, payment and webhook health for one merchant (or all)."""
    now = now or timezone.now()
    days = _days(now)
    since = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    payments = payment_stats(merchant_id=merchant_id, since=since)
    subscriptions = subscription_stats(merchant_id=merchant_id, since=since)
    deliveries = delivery_stats(merchant_id=merchant_id, since=since)
    currencies = sorted(payments.revenue) or ["NGN"]
    charts = [
        _chart(days, [Series(f"Revenue ({currency})",
                             _per_day(payments.revenue_by_day.get(currency, {}), days), GREEN)],
               title=f"Net revenue per day, {currency}",
               value_text=lambda v, c=currency: format_amount(int(v), c),
               axis_text=_money_axis(currency))
        for currency in currencies
    ]
    charts += [
        _chart(days, [Series("New", _per_day(subscriptions.new_by_day, days), GREEN),
                      Series("Churned", _per_day(subscriptions.churned_by_day, days), RED)],
               title="New vs churned subscriptions per day"),
        _chart(days, [Series("Failed", _per_day(payments.failed_by_day, days), RED),
                      Series("Recovered", _per_day(payments.recovered_by_day, days), BLUE)],
               title="Failed payments and recoveries per day"),
        _chart(days, [Series("Delivered", _per_day(deliveries.succeeded_by_day, days), GREEN),
                      Series("Failed", _per_day(deliveries.failed_by_day, days), AMBER)],
               title="Webhook deliveries per day", stacked=True),
    ]
    return {
        "since": days[0], "until": days[-1],
        "revenue": [format_amount(payments.revenue.get(c, 0), c) for c in currencies],
        "refunded": [format_amount(total, c) for c, total in sorted(payments.refunded.items())],
        "mrr": [format_amount(total, c) for c, total in sorted(subscriptions.mrr.items())]
        or [format_amount(0, currencies[0])],
        "active_subscriptions": subscriptions.live,
        "new_subscriptions": subscriptions.new,
        "churned_subscriptions": subscriptions.churned,
        "failed_payments": payments.failed,
        "recovered_payments": payments.recovered,
        "succeeded_payments": payments.succeeded,
        "webhook_success_rate": _rate(deliveries.succeeded, deliveries.finished),
        "webhook_finished": deliveries.finished,
        "charts": charts,
    }


def _rate(part: int, whole: int) -> str | None:
    """A share as text ("98.5%"); None when there is nothing to share."""
    return f"{part * 100 / whole:.1f}%" if whole else None
