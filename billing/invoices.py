"""Invoices: gap-free numbers per merchant and mode, and creation.

``invoice_number_next`` locks the merchant's counter row inside the caller's
transaction, so a rolled-back invoice gives its number back and two
concurrent invoices can never share one.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from billing.models import Customer, Invoice, InvoiceCounter, Subscription
from duro.modes import current_mode


def invoice_number_next(*, merchant_id: str) -> int:
    using = current_mode()
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("invoice_number_next must run inside the invoice's transaction")
    counter = InvoiceCounter.objects.select_for_update().filter(merchant_id=merchant_id).first()
    if counter is None:
        try:
            with transaction.atomic(using=using):
                InvoiceCounter.objects.create(merchant_id=merchant_id, last_number=0)
        except IntegrityError:
            pass
        counter = InvoiceCounter.objects.select_for_update().get(merchant_id=merchant_id)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def invoice_create(*, merchant_id: str, customer: Customer,
                   subscription: Subscription | None = None, amount: int, currency: str,
                   description: str = "",
                   period_start: datetime | None = None, period_end: datetime | None = None,
                   status: str = Invoice.Status.OPEN, paid_at: datetime | None = None) -> Invoice:
    return Invoice.objects.create(
        merchant_id=merchant_id, number=invoice_number_next(merchant_id=merchant_id),
        customer=customer, subscription=subscription, amount=amount, currency=currency,
        description=description, period_start=period_start, period_end=period_end,
        status=status, paid_at=paid_at,
    )
