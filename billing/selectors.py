"""Reads of billing data, scoped to a merchant, with the joins their callers need.

    subs = subscription_list(merchant_id=m.id, status="active")
    invoice = invoice_get(merchant_id=m.id, invoice_id="inv_…")   # raises NotFound
    payments = payment_list(merchant_id=m.id, status="requires_action")  # the API's statuses
    refund = refund_get(merchant_id=m.id, refund_id="re_…")
    payment_stats(merchant_id=m.id, since=now - timedelta(days=30))  # the dashboard's figures
    invoice_payments(["inv_…", …])    # {invoice id: its payments}, for many invoices at once

The dashboard's stats take ``merchant_id=None`` for every merchant (operators).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from billing.models import DunningPolicy, Invoice, PaymentAttempt, Refund, Subscription
from duro.errors import NotFound


def subscription_list(*, merchant_id: str, status: str | None = None,
                      customer_id: str | None = None) -> QuerySet[Subscription]:
    rows = Subscription.objects.filter(merchant_id=merchant_id).select_related("card")
    if status:
        rows = rows.filter(status=status)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    return rows


def subscription_get(*, merchant_id: str, subscription_id: str) -> Subscription:
    sub = subscription_list(merchant_id=merchant_id).filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound(f"No such subscription: {subscription_id!r}.", param="id")
    return sub


def invoice_list(*, merchant_id: str, status: str | None = None,
                 subscription_id: str | None = None,
                 customer_id: str | None = None) -> QuerySet[Invoice]:
    rows = Invoice.objects.filter(merchant_id=merchant_id).prefetch_related(
        Prefetch("payments", queryset=PaymentAttempt.objects.prefetch_related("refunds")
                 .order_by("created_at", "id"))
    )
    if status:
        rows = rows.filter(status=status)
    if subscription_id:
        rows = rows.filter(subscription_id=subscription_id)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    return rows


def invoice_get(*, merchant_id: str, invoice_id: str) -> Invoice:
    invoice = invoice_list(merchant_id=merchant_id).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(f"No such invoice: {invoice_id!r}.", param="id")
    return invoice


# A payment status as the API names it (billing.payloads.payment_status) → the rows it means.
_ABANDONED = Q(status=PaymentAttempt.Status.FAILED, failure_code=PaymentAttempt.ABANDONED)
PAYMENT_STATUS_FILTERS = {
    "requires_action": Q(status=PaymentAttempt.Status.REQUIRES_OTP),
    "abandoned": _ABANDONED,
    "failed": Q(status=PaymentAttempt.Status.FAILED) & ~_ABANDONED,
}


def payment_list(*, merchant_id: str, status: str | None = None,
                 customer_id: str | None = None, invoice_id: str | None = None,
                 session_id: str | None = None) -> QuerySet[PaymentAttempt]:
    rows = PaymentAttempt.objects.filter(merchant_id=merchant_id).prefetch_related("refunds")
    if status:
        rows = rows.filter(PAYMENT_STATUS_FILTERS.get(status, Q(status=status)))
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if invoice_id:
        rows = rows.filter(invoice_id=invoice_id)
    if session_id:
        rows = rows.filter(session_id=session_id)
    return rows


def payment_get(*, merchant_id: str, payment_id: str) -> PaymentAttempt:
    payment = payment_list(merchant_id=merchant_id).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(f"No such payment: {payment_id!r}.", param="id")
    return payment


def refund_list(*, merchant_id: str, status: str | None = None,
                payment_id: str | None = None) -> QuerySet[Refund]:
    rows = Refund.objects.filter(merchant_id=merchant_id)
    if status:
        rows = rows.filter(status=status)
    if payment_id:
        rows = rows.filter(payment_id=payment_id)
    return rows


def refund_get(*, merchant_id: str, refund_id: str) -> Refund:
    refund = refund_list(merchant_id=merchant_id).filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"No such refund: {refund_id!r}.", param="id")
    return refund


def invoice_payments(invoice_ids) -> dict[str, list[PaymentAttempt]]:
    """The payments of each invoice with their refunds, oldest first (as an invoice's
    representation lists them), in one query for the lot (two when any has a payment)."""
    found: dict[str, list[PaymentAttempt]] = {pk: [] for pk in invoice_ids}
    if found:
        for payment in (PaymentAttempt.objects.filter(invoice__in=list(found))
                        .prefetch_related("refunds").order_by("created_at", "id")):
            found[str(payment.invoice_id)].append(payment)
    return found


def dunning_days_for(merchant_ids) -> dict[str, list[int]]:
    """Each merchant's retry schedule in the current mode, else ``DURO_DUNNING_DAYS``."""
    ids = set(merchant_ids)
    found = dict(DunningPolicy.objects.filter(pk__in=ids).values_list("merchant_id", "retry_days"))
    default = list(settings.DURO_DUNNING_DAYS)
    return {mid: list(found[mid]) if mid in found else default for mid in ids}


# Subscriptions a merchant counts as current customers (not canceled, not ended; a paused
# one still is, though it pays nothing: not in PAYING_STATUSES).
LIVE_STATUSES = ("active", "trialing", "past_due", "non_renewing", "paused")


def _scope(merchant_id: str | None) -> dict:
    return {} if merchant_id is None else {"merchant_id": merchant_id}


def _by_day(rows) -> dict[date, int]:
    return {row["day"]: row["n"] or 0 for row in rows}


@dataclass(frozen=True)
class PaymentStats:
    """Payments since a moment: net revenue per currency (refunds subtracted, never two
    currencies added together), per day; failures and recoveries (a payment that
    succeeded on an invoice after a failed attempt), per day."""

    revenue: dict[str, int]  # currency -> net minor units (succeeded - refunded)
    revenue_by_day: dict[str, dict[date, int]]  # currency -> day -> net minor units
    refunded: dict[str, int]  # currency -> minor units refunded
    succeeded: int
    failed: int
    failed_by_day: dict[date, int]
    recovered: int
    recovered_by_day: dict[date, int]


def payment_stats(*, merchant_id: str | None, since: datetime) -> PaymentStats:
    """Days are in the current time zone (the dashboard activates the merchant's)."""
    scope = _scope(merchant_id)
    succeeded = PaymentAttempt.objects.filter(status="succeeded", paid_at__gte=since, **scope)
    refunds = Refund.objects.filter(status="succeeded", created_at__gte=since, **scope)
    revenue: dict[str, int] = {}
    by_day: dict[str, dict[date, int]] = {}
    refunded: dict[str, int] = {}
    for rows, sign in ((succeeded.annotate(day=TruncDate("paid_at")), 1),
                       (refunds.annotate(day=TruncDate("created_at")), -1)):
        for row in rows.values("currency", "day").annotate(n=Sum("amount")):
            amount = sign * (row["n"] or 0)
            revenue[row["currency"]] = revenue.get(row["currency"], 0) + amount
            days = by_day.setdefault(row["currency"], {})
            days[row["day"]] = days.get(row["day"], 0) + amount
            if sign < 0:
                refunded[row["currency"]] = refunded.get(row["currency"], 0) - amount
    failed = PaymentAttempt.objects.filter(status="failed", created_at__gte=since, **scope)
    recovered = succeeded.filter(invoice__payments__status="failed",
                                 invoice__payments__created_at__lt=F("paid_at")).distinct()
    return PaymentStats(
        revenue=revenue, revenue_by_day=by_day, refunded=refunded,
        succeeded=succeeded.count(), failed=failed.count(),
        failed_by_day=_by_day(failed.annotate(day=TruncDate("created_at")).values("day")
                              .annotate(n=Count("id"))),
        recovered=recovered.count(),
        recovered_by_day=_by_day(
            PaymentAttempt.objects.filter(pk__in=recovered.values("pk"))
            .annotate(day=TruncDate("paid_at")).values("day").annotate(n=Count("id"))))


# How many months one interval of each kind lasts (for MRR).
MONTHS_PER_INTERVAL = {"daily": 12 / 365, "weekly": 12 / 52, "monthly": 1, "quarterly": 3,
                       "biannually": 6, "annually": 12}
# Subscriptions that bring in recurring revenue now (a trial pays nothing yet).
PAYING_STATUSES = ("active", "past_due", "non_renewing")


@dataclass(frozen=True)
class SubscriptionStats:
    """Subscriptions now live, and those started or canceled since a moment (also per day);
    MRR: what the paying ones bring in a month, per currency."""

    live: int
    new: int
    churned: int
    new_by_day: dict[date, int]
    churned_by_day: dict[date, int]
    mrr: dict[str, int]  # currency -> minor units a month


def subscription_stats(*, merchant_id: str | None, since: datetime) -> SubscriptionStats:
    subscriptions = Subscription.objects.filter(**_scope(merchant_id))
    new = subscriptions.filter(created_at__gte=since)
    churned = subscriptions.filter(canceled_at__gte=since)
    new_daily = new.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("id"))
    churn_daily = churned.annotate(day=TruncDate("canceled_at")).values("day").annotate(
        n=Count("id"))
    mrr: dict[str, float] = {}
    for row in (subscriptions.filter(status__in=PAYING_STATUSES)
                .values("currency", "interval", "interval_count").annotate(n=Sum("amount"))):
        months = MONTHS_PER_INTERVAL[row["interval"]] * max(row["interval_count"], 1)
        mrr[row["currency"]] = mrr.get(row["currency"], 0) + (row["n"] or 0) / months
    return SubscriptionStats(
        live=subscriptions.filter(status__in=LIVE_STATUSES).count(), new=new.count(),
        churned=churned.count(), new_by_day=_by_day(new_daily),
        churned_by_day=_by_day(churn_daily),
        mrr={currency: round(total) for currency, total in mrr.items()})
