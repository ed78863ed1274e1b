"""Dashboard pages in a real browser, at desktop and phone widths (screenshots in
artifacts/screenshots/): a subscription cancelled from its own page."""

from __future__ import annotations

import pytest

from billing.models import Subscription
from duro.modes import mode_context
from tests.dashboard.test_browser_theme import owner, shoot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.mark.parametrize("width", [1280, 375])
def test_subscription_page_cancels_at_period_end_after_confirming(chromium, live_server,
                                                                  owner, width):  # noqa: F811
    with mode_context("test"):
        sub = Subscription.objects.get(merchant_id=owner.merchant.id)
    context, page = sign_in(chromium, live_server, owner, width)
    try:
        page.goto(f"{live_server.url}/admin/billing/subscription/")
        page.click(f"text={sub.pk}")
        page.wait_for_selector("#duro-invoices")
        assert "₦" in page.inner_text("#duro-payments")
        shoot(page, "subscription", width)
        page.click("#duro-cancel-period-end")
        page.wait_for_selector("#duro-cancel-confirm")
        shoot(page, "subscription-cancel-confirm", width)
        page.click("#duro-cancel-confirm [type=submit]")
        page.wait_for_selector("text=will not renew")
        assert page.is_visible("#duro-cancel-now")
        assert not page.is_visible("#duro-cancel-period-end")
        with mode_context("test"):
            assert Subscription.objects.get(pk=sub.pk).status == "non_renewing"
    finally:
        context.close()
