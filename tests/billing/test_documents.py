"""Invoices a merchant can file (#17): VAT on top of the price as its own line, the seller
snapshot, signed hostedUrl/pdfUrl that need no key, and the PDF itself."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.models import Invoice, SandboxCharge
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.billing.test_renewals import RENEWAL, invoices, run
from tests.checkout.factories import make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

TAX = {"legalName": "Acme Gym Limited", "address": "12 Marina, Lagos",
       "taxId": "TIN-0123456", "vatRate": "7.5"}


@pytest.fixture
def vat(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/v1/merchant", {"tax": TAX}, format="json")
    assert response.status_code == 200, response.content


def pdf_text(data: bytes) -> str:
    """The text a PDF shows: its content streams inflated, the strings of each Tj."""
    assert data.startswith(b"%PDF-")
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        shown += re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", content)
    return "\n".join(re.sub(rb"\\(.)", rb"\1", s).decode("latin-1") for s in shown)


def test_a_checkout_with_vat_shows_and_charges_it_and_the_invoice_files_it(api, vat):
    session = make_session(api)  # Gold Membership, ₦15,000.00 a month
    public = APIClient()
    hydrate = public.get(f"/v1/public/checkout/{session['token']}").json()["data"]
    assert (hydrate["amount"], hydrate["amountDue"]) == (1_500_000, 1_612_500)
    assert hydrate["vat"] == {"rate": "7.5", "amount": 112_500}
    assert hydrate["amountLabel"] == "₦16,125.00 / month"
    page = public.get(f"/checkout/{session['token']}").content.decode()
    assert "₦16,125.00 / month" in page
    assert re.search(r'id="vat-line">₦15,000.00 \+ VAT 7.5 % \(₦1,125.00\)', page)

    result = pay(public, session["token"]).json()["data"]
    assert result["status"] == "completed", result
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["payment"]["amount"] == 1_612_500
    with mode_context("test"):
        assert SandboxCharge.objects.get().amount == 1_612_500
        invoice = Invoice.objects.get(pk=verify["invoiceId"])
    assert (invoice.amount, invoice.subtotal, invoice.vat_amount, str(invoice.vat_rate)) == (
        1_612_500, 1_500_000, 112_500, "7.50")
    assert invoice.seller == {"legal_name": "Acme Gym Limited", "address": "12 Marina, Lagos",
                              "tax_id": "TIN-0123456"}
    data = api.get(f"/v1/invoices/{invoice.id}").json()["data"]
    assert (data["amount"], data["subtotal"], data["vat"], data["discount"]) == (
        1_612_500, 1_500_000, {"rate": "7.5", "amount": 112_500}, None)
    assert data["hostedUrl"].startswith("http") and data["pdfUrl"].endswith(".pdf")


def test_a_trial_authorises_nothing_and_shows_the_price_with_vat(api, vat):
    from tests.checkout.factories import make_plan

    plan = make_plan(api, trialDays=7)
    session = make_session(api, planId=plan["id"])
    public = APIClient()
    assert public.get(f"/v1/public/checkout/{session['token']}").json()["data"][
        "amountDue"] == 1_612_500
    assert pay(public, session["token"]).json()["data"]["status"] == "completed"
    with mode_context("test"):
        invoice = Invoice.objects.get()
    assert (invoice.amount, invoice.subtotal, invoice.vat_amount) == (0, 0, 0)


def test_a_renewal_adds_the_merchants_vat_and_numbers_stay_gap_free(
        acme, api, vat, django_capture_on_commit_callbacks):
    merchant = acme.merchant
    subs = [subscribe(merchant.id) for _ in range(3)]  # invoices 1, 2, 3 (before VAT)
    from django.core.cache import cache
    cache.clear()  # the run reads the rate from the core store once, for all three
    with CaptureQueriesContext(connections["default"]) as core:
        report = run(RENEWAL + timedelta(minutes=1))
    assert report.renewed == 3
    merchant_reads = [q for q in core.captured_queries if "duro_merchant" in q["sql"]]
    assert len(merchant_reads) == 1, merchant_reads
    renewed = [invoices(sub)[1] for sub in subs]
    assert sorted(inv.number for inv in renewed) == [4, 5, 6]
    for inv in renewed:
        assert (inv.amount, inv.subtotal, inv.vat_amount, str(inv.vat_rate)) == (
            1_612_500, 1_500_000, 112_500, "7.50")
        assert inv.seller["tax_id"] == "TIN-0123456"
    with mode_context("test"):
        charged = dict(SandboxCharge.objects.values_list("pk", "amount"))
    assert {charged[inv.id] for inv in renewed} == {1_612_500}
    # a checkout afterwards takes the next number
    pay(APIClient(), make_session(api, amount=100_000, currency="NGN")["token"])
    with mode_context("test"):
        numbers = sorted(Invoice.objects.filter(merchant_id=merchant.id)
                         .values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6, 7]


def test_without_a_rate_nothing_changes(api):
    session = make_session(api, amount=250_000, currency="NGN", description="Jollof for two")
    hydrate = APIClient().get(f"/v1/public/checkout/{session['token']}").json()["data"]
    assert (hydrate["amountDue"], hydrate["vat"]) == (250_000, None)
    pay(APIClient(), session["token"])
    with mode_context("test"):
        invoice = Invoice.objects.get()
    data = api.get(f"/v1/invoices/{invoice.id}").json()["data"]
    assert (data["amount"], data["subtotal"], data["vat"]) == (250_000, 250_000, None)


def _paid_invoice(api) -> dict:
    session = make_session(api)
    pay(APIClient(), session["token"])
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    return api.get(f"/v1/invoices/{verify['invoiceId']}").json()["data"]


def test_the_hosted_document_needs_no_key_and_a_tampered_link_is_404(api, vat, brand):
    brand(brand_color="#0a7d5a", headline="Train hard")
    data = _paid_invoice(api)
    anyone = APIClient()
    response = anyone.get(data["hostedUrl"])
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response["Cache-Control"] == "no-store"
    assert 'id="invoice-number">INV-000001<' in html and "Acme Gym Limited" in html
    assert "TIN-0123456" in html and "12 Marina, Lagos" in html
    assert "VAT 7.5 %" in html and 'id="invoice-total">₦16,125.00<' in html
    assert "Paid on" in html and "ada@example.com" in html and "Train hard" in html
    assert data["pdfUrl"].removeprefix("http://testserver") in html or "Download PDF" in html

    path = data["hostedUrl"].split("/documents/")[1]
    mode, invoice_id, signature = path.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"{mode}.{invoice_id}.{flipped}",           # tampered signature
                f"live.{invoice_id}.{signature}",            # moved to the other mode
                f"{mode}.inv_{'x' * 24}.{signature}",        # moved to another invoice
                "nonsense"):
        assert anyone.get(f"/documents/{bad}").status_code == 404
        assert anyone.get(f"/documents/{bad}.pdf").status_code == 404


def test_the_pdf_prints_the_seller_lines_vat_and_total(api, vat):
    data = _paid_invoice(api)
    response = APIClient().get(data["pdfUrl"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="INV-000001.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    for shown in ("Acme Gym Limited", "12 Marina, Lagos", "Tax ID: TIN-0123456",
                  "Invoice INV-000001", "Billed to: ada@example.com", "Gold Membership",
                  "Subtotal", "NGN 15,000.00", "VAT 7.5 %", "NGN 1,125.00", "Total",
                  "NGN 16,125.00", "TEST MODE"):
        assert shown in text, (shown, text)
    assert re.search(r"Status: Paid on \d{1,2} [A-Z][a-z]{2} \d{4}", text), text
    # the period under the plan's line
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} - \d{1,2} [A-Z][a-z]{2} \d{4}", text)


def test_an_open_invoice_prints_open_and_an_old_invoice_its_amount(acme, api):
    sub = subscribe(acme.merchant.id)  # no VAT, no seller: the merchant's name
    with mode_context("test"):
        invoice = Invoice.objects.get(subscription=sub)
        Invoice.objects.filter(pk=invoice.pk).update(status="open", paid_at=None, seller={},
                                                     subtotal=None)
    data = api.get(f"/v1/invoices/{invoice.id}").json()["data"]
    assert (data["subtotal"], data["vat"]) == (1_500_000, None)
    text = pdf_text(APIClient().get(data["pdfUrl"]).content)
    assert "Status: Open" in text and "Acme Gym" in text and "VAT" not in text
    assert "NGN 15,000.00" in text
