"""Duro's own address shows a small landing page, never Django's debug 404 with URL patterns."""

import pytest
from django.test import Client


@pytest.mark.django_db(databases="__all__")
def test_the_root_is_a_landing_page_pointing_to_docs_and_dashboard(settings):
    settings.DEBUG = True  # ./dev up runs with DEBUG: the debug 404 would list every pattern
    response = Client().get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="/v1/docs"' in page and 'href="/admin/"' in page
    assert "URLconf" not in page and "healthz" not in page  # no pattern list
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_dashboards_view_site_link_lands_on_it(live_server, acme, page):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", acme.admin_user)
    page.fill("#id_password", "correct-horse-battery")
    page.click("#login-form [type=submit]")
    page.set_viewport_size({"width": 1280, "height": 900})  # the sidebar's account menu
    page.locator("#nav-sidebar").get_by_text(acme.admin_user).first.click()
    page.click("text=View site")
    page.wait_for_url(f"{live_server.url}/")
    assert page.is_visible("text=Merchant dashboard")
    assert page.title().startswith("Duro")
