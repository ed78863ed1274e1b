"""An invoice's document as a PDF (fpdf2, pure Python; nothing is downloaded).

    pdf_bytes = invoice_pdf(invoice_document(invoice))

It prints what the HTML document prints (billing.documents): the seller (legal name,
address, tax id), "Invoice INV-000042", the issue date, the customer's email, the lines
(description and period, subtotal, discount, "VAT 7.5 %", credit, total) and the status.
It uses the PDF core fonts (Helvetica), which every reader has and which need no font
file, so that rendering never touches the network or the disk. They cover Latin-1 only:
amounts print with the ISO code ("NGN 15,000.00", no ₦ glyph), and any other character a
merchant typed is replaced rather than failing the document.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.documents import InvoiceDocument
from duro.money import MINOR_UNITS

WIDTH = 180  # A4 less 15 mm margins
AMOUNT_WIDTH = 45


def money(amount: int, currency: str) -> str:
    """``NGN 15,000.00`` (core fonts have no ₦), ``-NGN 500.00`` for a deduction."""
    major, minor = divmod(abs(amount), 10 ** (digits := MINOR_UNITS.get(currency, 2)))
    return f"{'-' if amount < 0 else ''}{currency} {major:,}.{minor:0{digits}d}"


def latin1(text: str) -> str:
    """What the core fonts can print: en dash kept as "-", the rest replaced by "?"."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(doc: InvoiceDocument) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(latin1(f"Invoice {doc.number}"))
    pdf.set_author(latin1(doc.seller_name))
    pdf.set_creator("Duro")
    pdf.add_page()

    def text(value: str, *, size: float = 10, style: str = "", height: float = 5,
             align: str = "L") -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(WIDTH, height, latin1(value), align=align,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(label: str, amount: int, *, style: str = "", detail: str = "") -> None:
        pdf.set_font("Helvetica", style=style, size=10)
        pdf.cell(WIDTH - AMOUNT_WIDTH, 7, latin1(label))
        pdf.cell(AMOUNT_WIDTH, 7, money(amount, doc.currency), align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if detail:
            pdf.set_font("Helvetica", size=9)
            pdf.cell(WIDTH - AMOUNT_WIDTH, 5, latin1(detail),
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    if doc.test_mode:
        text("TEST MODE - no real money moved", size=9, style="B")
    text(doc.seller_name, size=14, style="B", height=7)
    if doc.seller_address:
        text(doc.seller_address)
    if doc.seller_tax_id:
        text(f"Tax ID: {doc.seller_tax_id}")
    pdf.ln(8)
    text(f"Invoice {doc.number}", size=18, style="B", height=9)
    text(f"Issued: {doc.issued_at.day} {doc.issued_at:%b %Y}")
    text(f"Billed to: {doc.customer_email}")
    text(f"Status: {doc.status}", style="B")
    pdf.ln(6)
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(WIDTH - AMOUNT_WIDTH, 7, "Description", border="B")
    pdf.cell(AMOUNT_WIDTH, 7, "Amount", border="B", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for item in doc.items:
        row(item.label, item.amount, detail=item.detail)
    pdf.ln(3)
    for line in doc.totals:
        row(line.label, line.amount)
    row("Total", doc.total, style="B")
    if doc.invoice.amount_refunded:
        row("Refunded", -doc.invoice.amount_refunded)
    return bytes(pdf.output())
