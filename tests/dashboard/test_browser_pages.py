"""Dashboard pages in a real browser, at desktop and phone widths (screenshots in
artifacts/screenshots/): a subscription cancelled from its own page."""

from __future__ import annotations

import pytest

from billing.models import Subscription
from duro.modes import mode_context
from tests.dashboard.test_browser_theme import shoot, sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


@pytest.mark.parametrize("width", [1280, 375])
def test_subscription_page_cancels_at_period_end_after_confirming(chromium, live_server,
                                                                  owner, width):
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


@pytest.mark.parametrize("width", [1280, 375])
def test_webhook_endpoint_page_picks_events_and_sends_a_test(chromium, live_server, owner,
                                                             shop, width):
    context, page = sign_in(chromium, live_server, owner, width)
    try:
        page.goto(f"{live_server.url}/admin/webhooks/webhookendpoint/add/")
        page.fill("#id_url", f"{shop.url}/hooks/duro")
        page.uncheck("input[name=events][value='*']")
        page.check("input[name=events][value=payment_success]")
        page.click("[name=_save]")
        page.wait_for_selector("[data-secret]")
        page.goto(f"{live_server.url}/admin/webhooks/webhookendpoint/")
        page.click(f"text={shop.url}/hooks/duro")
        page.wait_for_selector("#duro-send-test")
        assert page.is_checked("input[name=events][value=payment_success]")
        assert not page.is_checked("input[name=events][value='*']")
        page.click("#duro-send-test")
        page.wait_for_selector("text=Test event sent")
        assert "webhook_test" in page.inner_text("#duro-deliveries")
        shoot(page, "webhook-endpoint", width)
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_create_a_test_session_in_major_units_and_open_it(chromium, live_server, owner, width):
    context, page = sign_in(chromium, live_server, owner, width)
    try:
        page.goto(f"{live_server.url}/admin/checkout/checkoutsession/add/")
        page.fill("#id_amount", "2,500")
        page.select_option("#id_currency", "NGN")
        shoot(page, "test-session", width)
        page.click(".duro-page [type=submit]")
        page.wait_for_url("**/checkout/**")
        assert "₦2,500.00" in page.inner_text("body")
    finally:
        context.close()
