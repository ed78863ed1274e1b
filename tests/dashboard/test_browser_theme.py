"""The dashboard as a merchant sees it: the theme, its menu, no third-party request,
screenshots at desktop and phone widths, and axe-core on the home page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser import ARTIFACTS

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

MENU = ["Payments", "Subscriptions", "Customers", "Checkout", "Developers", "Appearance",
        "Team"]


def sign_in(chromium, live_server, owner, width: int):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(f"{live_server.url}/admin/")
    assert page.inner_text("label[for=id_username]").strip().startswith("Email")
    page.fill("#id_username", owner.admin_user)
    page.fill("#id_password", "pw-chop-life-1")
    page.click("#login-form [type=submit]")
    page.wait_for_selector("#duro-revenue")
    return context, page


def shoot(page, name: str, width: int) -> None:
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}-{width}.png"),
                    full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_dashboard_is_themed_grouped_by_task_and_served_only_by_duro(chromium, live_server,
                                                                     owner, width):
    context, page = sign_in(chromium, live_server, owner, width)
    try:
        assert page.is_visible("#duro-test-banner")
        assert page.is_visible("#duro-mode-live")
        sidebar = page.locator("#nav-sidebar").inner_text()
        positions = [sidebar.find(group) for group in MENU]
        assert -1 not in positions and positions == sorted(positions), sidebar
        shoot(page, "dashboard-home", width)
        page.goto(f"{live_server.url}/admin/billing/paymentattempt/")
        page.wait_for_selector("#result_list")
        assert page.is_visible("#duro-mode-live")  # the switch is on every page
        shoot(page, "dashboard-payments", width)
        hosts = {urlsplit(url).netloc for url in page.requested
                 if not url.startswith(("data:", "blob:"))}
        assert hosts == {urlsplit(live_server.url).netloc}, hosts
    finally:
        context.close()


def test_dashboard_home_has_no_serious_accessibility_violations(chromium, live_server, owner,
                                                                axe_source):
    for width in (1280, 375):
        context, page = sign_in(chromium, live_server, owner, width)
        try:
            page.add_script_tag(content=axe_source)
            result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5])
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert serious == [], (width, serious)
        finally:
            context.close()
