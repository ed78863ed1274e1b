"""The hosted invoice page's link: a token that carries the mode, like a checkout token.

    invoice_link_open(invoice, merchant_name="Acme Gym")   # mints in_test_… (caller's tx)
    invoice_link_url(invoice)          # https://duro.example/invoice/in_test_…
    invoice = invoice_for_token("in_test_…")   # sets the mode; one query on its store

A renewal without a reusable authorization opens its invoice and asks for the
money through this link (:mod:`billing.invoice_dunning`). The public page is
hit by a browser with no key: :func:`mode_of_invoice_token` reads the prefix
without touching any store, and a token of no known shape reads none.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import reverse

from billing.models import Invoice
from duro.errors import NotFound
from duro.ids import random_base62
from duro.modes import current_mode, mode_from_prefix, set_mode

TOKEN_RANDOM_LENGTH = 32  # base62: ~190 bits, as checkout tokens
_SHAPE = re.compile(r"^in_(test|live)_[A-Za-z0-9]{32}$")


def new_invoice_token(mode: str) -> str:
    return f"in_{mode}_{random_base62(TOKEN_RANDOM_LENGTH)}"


def mode_of_invoice_token(token: str) -> str | None:
    if not _SHAPE.match(token or ""):
        return None
    return mode_from_prefix(token, ("in",))


def invoice_link_open(invoice: Invoice, *, merchant_name: str) -> Invoice:
    """Give an invoice its hosted token (once) and the merchant's name the page shows.
    Unsaved: the caller writes ``hosted_token`` and ``merchant_name`` in its transaction."""
    if not invoice.hosted_token:
        invoice.hosted_token = new_invoice_token(current_mode())
    invoice.merchant_name = merchant_name or invoice.merchant_name
    return invoice


def invoice_link_url(invoice: Invoice) -> str:
    assert invoice.hosted_token, "the invoice has no hosted link"
    return f"{settings.DURO_PUBLIC_URL}{reverse('invoice-page', args=[invoice.hosted_token])}"


def invoice_by_token(token: str) -> Invoice | None:
    """One query on the current store: the invoice, its subscription and plan, its customer
    and the latest attempt made on its page."""
    return (Invoice.objects.select_related("subscription__plan", "customer", "hosted_payment")
            .filter(hosted_token=token).first())


def invoice_for_token(token: str) -> Invoice:
    """The invoice a public token names, with the mode set from the token's prefix."""
    mode = mode_of_invoice_token(token)
    if mode is None:
        raise NotFound("No such invoice.")
    set_mode(mode)
    invoice = invoice_by_token(token)
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice
