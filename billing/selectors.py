"""Reads of billing data, scoped to a merchant, with the joins their callers need.

    subs = subscription_list(merchant_id=m.id, status="active")
    invoice = invoice_get(merchant_id=m.id, invoice_id="inv_…")   # raises NotFound
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from billing.models import DunningPolicy, Invoice, PaymentAttempt, Subscription
from duro.errors import NotFound
from duro.models import Merchant
from duro.regions import DEFAULT_TIMEZONE


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
        Prefetch("payments", queryset=PaymentAttempt.objects.order_by("created_at", "id"))
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


def merchant_timezones(merchant_ids) -> dict[str, str]:
    """Each merchant's IANA zone (core store); the default for a merchant not found."""
    ids = set(merchant_ids)
    found = dict(Merchant.objects.filter(pk__in=ids).values_list("id", "timezone"))
    return {mid: found.get(mid) or DEFAULT_TIMEZONE for mid in ids}


def dunning_days_for(merchant_ids) -> dict[str, list[int]]:
    """Each merchant's retry schedule in the current mode, else ``DURO_DUNNING_DAYS``."""
    ids = set(merchant_ids)
    found = dict(DunningPolicy.objects.filter(pk__in=ids).values_list("merchant_id", "retry_days"))
    default = list(settings.DURO_DUNNING_DAYS)
    return {mid: list(found[mid]) if mid in found else default for mid in ids}
