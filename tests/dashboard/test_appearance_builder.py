"""The appearance builder as a merchant meets it: no false "unpublished changes" on a
fresh merchant, a contrast warning that follows the typing, usable at 375 px."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import owner_client
from tests.dashboard.test_browser_theme import shoot, sign_in


def _builder(merchant) -> str:
    return f"/admin/appearance/storeconfig/{merchant.merchant.id}/builder/"


@pytest.mark.django_db(databases="__all__")
def test_a_fresh_merchant_has_no_unpublished_changes_until_it_edits(make_merchant):
    fresh = make_merchant("Fresh Foods", email="owner@fresh.test", password="pw-fresh-123")
    client = owner_client(fresh)
    page = client.get(_builder(fresh)).content.decode()
    assert "Nothing published yet" in page and "unpublished changes" not in page
    form = client.get(_builder(fresh)).context["form"]
    data = {name: field.value() or "" for name, field in
            ((f.name, f) for f in form) if name not in ("logo", "remove_logo")}
    data.update({"headline": "Fresh every morning", "action": "save"})
    assert client.post(_builder(fresh), data).status_code == 302
    assert "unpublished changes" in client.get(_builder(fresh)).content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("width", [1280, 375])
def test_builder_fits_the_screen_and_warns_about_contrast_while_typing(chromium, live_server,
                                                                      owner, width):
    context, page = sign_in(chromium, live_server, owner, width)
    try:
        page.goto(f"{live_server.url}{_builder(owner)}")
        page.wait_for_selector("[data-builder-form]")
        assert "unpublished changes" not in page.inner_text("body")
        assert page.inner_text("[data-contrast-warnings]").strip() == ""
        page.fill("#id_text_color", "#eeeeee")
        page.wait_for_selector("[data-contrast-warnings] li")
        assert "under the 4.5:1" in page.inner_text("[data-contrast-warnings]")
        page.fill("#id_text_color", "#111111")
        page.wait_for_function(
            "() => !document.querySelector('[data-contrast-warnings] li')")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, overflow
        for box in page.query_selector_all(".frame-box"):
            rect = box.bounding_box()
            assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width + 1, rect
        shoot(page, "appearance-builder", width)
    finally:
        context.close()
