"""A returning customer pays with a saved card after the emailed code, in Chromium at 375 px:
the real worker emails the code (to the data folder's ``mail/``), the customer types it,
sees "Visa •••• 4242" and pays with one tap; axe finds nothing on the code page or the
saved-card page."""

import re
import time

import pytest
from rest_framework.test import APIClient

from billing.models import Card, PaymentAttempt
from duro.modes import mode_context
from tests.browser import axe_violations
from tests.checkout.factories import card, make_plan, make_session, pay
from tests.checkout.test_browser_sdk import merchant_site  # noqa: F401
from tests.checkout.test_invoice_worker import mails_to, text_of
from tests.worker import wait_for, worker, worker_factory  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.worker, pytest.mark.django_db(transaction=True, databases="__all__")]

EMAIL = "returning@example.com"


@pytest.mark.usefixtures("worker")
def test_a_returning_customer_pays_with_a_saved_card_after_the_code(api, live_server, shop,
                                                                   chromium, axe_source):
    first = make_session(api, planId=make_plan(api)["id"])
    assert pay(APIClient(), first["token"], email=EMAIL, phone="",
               card=card("4242424242424242")).json()["data"]["status"] == "completed"
    session = make_session(api, amount=350_000, description="Shoes",
                           successUrl=f"{shop.url}/thanks", cancelUrl=f"{shop.url}/cart")
    since = time.time() - 1
    context = chromium.new_context(viewport={"width": 375, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/checkout/{session['token']}")
        assert page.locator("text=•••• 4242").count() == 0
        page.click("#use-saved-card")
        page.fill("#identity-email", EMAIL)
        page.click("#send-code")
        page.wait_for_selector("#identity-code")
        assert "If we know this email, we sent a code" in page.inner_text("#identity-sent")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert axe_violations(page, axe_source) == []

        [message] = wait_for(lambda: [m for m in mails_to(EMAIL, since)
                                      if "Your code" in str(m["Subject"])], timeout=30,
                             message="the code's email")
        code = re.search(r"\b(\d{6})\b", text_of(message)).group(1)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        page.fill("#identity-code", wrong)
        page.click("#verify-code")
        assert "4 tries left" in page.inner_text("#code-error")
        page.fill("#identity-code", code)
        page.click("#verify-code")
        page.wait_for_selector("#saved-cards")
        assert "Visa •••• 4242" in page.inner_text("#saved-cards")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert axe_violations(page, axe_source) == []

        page.click("#pay-saved-card")
        page.wait_for_url(f"{shop.url}/thanks**")
        assert errors == []
    finally:
        context.close()
    with mode_context("test"):
        payment = PaymentAttempt.objects.get(session_id=session["id"])
        assert (payment.status, payment.amount, payment.card_last4) == ("succeeded", 350_000,
                                                                         "4242")
        assert Card.objects.filter(customer__email=EMAIL).count() == 1


def test_a_saved_card_pays_inside_the_inline_sdks_frame(acme, api, merchant_site, page):  # noqa: F811
    """In the overlay no cookie of ours is sent: the frame's script keeps the challenge and
    the proof in memory, and the pay ends the overlay with the merchant's callback."""
    from django.core import mail

    from checkout.identity import identity_code_send
    from checkout.models import IdentityCode
    from tests.checkout.test_browser_sdk import _allow, _open

    assert pay(APIClient(), make_session(api, amount=10_000)["token"], email=EMAIL, phone="",
               card=card("5555555555554444")).json()["data"]["status"] == "completed"
    site = merchant_site()
    _allow(acme, site.origin)
    session = make_session(api, planId=make_plan(api, name="Silver")["id"])
    frame = _open(page, site, session)
    frame.locator("#email").fill(EMAIL)
    frame.locator("#use-saved-card").click()
    frame.locator("#identity-code").wait_for()
    with mode_context("test"):
        row = IdentityCode.objects.get(session_id=session["id"])
        assert identity_code_send(row.id) == "sent"
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    frame.locator("#identity-code").fill("000000" if code != "000000" else "111111")
    frame.locator("#verify-code").click()
    frame.locator("#code-error:not([hidden])").wait_for()
    assert "tries left" in frame.locator("#code-error").inner_text()
    frame.locator("#identity-code").fill(code)
    frame.locator("#verify-code").click()
    assert "Mastercard •••• 4444" in frame.locator("#saved-cards").inner_text()
    frame.locator("#pay-saved-card").click()
    page.wait_for_function("window.duroSuccess !== undefined")
    assert page.evaluate("window.duroSuccess.sessionId") == session["id"]
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["card"]["last4"] == "4444"
    # the browser logs the wrong code's 400 answer; nothing else went wrong
    assert [e for e in page.js_errors if "/identity/verify" not in e] == []
