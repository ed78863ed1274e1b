"""Developers → Payment methods in a real browser, at desktop and phone widths (screenshots in
artifacts/screenshots/): an owner switches bank transfer off for test payments, the hosted
page stops offering it, live keeps it, and a change that strands a currency is refused."""

from __future__ import annotations

import pytest

from billing.models import RailSettings
from duro.modes import mode_context
from tests.browser import serious_violations
from tests.checkout.factories import make_session
from tests.conftest import client_for
from tests.dashboard.test_browser_theme import shoot, sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

PATH = "/admin/billing/railsettings/"


@pytest.mark.parametrize("width", [1280, 375])
def test_owner_switches_bank_transfer_off_for_test_payments_only(chromium, live_server, owner,
                                                                 axe_source, width):
    context, page = sign_in(chromium, live_server, owner, width)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        assert page.locator(f"#nav-sidebar a[href='{PATH}']").count() == 1  # Developers menu
        page.goto(f"{live_server.url}{PATH}")
        assert page.is_visible("#duro-test-banner")
        assert page.is_checked("#duro-rail-card") and page.is_checked("#duro-rail-bank_transfer")
        assert "NGN" in page.inner_text("#duro-method-bank_transfer")
        assert serious_violations(page, axe_source) == []
        page.uncheck("#duro-rail-bank_transfer")
        page.click("#duro-save-payment-methods")
        page.wait_for_selector("text=Saved for test payments (off: Bank transfer)")
        assert not page.is_checked("#duro-rail-bank_transfer")
        shoot(page, "payment-methods", width)

        session = make_session(client_for(owner.keys["test"]["secret"]))
        page.goto(session["url"])
        page.wait_for_selector("#pay-button")
        assert page.locator("input[name=rail][value=card]").count() == 1
        assert page.locator("input[name=rail][value=bank_transfer]").count() == 0

        page.goto(f"{live_server.url}{PATH}")
        page.click("#duro-mode-live")
        page.wait_for_selector(".duro-banner-live")
        assert page.is_checked("#duro-rail-bank_transfer")  # live has its own switches
        page.uncheck("#duro-rail-card")
        page.click("#duro-save-payment-methods")
        page.wait_for_selector("#duro-payment-methods-error")
        assert "USD" in page.inner_text("#duro-payment-methods-error")
        shoot(page, "payment-methods-refused", width)
        live = make_session(client_for(owner.keys["live"]["secret"]))
        page.goto(live["url"])
        page.wait_for_selector("#pay-button")
        assert page.locator("input[name=rail][value=bank_transfer]").count() == 1
        with mode_context("live"):
            assert not RailSettings.objects.exists()
        with mode_context("test"):
            assert RailSettings.objects.get().switched_off == ["bank_transfer"]
        assert errors == []
    finally:
        context.close()
