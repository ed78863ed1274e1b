"""The branded page in a real browser: screenshots at phone and desktop widths, axe-core.

Screenshots go to ``artifacts/screenshots/`` (git-ignored) for a human to look at.
The accessibility check injects axe-core with ``page.add_script_tag(content=…)``;
the page's CSP rightly blocks inline scripts, so that one check runs in a browser
context created with Playwright's ``bypass_csp=True``. The screenshot contexts keep
the CSP on, and prove the theme stylesheet applies under it.
"""

import pytest

from tests.appearance.conftest import image_bytes
from tests.browser import ARTIFACTS
from tests.checkout.factories import make_session

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

BRAND = {"brand_color": "#7b1fa2", "accent_color": "#ffd54f", "background_color": "#f5f0f7",
         "surface_color": "#ffffff", "text_color": "#1d1024", "font": "geometric", "radius": 6,
         "headline": "Train with Acme", "subheadline": "Classes every day in Lekki",
         "pay_label": "Start membership · {amount}", "support_contact": "help@acme.test",
         "terms_url": "https://acme.test/terms"}


@pytest.fixture
def branded_url(api, brand, live_server, settings, shop):
    settings.DURO_PUBLIC_URL = live_server.url
    brand(logo=image_bytes(size=(240, 80)), **BRAND)
    session = make_session(api, successUrl=f"{shop.url}/thanks", cancelUrl=f"{shop.url}/cart")
    return f"{live_server.url}/checkout/{session['token']}"


def _open(chromium, url, width, **options):
    context = chromium.new_context(viewport={"width": width, "height": 900}, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return context, page, errors


@pytest.mark.parametrize("width", [375, 1280])
def test_branded_page_screenshots(chromium, branded_url, width):
    context, page, errors = _open(chromium, branded_url, width)
    try:
        button = page.locator("#pay-button")
        assert button.inner_text().startswith("Start membership · ₦15,000.00")
        style = button.evaluate("e => { const s = getComputedStyle(e); return "
                                "[s.backgroundColor, s.color, s.borderRadius]; }")
        assert style == ["rgb(123, 31, 162)", "rgb(255, 255, 255)", "6px"]
        assert page.locator(".brand-headline").inner_text() == "Train with Acme"
        assert page.locator(".merchant-logo").evaluate("img => img.naturalWidth") == 240
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width
        assert errors == []  # a CSP violation would show up here
        (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "screenshots" / f"branded-checkout-{width}.png"),
                        full_page=True)
    finally:
        context.close()


def test_branded_page_has_no_serious_accessibility_violations(chromium, branded_url,
                                                              axe_source):
    context, page, _ = _open(chromium, branded_url, 375, bypass_csp=True)
    try:
        page.add_script_tag(content=axe_source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []
    finally:
        context.close()
