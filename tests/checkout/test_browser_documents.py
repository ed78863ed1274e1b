"""An invoice's document in a real browser: the page a customer or an accountant opens from
``hostedUrl`` (no key) passes axe-core with no violation of any impact, fits 375 px, and
its "Download PDF" link serves the PDF."""

import pytest

from tests.billing.test_documents import TAX, _paid_invoice
from tests.browser import axe_violations

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_the_document_page_passes_axe_fits_375_px_and_links_its_pdf(
        acme, api, live_server, settings, chromium, axe_source, brand):
    settings.DURO_PUBLIC_URL = live_server.url
    brand(headline="Train with us", support_contact="help@acme.test")
    assert api.patch("/v1/merchant", {"tax": TAX}, format="json").status_code == 200
    data = _paid_invoice(api)
    # bypass_csp: axe-core is injected as an inline script, which the page's CSP forbids.
    context = chromium.new_context(viewport={"width": 375, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        response = page.goto(data["hostedUrl"])
        assert response.status == 200
        assert page.inner_text("#invoice-number") == "INV-000001"
        assert page.inner_text("#invoice-total") == "₦16,125.00"
        assert "VAT 7.5 %" in page.inner_text("table.lines")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        violations = axe_violations(page, axe_source)
        pdf = context.request.get(page.get_attribute("#pdf-link", "href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")
    finally:
        context.close()
    assert violations == []
    assert errors == []
