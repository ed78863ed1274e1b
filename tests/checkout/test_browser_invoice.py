"""The hosted invoice page in a real browser: paid by card and by transfer, with JavaScript
(the page polls the status call and moves to paid by itself) and without (forms, the
"check now" button, the simulate buttons)."""

import pytest
from rest_framework.test import APIClient

from billing.models import Invoice, Subscription
from duro.modes import mode_context
from tests.checkout.test_invoice_page import open_invoice

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def _renewed(invoice: Invoice) -> bool:
    with mode_context("test"):
        invoice = Invoice.objects.get(pk=invoice.pk)
        sub = Subscription.objects.get(pk=invoice.subscription_id)
    return invoice.status == "paid" and sub.status == "active" and sub.period_index == 1


def _pay_by_card(page):
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.click("#pay-button")


def test_paid_by_card_with_javascript(acme, live_server, settings, page):
    settings.DURO_PUBLIC_URL = live_server.url
    invoice = open_invoice(acme.merchant.id)
    page.goto(f"{live_server.url}/invoice/{invoice.hosted_token}")
    assert page.locator(".amount").first.inner_text() == "₦15,000.00 / month"
    assert page.text_content("#invoice-number") == "INV-000002"
    assert page.is_hidden("#rail-panel-bank_transfer")  # JS shows the chosen rail's panel
    page.fill("#card-number", "4242424242424242")
    assert page.input_value("#card-number") == "4242 4242 4242 4242"  # formatted by JS
    page.fill("#card-number", "")
    _pay_by_card(page)
    page.wait_for_selector('[data-status="paid"]')
    assert page.is_hidden("#card-number") or page.locator("#card-number").count() == 0
    assert page.js_errors == []  # no script error, no CSP violation
    assert _renewed(invoice)


def test_paid_by_transfer_with_javascript_the_page_moves_to_paid_by_itself(acme, live_server,
                                                                            settings, page):
    settings.DURO_PUBLIC_URL = live_server.url
    invoice = open_invoice(acme.merchant.id)
    page.goto(f"{live_server.url}/invoice/{invoice.hosted_token}")
    page.check('input[name="rail"][value="bank_transfer"]')
    assert page.is_hidden("#rail-panel-card") and page.is_visible("#rail-panel-bank_transfer")
    page.click("#pay-button")
    page.wait_for_selector("#transfer-account")
    assert page.text_content("#transfer-amount") == "₦15,000.00"
    # The bank confirms behind the page's back (a script, or a processor's webhook).
    answer = APIClient().post(f"/v1/public/invoices/{invoice.hosted_token}/simulate",
                              {"outcome": "paid"}, format="json")
    assert answer.json()["data"]["status"] == "paid"
    page.wait_for_selector('[data-status="paid"]', timeout=10_000)  # polled /status
    assert page.js_errors == []
    assert _renewed(invoice)


def test_paid_without_javascript_by_card(acme, live_server, settings, page_without_js):
    settings.DURO_PUBLIC_URL = live_server.url
    invoice = open_invoice(acme.merchant.id)
    page = page_without_js
    page.goto(f"{live_server.url}/invoice/{invoice.hosted_token}")
    _pay_by_card(page)
    page.wait_for_selector('[data-status="paid"]')
    assert _renewed(invoice)


def test_paid_without_javascript_by_transfer_and_simulate(acme, live_server, settings,
                                                          page_without_js):
    settings.DURO_PUBLIC_URL = live_server.url
    invoice = open_invoice(acme.merchant.id)
    page = page_without_js
    page.goto(f"{live_server.url}/invoice/{invoice.hosted_token}")
    page.check('input[name="rail"][value="bank_transfer"]')
    page.click("#pay-button")
    page.wait_for_selector("#transfer-account")
    page.click("#transfer-refresh")  # "I've sent the money: check now" — still awaited
    page.wait_for_selector('[data-status="processing"]')
    page.click("#simulate-paid")
    page.wait_for_selector('[data-status="paid"]')
    assert _renewed(invoice)
