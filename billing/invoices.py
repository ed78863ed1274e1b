"""Invoice services: gap-free numbering per merchant and mode, and invoice creation.

Numbers come from the merchant's :class:`~billing.models.InvoiceCounter` row,
incremented with an ``UPDATE`` (which locks the row) inside the caller's
transaction: two concurrent invoices wait for each other and get
consecutive numbers, and a rolled-back invoice gives its number back. Both
the renewal engine and the checkout pay flow create invoices here.

    with transaction.atomic(using=current_mode()):
        invoice = invoice_create(merchant_id=m, customer=c, subscription=s, amount=1_500_000,
                                 currency="NGN", period_start=a, period_end=b,
                                 status="paid", paid_at=now)
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connections, transaction
from django.db.models import F

from billing.models import Customer, Invoice, InvoiceCounter, Subscription
from duro.modes import current_mode


def _require_atomic(alias: str) -> None:
    if not connections[alias].in_atomic_block:
        raise RuntimeError(
            "Invoice numbers are taken inside the caller's transaction: "
            f"wrap the call in transaction.atomic(using={alias!r})."
        )


def invoice_numbers_reserve(*, merchant_id: str, count: int) -> range:
    """``count`` consecutive numbers for this merchant, held until the transaction ends."""
    alias = current_mode()
    _require_atomic(alias)
    for _ in range(2):
        updated = InvoiceCounter.objects.filter(pk=merchant_id).update(
            last_number=F("last_number") + count
        )
        if updated:
            last = InvoiceCounter.objects.filter(pk=merchant_id).values_list(
                "last_number", flat=True
            ).get()
            return range(last - count + 1, last + 1)
        try:
            with transaction.atomic(using=alias):  # a savepoint: a racing insert may win
                InvoiceCounter.objects.create(merchant_id=merchant_id, last_number=count)
            return range(1, count + 1)
        except IntegrityError:
            continue  # the other transaction made the row: increment it instead
    raise RuntimeError(f"Could not take an invoice number for {merchant_id}.")


def invoice_number_next(*, merchant_id: str) -> int:
    """The next invoice number of this merchant in the current mode (caller's transaction)."""
    return invoice_numbers_reserve(merchant_id=merchant_id, count=1)[0]


def invoice_create(*, merchant_id: str, customer: Customer,
                   subscription: Subscription | None = None, amount: int, currency: str,
                   description: str = "", period_start: datetime | None = None,
                   period_end: datetime | None = None, status: str = Invoice.Status.OPEN,
                   paid_at: datetime | None = None) -> Invoice:
    """A numbered invoice. Must run inside ``transaction.atomic(using=current_mode())``.

    A second invoice for the same subscription and period start violates
    ``invoice_one_per_period`` (IntegrityError): the caller treats it as done.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("amount must be a whole number of minor units (0 for a trial)")
    alias = current_mode()
    _require_atomic(alias)
    # A savepoint around number and row: a collision gives the number back, keeps the outer tx.
    with transaction.atomic(using=alias):
        number = invoice_number_next(merchant_id=merchant_id)
        return Invoice.objects.create(
            merchant_id=merchant_id, number=number, customer=customer, subscription=subscription,
            amount=amount, currency=currency, description=description,
            period_start=period_start, period_end=period_end, status=status, paid_at=paid_at,
        )
