"""The customer portal in a real browser at 375 px: a ``past_due`` subscription recovers
through it (open the merchant's link, update the card with a sandbox test card, see the
subscription active again), and every state a customer meets (the home page with active,
past_due and cancelling subscriptions, the used link's page, the signed-out page) passes
axe-core with no violation of any impact and scrolls no wider than the screen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Card, Invoice, Subscription
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.browser import axe_violations
from tests.checkout.test_portal import past_due, portal_link, reload

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_a_past_due_subscription_recovers_through_the_portal(acme, api, live_server, settings,
                                                             chromium):
    settings.DURO_PUBLIC_URL = live_server.url
    sub = past_due(acme.merchant.id)
    url = portal_link(api, sub.customer_id).json()["data"]["url"]
    context = chromium.new_context(viewport={"width": 375, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(url)
        assert page.url == f"{live_server.url}/portal/"
        status = page.locator(f'[data-subscription="{sub.pk}"] .sub-status')
        assert status.inner_text() == "Payment failed"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.click(f"#update-card-{sub.pk}")
        page.wait_for_selector("#card-number")
        page.fill("#card-number", "4242 4242 4242 4242")
        page.fill("#card-expiry", "12/34")
        page.fill("#card-cvc", "123")
        page.click("#pay-button")
        page.wait_for_selector('[data-status="paid"]')
        page.click("#back-to-portal")
        page.wait_for_selector(f'[data-subscription="{sub.pk}"] [data-status="active"]')
        assert page.locator(f'[data-subscription="{sub.pk}"] .sub-card').inner_text() == (
            "Visa •••• 4242")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert errors == []  # no script error, no CSP violation
        # A second open of the merchant's link is refused.
        assert page.goto(url).status == 410
    finally:
        context.close()
    renewed = reload(sub)
    assert renewed.status == "active" and renewed.card.last4 == "4242"


# --- every state a customer meets: axe-core (any impact) and no sideways scroll at 375 px ---

def _fits_375(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 375


def test_every_portal_state_passes_axe_and_fits_375_px(acme, api, live_server, settings,
                                                       chromium, axe_source, brand):
    """The portal home with an active subscription, a past_due one and one cancelling at
    period end (its undo button shown), the "link used or expired" page (410) and the
    signed-out page (403): no axe-core violation of any impact, no horizontal scroll."""
    settings.DURO_PUBLIC_URL = live_server.url
    brand(headline="Train with us", subheadline="Cancel any time",
          support_contact="help@acme.test", terms_url="https://acme.test/terms")
    merchant_id = acme.merchant.id
    active = subscribe(merchant_id, paid_at=timezone.now() - timedelta(days=3))
    cancelling = subscribe(merchant_id, paid_at=timezone.now() - timedelta(days=2))
    failed = past_due(merchant_id)
    with mode_context("test"):  # one customer holds all three (and their invoices)
        others = [cancelling.customer_id, failed.customer_id]
        for model in (Subscription, Invoice, Card):
            model.objects.filter(customer_id__in=others).update(customer_id=active.customer_id)
    url = portal_link(api, active.customer_id).json()["data"]["url"]
    # bypass_csp: axe-core is injected as an inline script, which the pages' CSP forbids.
    context = chromium.new_context(viewport={"width": 375, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found = {}
    try:
        page.goto(url)
        assert page.url == f"{live_server.url}/portal/"
        page.click(f"#cancel-{cancelling.pk}")
        page.wait_for_selector("#portal-notice")
        statuses = {sub.pk: page.inner_text(f'[data-subscription="{sub.pk}"] .sub-status')
                    for sub in (active, cancelling, failed)}
        assert statuses == {active.pk: "Active", cancelling.pk: "Ends at period end",
                            failed.pk: "Payment failed"}
        assert page.is_visible(f"#keep-{cancelling.pk}")  # the undo
        assert page.is_visible(f"#cancel-{active.pk}")
        assert page.is_visible(f"#update-card-{failed.pk}")
        assert page.locator("table.portal-invoices tbody tr").count() >= 3
        assert _fits_375(page)
        found["home"] = axe_violations(page, axe_source)

        gone = page.goto(url)  # the merchant's link again: used
        assert gone.status == 410 and page.is_visible("#gone-title")
        assert _fits_375(page)
        found["gone"] = axe_violations(page, axe_source)

        context.clear_cookies()
        out = page.goto(f"{live_server.url}/portal/")
        assert out.status == 403 and page.is_visible("#out-title")
        assert _fits_375(page)
        found["signed_out"] = axe_violations(page, axe_source)
    finally:
        context.close()
    assert found == {"home": [], "gone": [], "signed_out": []}
    assert errors == []
