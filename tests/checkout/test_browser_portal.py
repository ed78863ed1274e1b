"""The customer portal in a real browser at 375 px: a ``past_due`` subscription recovers
through it (open the merchant's link, update the card with a sandbox test card, see the
subscription active again)."""

import pytest

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
