"""Invoice services: gap-free numbering per merchant and mode, and invoice creation.

Numbers come from the merchant's :class:`~billing.models.InvoiceCounter` row,
incremented with an ``UPDATE`` (which locks the row) inside the caller's
transaction: two concurrent invoices wait for each other and get
consecutive numbers, and a rolled-back invoice gives its number back. Both
the renewal engine and the checkout pay flow create invoices here.

Every invoice keeps its seller as it was when issued (``Invoice.seller``: the merchant's
legal name, address and tax id, from :mod:`duro.tax`), and its lines (billing.pricing):
the renewal engine prices each subscription with its merchant's VAT rate, read once per
merchant per run.

    with atomic():
        invoice = invoice_create(merchant_id=m, customer=c, subscription=s, amount=1_500_000,
                                 currency="NGN", period_start=a, period_end=b,
                                 status="paid", paid_at=now)
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.db import IntegrityError, connections
from django.db.models import F

from billing.models import Customer, Invoice, InvoiceCounter, Subscription
from billing.plan_switch import pending_plan_switch
from billing.pricing import Price, price_lines, subscription_price
from duro.db import atomic, in_atomic
from duro.modes import current_mode
from duro.tax import tax_details, tax_details_many

logger = logging.getLogger(__name__)


def _require_atomic() -> None:
    if not in_atomic():
        raise RuntimeError("Invoice numbers are taken inside the caller's transaction: "
                           "wrap the call in duro.db.atomic().")


def invoice_numbers_reserve(*, merchant_id: str, count: int) -> range:
    """``count`` consecutive numbers for this merchant, held until the transaction ends."""
    _require_atomic()
    for _ in range(2):
        last = _counter_advance(merchant_id, count)
        if last is not None:
            return range(last - count + 1, last + 1)
        try:
            with atomic():  # a savepoint: a racing insert may win
                InvoiceCounter.objects.create(merchant_id=merchant_id, last_number=count)
            return range(1, count + 1)
        except IntegrityError:
            continue  # the other transaction made the row: increment it instead
    raise RuntimeError(f"Could not take an invoice number for {merchant_id}.")


def _counter_advance(merchant_id: str, count: int) -> int | None:
    """The merchant's counter moved on by ``count`` and read back in one statement
    (``UPDATE … RETURNING``, which the ORM cannot write); None when it has no row yet."""
    connection = connections[current_mode()]
    quote, meta = connection.ops.quote_name, InvoiceCounter._meta
    column = quote(cast(str, meta.get_field("last_number").column))
    key = quote(cast(str, meta.pk.column))
    with connection.cursor() as cursor:
        cursor.execute(  # names from _meta only
            f"UPDATE {quote(meta.db_table)} SET {column} = {column} + %s "  # noqa: S608
            f"WHERE {key} = %s RETURNING {column}", [count, merchant_id])
        row = cursor.fetchone()
    return row[0] if row else None


def invoice_number_next(*, merchant_id: str) -> int:
    """The next invoice number of this merchant in the current mode (caller's transaction)."""
    return invoice_numbers_reserve(merchant_id=merchant_id, count=1)[0]


def invoice_create(*, merchant_id: str, customer: Customer,
                   subscription: Subscription | None = None, amount: int, currency: str,
                   description: str = "", period_start: datetime | None = None,
                   period_end: datetime | None = None, status: str = Invoice.Status.OPEN,
                   paid_at: datetime | None = None, price: Price | None = None,
                   vat_rate: Decimal | None = None, coupon_code: str = "",
                   seller: dict | None = None, savepoint: bool = True, **fields) -> Invoice:
    """A numbered invoice. Must run inside ``duro.db.atomic()``.

    ``price`` (billing.pricing, its total ``amount``) writes its lines; without it the
    invoice is its amount alone. The seller is snapshot from the merchant's tax details
    (``seller``: as the caller already read them).
    ``fields``: more of the invoice's own (a checkout's receipt outbox row, reference,
    metadata), written with it.

    A second invoice for the same subscription and period start violates
    ``invoice_one_per_period`` (IntegrityError): the caller treats it as done. A caller
    for whom that cannot happen (a subscription this transaction just opened, or none)
    passes ``savepoint=False`` and saves the savepoint's two round trips.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("amount must be a whole number of minor units (0 for a trial)")
    if price is not None and price.total != amount:
        raise ValueError("amount must be the price's total")
    _require_atomic()
    invoice = Invoice(
        merchant_id=merchant_id, customer=customer, subscription=subscription,
        amount=amount, currency=currency, description=description,
        period_start=period_start, period_end=period_end, status=status, paid_at=paid_at,
        seller=seller if seller is not None else tax_details(merchant_id).seller(), **fields,
    )
    if price is not None:
        price_lines(invoice, price, coupon_code=coupon_code, vat_rate=vat_rate)
    # A savepoint around number and row: a collision gives the number back, keeps the outer tx.
    with atomic(savepoint=savepoint):
        invoice.number = invoice_number_next(merchant_id=merchant_id)
        invoice.save(force_insert=True)
        return invoice


def renewal_invoices_open(subs: list[Subscription], *, resumed: set[str]) -> dict[str, Invoice]:
    """The open invoice of each subscription's next period, by subscription id.

    A subscription in ``resumed`` (a retry, or a claim whose runner died) keeps
    the open invoice it has; the others get a new one for period
    ``period_index + 1`` at the subscription's own terms (price, interval, zone: never the
    plan's of today), numbered without gaps in the caller's transaction.
    A period someone else invoiced meanwhile (``invoice_one_per_period``) is
    left out: its creator owns it.
    """
    found = {
        str(inv.subscription_id): inv
        for inv in Invoice.objects.filter(subscription__in=resumed, status=Invoice.Status.OPEN,
                                          purpose="")  # not a portal's card check
    } if resumed else {}
    fresh: list[Invoice] = []
    # VAT and the seller: one cache read for the batch's merchants (a query only for those
    # not cached), never one per subscription.
    taxes = tax_details_many({sub.merchant_id for sub in subs if sub.pk not in found})
    for sub in subs:
        if sub.pk in found:
            continue
        if sub.pending_plan_id:  # a downgrade waited for this period's end
            pending_plan_switch(sub)
        tax = taxes[sub.merchant_id]
        start, end = sub.cycle().period(sub.period_index + 1)
        invoice = Invoice(
            merchant_id=sub.merchant_id, number=0, customer_id=sub.customer_id, subscription=sub,
            amount=sub.amount, currency=sub.currency, description=sub.plan.name,
            period_start=start, period_end=end, metadata=sub.metadata, seller=tax.seller(),
        )
        # Coupon (while it has periods left: decremented below once the invoice exists),
        # VAT and a change's credit (billing.pricing), the same as every invoice.
        price_lines(invoice, subscription_price(sub, vat_rate=tax.vat_rate),
                    coupon_code=sub.coupon.code if sub.coupon_id and sub.coupon else "",
                    vat_rate=tax.vat_rate)
        fresh.append(invoice)
    created = _create_numbered(fresh)
    by_id = {str(sub.pk): sub for sub in subs}
    for sub_id, invoice in created.items():
        if invoice.credit_applied:  # the credit now belongs to this invoice
            Subscription.objects.filter(pk=sub_id).update(
                credit_balance=F("credit_balance") - invoice.credit_applied)
        sub = by_id[sub_id]
        if sub.coupon_id and sub.coupon_periods_left:  # a repeating coupon's period used
            Subscription.objects.filter(pk=sub_id, coupon_periods_left__gt=0).update(
                coupon_periods_left=F("coupon_periods_left") - 1)
            sub.coupon_periods_left -= 1
    found.update(created)
    return found


def _create_numbered(invoices: list[Invoice]) -> dict[str, Invoice]:
    """Insert the invoices with consecutive numbers per merchant (gap-free, in this tx)."""
    if not invoices:
        return {}
    try:
        with atomic():
            _number(invoices)
            Invoice.objects.bulk_create(invoices)
        return {str(inv.subscription_id): inv for inv in invoices}
    except IntegrityError:
        pass  # an invoice for one of these periods exists: go one by one
    created: dict[str, Invoice] = {}
    for inv in invoices:
        try:
            with atomic():
                _number([inv])
                inv.save(force_insert=True)
            created[str(inv.subscription_id)] = inv
        except IntegrityError:
            logger.info("invoice already exists", extra={"subscription": inv.subscription_id})
    return created


def _number(invoices: list[Invoice]) -> None:
    by_merchant: dict[str, list[Invoice]] = {}
    for inv in invoices:
        by_merchant.setdefault(inv.merchant_id, []).append(inv)
    for merchant_id in sorted(by_merchant):  # one lock order: no deadlock between runners
        rows = by_merchant[merchant_id]
        for inv, number in zip(rows, invoice_numbers_reserve(merchant_id=merchant_id,
                                                             count=len(rows)), strict=True):
            inv.number = number
