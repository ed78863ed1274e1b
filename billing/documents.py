"""An invoice as a document a merchant can file: its signed links, and what it prints.

    hosted_url, pdf_url = invoice_document_urls(invoice)   # current mode; no query
    invoice = invoice_for_document("test.inv_….SIG")      # sets the mode; NotFound
    doc = invoice_document(invoice)                        # lines, seller, status

Every invoice has ``hostedUrl`` (an HTML page) and ``pdfUrl`` (the same as a PDF,
billing.invoice_pdf). They need no key: the token is the mode and the invoice's id,
signed with the server's secret (django.core.signing, a salt per mode), so a link cannot
be guessed or moved to another invoice, and minting one costs no query (the renewal
engine renders one for every invoice it opens). A link does not expire: a document is
filed and opened again years later. This is not the hosted invoice *page*
(``/invoice/{token}``, billing.invoice_links), which exists to pay an open invoice.

The document prints the seller as the invoice keeps it (``Invoice.seller``, snapshot at
issue, falling back to the merchant's name) and the lines that made its amount
(billing.pricing): subtotal, discount, VAT, credit, total. HTML and PDF read the same
:class:`InvoiceDocument`, so that they agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.urls import reverse

from billing.models import Invoice
from billing.pricing import invoice_lines
from duro.errors import NotFound
from duro.models import Merchant
from duro.modes import MODES, current_mode, set_mode
from duro.regions import DEFAULT_TIMEZONE

_SHAPE = re.compile(r"^(test|live)\.(inv_[A-Za-z0-9]{1,40})\.[A-Za-z0-9_-]{20,100}$")


def _signer(mode: str) -> signing.Signer:
    return signing.Signer(salt=f"duro.documents.invoice.{mode}", sep=".")


def invoice_document_token(invoice: Invoice, *, mode: str) -> str:
    return _signer(mode).sign(f"{mode}.{invoice.pk}")


def invoice_document_urls(invoice: Invoice) -> tuple[str, str]:
    """``(hostedUrl, pdfUrl)`` of the invoice, in the current mode."""
    token = invoice_document_token(invoice, mode=current_mode())
    return (f"{settings.DURO_PUBLIC_URL}{reverse('invoice-document', args=[token])}",
            f"{settings.DURO_PUBLIC_URL}{reverse('invoice-document-pdf', args=[token])}")


def invoice_for_document(token: str) -> Invoice:
    """The invoice a document link names, with the mode set; NotFound when the token is
    not one (a wrong signature included)."""
    match = _SHAPE.match(token or "")
    if match is None:
        raise NotFound("No such invoice.")
    mode = match.group(1)
    assert mode in MODES
    try:
        _signer(mode).unsign(token)
    except signing.BadSignature:
        raise NotFound("No such invoice.") from None
    set_mode(mode)
    invoice = (Invoice.objects.select_related("customer", "subscription")
               .filter(pk=match.group(2)).first())
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


@dataclass(frozen=True)
class Line:
    label: str
    amount: int
    detail: str = ""  # the period, under the description


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    number: str  # INV-000042
    seller_name: str
    seller_address: str
    seller_tax_id: str
    issued_at: datetime  # in the merchant's zone
    paid_at: datetime | None
    customer_email: str
    items: list[Line]  # what is sold (one line: the plan or the payment's description)
    totals: list[Line]  # subtotal, discount, VAT, credit (each when there is one)
    total: int
    currency: str
    status: str  # "Paid on 3 Jan 2027", "Open", "Void"
    test_mode: bool

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


def _date(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def invoice_document(invoice: Invoice, *, mode: str | None = None) -> InvoiceDocument:
    """What the invoice's document prints. One query on the core store (the merchant's
    name and zone, for an invoice issued before it had a legal name, and for its dates)."""
    mode = mode or current_mode()
    merchant = Merchant.objects.filter(pk=invoice.merchant_id).values(
        "name", "timezone").first() or {"name": "", "timezone": DEFAULT_TIMEZONE}
    zone = ZoneInfo(merchant["timezone"] or DEFAULT_TIMEZONE)
    seller = invoice.seller or {}
    issued = invoice.created_at.astimezone(zone)
    paid = invoice.paid_at.astimezone(zone) if invoice.paid_at else None
    detail = ""
    if invoice.period_start and invoice.period_end:
        detail = (f"{_date(invoice.period_start.astimezone(zone))} – "
                  f"{_date(invoice.period_end.astimezone(zone))}")
    totals = [Line(label, amount) for label, amount in invoice_lines(invoice)]
    subtotal = totals[0].amount
    if invoice.status == Invoice.Status.PAID:
        status = f"Paid on {_date(paid)}" if paid else "Paid"
    else:
        status = invoice.get_status_display()
    return InvoiceDocument(
        invoice=invoice, number=f"INV-{invoice.number:06d}",
        seller_name=seller.get("legal_name") or invoice.merchant_name or merchant["name"],
        seller_address=seller.get("address") or "", seller_tax_id=seller.get("tax_id") or "",
        issued_at=issued, paid_at=paid,
        customer_email=invoice.receipt_email or invoice.customer.email,
        items=[Line(invoice.description or "Payment", subtotal, detail)], totals=totals,
        total=invoice.amount, currency=invoice.currency, status=status,
        test_mode=mode == "test",
    )
