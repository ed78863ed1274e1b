"""The inline SDK in Chromium: a merchant's page on another origin opens the overlay."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from duro.origins import checkout_origins_set
from tests.browser import AXE_WITHIN
from tests.checkout.factories import make_plan

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]

SHOP_JS = b"""
document.getElementById("buy").addEventListener("click", function () {
  var token = new URLSearchParams(window.location.search).get("token");
  Duro.open({
    token: token,
    onSuccess: function (result) {
      window.duroSuccess = result;
      document.getElementById("log").textContent = "paid " + result.reference;
    },
    onClose: function () {
      window.duroClosed = (window.duroClosed || 0) + 1;
      document.getElementById("log").textContent = "closed";
    }
  });
});
"""


class _MerchantSite(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/shop.js":
            body, kind = SHOP_JS, "text/javascript"
        else:
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>Kemi's Shop</title></head><body><main><h1>Kemi's Shop</h1>"
                '<button type="button" id="buy">Pay now</button>'
                '<p id="log" role="status"></p></main>'
                f'<script src="{self.server.duro}/v1/sdk.js"></script>'
                '<script src="/shop.js"></script></body></html>').encode()
            kind = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def merchant_site(live_server, settings):
    """Kemi's shop, served on another loopback address (another origin and another site)."""
    settings.DURO_PUBLIC_URL = live_server.url
    servers = []

    def serve(host: str = "127.0.0.2"):
        server = ThreadingHTTPServer((host, 0), _MerchantSite)
        server.duro = live_server.url
        server.origin = f"http://{host}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _session(api):
    plan = make_plan(api)
    response = api.post("/v1/checkout/sessions", {"planId": plan["id"],
                                                  "metadata": {"orderId": "ord_7"}},
                        format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _allow(acme, *origins):
    checkout_origins_set(merchant_id=acme.merchant.id, mode="test", origins=list(origins))


def _open(page, site, session, *, handshake: bool = True):
    page.goto(f"{site.origin}/?token={session['token']}")
    page.click("#buy")
    page.wait_for_selector("[data-duro-overlay] [role=dialog]")
    frame = page.frame_locator("iframe[title='Duro checkout']")
    # The handshake is done (embed.js pays through the JSON pay from now on): a click
    # before it would post the no-JS form, which a cross-site frame cannot.
    if handshake:
        frame.locator("body[data-embed-parent]").wait_for(state="attached")
    return frame


def test_pay_in_the_overlay_and_verify_on_the_server(acme, api, merchant_site, page):
    site = merchant_site()
    _allow(acme, site.origin)
    session = _session(api)
    frame = _open(page, site, session)
    dialog = page.locator("[role=dialog]")
    assert dialog.get_attribute("aria-modal") == "true" and dialog.get_attribute("aria-label")
    frame.locator("#email").fill("ada@example.com")
    frame.locator("#card-number").fill("4242 4242 4242 4242")
    frame.locator("#card-expiry").fill("12/34")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#pay-button").click()
    page.wait_for_function("window.duroSuccess !== undefined")
    result = page.evaluate("window.duroSuccess")
    assert result == {"sessionId": session["id"], "reference": session["reference"],
                      "status": "completed"}
    assert page.locator("[data-duro-overlay]").count() == 0  # the overlay closed itself
    assert page.evaluate("window.duroClosed") is None
    assert page.evaluate("document.activeElement.id") == "buy"  # focus back on the opener
    # what the merchant's server does before fulfilling: verify with its key
    verify = api.get(f"/v1/checkout/sessions/{result['sessionId']}").json()["data"]
    assert verify["status"] == "completed" and verify["reference"] == result["reference"]
    assert verify["payment"]["card"]["last4"] == "4242"
    assert page.js_errors == []


def test_a_declined_card_stays_in_the_overlay_with_the_reason(acme, api, merchant_site, page):
    site = merchant_site()
    _allow(acme, site.origin)
    frame = _open(page, site, _session(api))
    frame.locator("#email").fill("ada@example.com")
    frame.locator("#card-number").fill("4000 0000 0000 0002")
    frame.locator("#card-expiry").fill("12/34")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#pay-button").click()
    assert "declined" in frame.locator("#form-error").inner_text().lower()
    assert frame.locator("#pay-button").is_enabled()
    assert page.evaluate("window.duroSuccess") is None


def test_the_otp_step_in_the_overlay(acme, api, merchant_site, page):
    site = merchant_site()
    _allow(acme, site.origin)
    session = _session(api)
    frame = _open(page, site, session)
    frame.locator("#email").fill("ada@example.com")
    frame.locator("#card-number").fill("4000 0000 0000 3220")
    frame.locator("#card-expiry").fill("12/34")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#pay-button").click()
    frame.locator("#otp").fill("123456")
    frame.locator("#pay-button").click()
    page.wait_for_function("window.duroSuccess !== undefined")
    assert page.evaluate("window.duroSuccess.sessionId") == session["id"]
    assert page.js_errors == []


def test_another_card_on_the_otp_step_in_the_overlay(acme, api, merchant_site, page):
    site = merchant_site()
    _allow(acme, site.origin)
    session = _session(api)
    frame = _open(page, site, session)
    frame.locator("#email").fill("ada@example.com")
    frame.locator("#card-number").fill("4000 0000 0000 3220")
    frame.locator("#card-expiry").fill("12/34")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#pay-button").click()
    frame.locator("#another-card").click()
    frame.locator("#card-number").fill("4242 4242 4242 4242")
    frame.locator("#card-expiry").fill("12/34")
    frame.locator("#card-cvc").fill("123")
    frame.locator("#pay-button").click()
    page.wait_for_function("window.duroSuccess !== undefined")
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["card"]["last4"] == "4242"
    assert page.js_errors == []


def test_escape_and_the_close_button_close_it_and_fire_on_close(acme, api, merchant_site,
                                                                 page):
    site = merchant_site()
    _allow(acme, site.origin)
    session = _session(api)
    frame = _open(page, site, session)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Close checkout")
    assert page.evaluate("document.querySelector('main').inert") is True  # focus stays in
    page.keyboard.press("Escape")
    page.wait_for_function("window.duroClosed === 1")
    assert page.locator("[data-duro-overlay]").count() == 0
    assert page.evaluate("document.activeElement.id") == "buy"
    assert page.evaluate("document.querySelector('main').inert") is False

    page.click("#buy")  # Escape pressed inside the frame: the page tells the SDK
    frame.locator("#email").click()
    # Key down only while the frame has focus: the frame goes away on keydown, and a
    # keyup sent into a frame being removed can leave Playwright's press waiting forever.
    page.keyboard.down("Escape")
    page.wait_for_function("window.duroClosed === 2")
    page.keyboard.up("Escape")

    page.click("#buy")
    page.click("[data-duro-close]")
    page.wait_for_function("window.duroClosed === 3")
    assert page.evaluate("window.duroSuccess") is None
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "open"


def test_tab_stays_in_the_dialog(acme, api, merchant_site, page):
    site = merchant_site()
    _allow(acme, site.origin)
    _open(page, site, _session(api))
    page.keyboard.press("Shift+Tab")  # from the close button, backwards: round to the frame
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"


def test_a_site_that_is_not_allowed_cannot_frame_the_page(acme, api, merchant_site, page):
    allowed = merchant_site()
    _allow(acme, allowed.origin)
    stranger = merchant_site("127.0.0.3")
    messages = []
    page.on("console", lambda msg: messages.append(msg.text))
    session = _session(api)
    _open(page, stranger, session, handshake=False)
    frame = page.frame_locator("iframe[title='Duro checkout']")
    page.wait_for_timeout(1500)
    assert frame.locator("#email").count() == 0  # the page never renders in the frame
    assert any("frame-ancestors" in text for text in messages), messages
    child = page.frames[1]
    assert not child.url.startswith(allowed.duro)


def test_a_phone_sees_the_overlay_full_screen(acme, api, merchant_site, chromium):
    site = merchant_site()
    _allow(acme, site.origin)
    context = chromium.new_context(viewport={"width": 375, "height": 667})
    tab = context.new_page()
    try:
        frame = _open(tab, site, _session(api))
        frame.locator("#email").wait_for()
        box = tab.locator("[role=dialog]").bounding_box()
        assert box == {"x": 0, "y": 0, "width": 375, "height": 667}
    finally:
        context.close()


def test_the_overlay_has_no_accessibility_violations(acme, api, merchant_site, chromium,
                                                     axe_source):
    site = merchant_site()
    _allow(acme, site.origin)
    context = chromium.new_context(viewport={"width": 1024, "height": 800}, bypass_csp=True)
    tab = context.new_page()
    try:
        frame = _open(tab, site, _session(api))
        frame.locator("#email").wait_for()
        tab.add_script_tag(content=axe_source)
        outer = tab.evaluate(AXE_WITHIN.format(options="{resultTypes: ['violations'], "
                                                        "iframes: false}"))
        inner_frame = next(f for f in tab.frames if "/checkout/" in f.url)
        inner_frame.add_script_tag(content=axe_source)
        inner = inner_frame.evaluate(AXE_WITHIN.format(
            options="{resultTypes: ['violations']}"))
    finally:
        context.close()
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
             for v in outer["violations"] + inner["violations"]]
    assert found == []


def test_the_handshake_answers_only_the_allowed_parent(acme, api, merchant_site, page):
    """A message that is not Duro's hello from the parent, or a hello from elsewhere, gets
    no answer; the SDK ignores messages not from its frame."""
    site = merchant_site()
    _allow(acme, site.origin)
    session = _session(api)
    frame = _open(page, site, session)
    frame.locator("#email").wait_for()
    # a forged completion posted by the merchant page's own window is ignored by the SDK
    page.evaluate("window.postMessage({type: 'duro:success', sessionId: 'x', "
                  "reference: 'x', status: 'completed'}, '*')")
    page.wait_for_timeout(300)
    assert page.locator("[data-duro-overlay]").count() == 1
    assert page.evaluate("window.duroSuccess") is None
    inner = next(f for f in page.frames if "/checkout/" in f.url)
    assert inner.evaluate("document.body.getAttribute('data-embed-parent')") == site.origin
