"""An invoice's document, by its signed link (no key): ``/documents/invoices/{token}``
(HTML, branded with the merchant's published appearance, strict CSP like every hosted
page) and ``/documents/invoices/{token}.pdf`` (billing.invoice_pdf). A token that is not
one, or whose signature is wrong, is a 404 that says nothing more.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from appearance.selectors import published_appearance
from billing.documents import invoice_document, invoice_document_urls, invoice_for_document
from billing.invoice_pdf import invoice_pdf
from billing.models import Invoice
from checkout.views import hosted_headers
from duro.errors import NotFound
from duro.money import format_amount


def _load(token: str) -> Invoice | None:
    try:
        return invoice_for_document(token)
    except NotFound:
        return None


@require_GET
def invoice_document_page(request, token: str):
    invoice = _load(token)
    if invoice is None:
        response = render(request, "checkout/invoice_not_found.html",
                          {"appearance": published_appearance(None)}, status=404)
        return hosted_headers(response)
    doc = invoice_document(invoice)
    context = {"doc": doc,
               "items": [(line, format_amount(line.amount, doc.currency)) for line in doc.items],
               "totals": [(line, format_amount(line.amount, doc.currency))
                          for line in doc.totals],
               "total": format_amount(doc.total, doc.currency),
               "refunded": format_amount(invoice.amount_refunded, doc.currency)
               if invoice.amount_refunded else "",
               "appearance": published_appearance(invoice.merchant_id),
               "merchant_name": doc.seller_name, "test_mode": doc.test_mode,
               "pdf_url": invoice_document_urls(invoice)[1]}
    return hosted_headers(render(request, "checkout/document_invoice.html", context))


@require_GET
def invoice_document_pdf(request, token: str):
    invoice = _load(token)
    if invoice is None:
        return hosted_headers(HttpResponse("No such invoice.", status=404,
                                           content_type="text/plain; charset=utf-8"))
    doc = invoice_document(invoice)
    response = HttpResponse(invoice_pdf(doc), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.filename}"'
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Frame-Options"] = "DENY"
    return response
