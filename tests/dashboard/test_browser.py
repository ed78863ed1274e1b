"""Smoke test of the dashboard in a real browser, as a merchant owner uses it."""

import pytest

from duro.merchants import merchant_create
from tests.checkout.factories import make_session, pay
from tests.conftest import client_for

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_owner_runs_the_integration_from_the_dashboard(live_server, settings, page, shop):
    from rest_framework.test import APIClient

    settings.DURO_PUBLIC_URL = live_server.url
    owner = merchant_create(name="Chop Life Kitchen", email="owner@choplife.test",
                            password="pw-chop-life-1")
    pay(APIClient(), make_session(client_for(owner.keys["test"]["secret"]))["token"])

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", owner.admin_user)
    page.fill("#id_password", "pw-chop-life-1")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#duro-revenue")
    assert "₦15,000.00" in page.inner_text("#duro-revenue")
    assert page.is_visible("#duro-test-banner")

    page.click("#duro-mode-live")
    page.wait_for_selector(".duro-banner-live")
    assert "LIVE DATA" in page.inner_text(".duro-banner-live")
    page.click("#duro-mode-test")
    page.wait_for_selector("#duro-test-banner")

    page.goto(f"{live_server.url}/admin/duro/apikey/?mode__exact=test&kind__exact=secret")
    page.check("input.action-select")
    page.select_option("select[name=action]", "roll_with_grace")
    page.click("button[name=index]")
    page.wait_for_selector("[data-key]")
    assert page.inner_text("[data-key]").startswith("sk_test_")

    page.goto(f"{live_server.url}/admin/webhooks/webhookendpoint/add/")
    page.fill("#id_url", f"{shop.url}/hooks/duro")
    assert page.is_checked("#id_events_0")  # all events, by default
    page.click("[name=_save]")
    page.wait_for_selector("[data-secret]")
    assert page.inner_text("[data-secret]").startswith("whsec_")

    page.goto(f"{live_server.url}/admin/webhooks/event/")
    page.check("input.action-select >> nth=0")
    page.select_option("select[name=action]", "resend")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "deliveries queued" in page.inner_text(".messagelist")

    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#duro-webhooks")
    assert page.js_errors == []
