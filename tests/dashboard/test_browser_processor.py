"""Developers → Processor in a real browser, at desktop and phone widths (screenshots in
artifacts/screenshots/): an owner connects Paystack (the stand-in), the key is never shown
again, "Test connection" says Paystack accepted it, a wrong key is refused by Paystack, and
the page stays accessible (axe) and fits a 375 px screen."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from billing.processors.connections import connection_of
from tests.browser import serious_violations
from tests.dashboard.test_browser_theme import shoot, sign_in
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

PATH = "/admin/billing/processorconnection/"
WRONG_KEY = "sk_live_" + "0" * 40


@pytest.mark.parametrize("width", [1280, 375])
def test_owner_connects_paystack_and_tests_the_connection(chromium, live_server, owner,
                                                          axe_source, paystack_standin,
                                                          settings, width):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    secret = paystack_standin.secret_key
    context, page = sign_in(chromium, live_server, owner, width)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        assert page.locator(f"#nav-sidebar a[href='{PATH}']").count() == 1  # Developers menu
        page.goto(f"{live_server.url}{PATH}")
        assert page.is_visible("#duro-processor-test-mode")  # test mode: the sandbox
        assert page.get_attribute("#duro-processor-secret", "type") == "password"
        assert serious_violations(page, axe_source) == []
        page.fill("#duro-processor-secret", secret)
        page.click("#duro-processor-connect")
        page.wait_for_selector("#duro-processor-hint")
        assert page.inner_text("#duro-processor-hint") == f"sk_test_…{secret[-4:]}"
        assert page.input_value("#duro-processor-secret") == ""
        assert secret not in page.content()

        page.click("#duro-processor-check")
        page.wait_for_selector("text=Paystack accepted the key.")
        assert "accepted" in page.inner_text("#duro-processor-last-check")
        assert serious_violations(page, axe_source) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, "processor", width)

        page.fill("#duro-processor-secret", WRONG_KEY)
        page.click("#duro-processor-connect")
        page.wait_for_selector("text=sk_live_…0000")
        page.click("#duro-processor-check")
        page.wait_for_selector("text=Paystack refused the key")
        assert "failed" in page.inner_text("#duro-processor-last-check")
        shoot(page, "processor-refused", width)
        view = connection_of(owner.merchant.id)
        assert view is not None and view.last_check_ok is False
        assert errors == []
    finally:
        context.close()
