"""The hosted page without JavaScript: plain form posts, server-side validation."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.checkout.factories import make_session

pytestmark = pytest.mark.django_db(databases="__all__")

FORM = {"email": "ada@example.com", "phone": "08031234567", "rail": "card",
        "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def _csrf(browser, url) -> str:
    page = browser.get(url)
    assert page.status_code == 200
    return page.cookies["csrftoken"].value if "csrftoken" in page.cookies else (
        browser.cookies["csrftoken"].value)


def post_form(browser, url, **overrides):
    token = _csrf(browser, url) if "csrftoken" not in browser.cookies else (
        browser.cookies["csrftoken"].value)
    return browser.post(url, {**FORM, **overrides, "csrfmiddlewaretoken": token})


def test_page_shows_what_is_being_bought_and_is_locked_down(api, browser):
    session = make_session(api, customerEmail="ada@example.com")
    response = browser.get(f"/checkout/{session['token']}")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Acme Gym", "Gold Membership", "₦15,000.00 / month", 'value="ada@example.com"',
                 'for="card-number"', 'name="csrfmiddlewaretoken"', "Test mode",
                 "Cancel and return to Acme Gym", 'href="https://shop.example/cart"'):
        assert text in html, text
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    # a test page: only the loopback hosts may frame it until the merchant lists origins
    assert "frame-ancestors http://localhost:* http://127.0.0.1:*" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "form-action 'self' https://shop.example" in csp
    assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert response["Cache-Control"] == "no-store"


def test_form_post_pays_and_redirects_to_success_url(api, browser):
    session = make_session(api)
    response = post_form(browser, f"/checkout/{session['token']}")
    assert response.status_code == 303
    assert response["Location"] == (
        f"https://shop.example/thanks?order=42&reference={session['reference']}")
    receipt = browser.get(f"/checkout/{session['token']}").content.decode()
    assert "Payment successful" in receipt and "4242" in receipt


def test_without_success_url_duro_shows_its_receipt(api, browser):
    response = api.post("/v1/checkout/sessions",
                        {"amount": 500_000, "description": "Ankara fabric"}, format="json")
    session = response.json()["data"]
    url = f"/checkout/{session['token']}"
    answer = post_form(browser, url)
    assert answer.status_code == 303 and answer["Location"] == url
    receipt = browser.get(url).content.decode()
    assert "Payment successful" in receipt and "₦5,000.00" in receipt
    assert session["reference"] in receipt


def test_csrf_is_required(api):
    session = make_session(api)
    response = Client(enforce_csrf_checks=True).post(f"/checkout/{session['token']}", FORM)
    assert response.status_code == 403


def test_errors_show_next_to_their_fields(api, browser):
    session = make_session(api)
    response = post_form(browser, f"/checkout/{session['token']}", email="nope",
                         card_number="4242 4242 4242 4241", card_expiry="13/99", card_cvc="1")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="email-error"' in html and "valid email" in html
    assert 'aria-invalid="true"' in html
    assert 'value="nope"' in html  # what the customer typed is kept
    with mode_context("test"):
        assert CheckoutSession.objects.get().status == "open"


def test_card_errors_next_to_card_fields(api, browser):
    session = make_session(api)
    html = post_form(browser, f"/checkout/{session['token']}",
                     card_number="4242 4242 4242 4241").content.decode()
    assert 'id="card-number-error"' in html and "not valid" in html


def test_decline_shows_message_and_keeps_form(api, browser):
    session = make_session(api)
    html = post_form(browser, f"/checkout/{session['token']}",
                     card_number="4000 0000 0000 0002").content.decode()
    assert 'role="alert"' in html and "declined" in html and 'name="card_number"' in html


def test_otp_step_without_javascript(api, browser):
    session = make_session(api)
    url = f"/checkout/{session['token']}"
    response = post_form(browser, url, card_number="4000 0000 0000 3220")
    assert response.status_code == 303 and response["Location"] == url
    page = browser.get(url).content.decode()
    assert "One-time code" in page and 'autocomplete="one-time-code"' in page
    token = browser.cookies["csrftoken"].value
    done = browser.post(f"{url}/otp", {"otp": "123456", "csrfmiddlewaretoken": token})
    assert done.status_code == 303 and "reference=" in done["Location"]


def test_expired_unknown_and_processing_pages(api, browser):
    session = make_session(api)
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=session["id"]).update(
            expires_at=timezone.now() - timedelta(minutes=1))
    expired = browser.get(f"/checkout/{session['token']}")
    assert expired.status_code == 410 and "has expired" in expired.content.decode()
    missing = browser.get("/checkout/cs_test_" + "x" * 32)
    assert missing.status_code == 404 and "couldn't find this checkout" in (
        missing.content.decode())
    assert browser.get("/checkout/garbage").status_code == 404
    other = make_session(api)
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=other["id"]).update(status="processing")
    processing = browser.get(f"/checkout/{other['token']}").content.decode()
    # no timed refresh (axe: a page must not reload by itself); a link checks again
    assert "Confirming your payment" in processing and 'http-equiv="refresh"' not in processing
    assert f'href="/checkout/{other["token"]}">Check again' in processing
    assert "data-poll-status" in processing


def test_about_to_expire_notice(api, browser):
    session = make_session(api)
    with mode_context("test"):
        CheckoutSession.objects.filter(pk=session["id"]).update(
            expires_at=timezone.now() + timedelta(minutes=5))
    assert "expires in" in browser.get(f"/checkout/{session['token']}").content.decode()


def test_rate_limited_form_post_is_a_429_page(api, browser, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = 1
    session = make_session(api)
    url = f"/checkout/{session['token']}"
    post_form(browser, url, card_number="4000 0000 0000 0002")
    response = post_form(browser, url)
    assert response.status_code == 429
    assert "Too many payment attempts" in response.content.decode()


def test_a_wrong_otp_keeps_the_otp_step_and_another_card_is_one_click_away(api, browser):
    session = make_session(api)
    url = f"/checkout/{session['token']}"
    post_form(browser, url, card_number="4000 0000 0000 3220")
    token = browser.cookies["csrftoken"].value
    wrong = browser.post(f"{url}/otp", {"otp": "111111", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 303
    page = browser.get(url).content.decode()
    assert "One-time code" in page and "The code was incorrect" in page
    again = browser.get(f"{url}/otp")  # reloading the step's URL shows the step
    assert again.status_code == 200 and "One-time code" in again.content.decode()
    leave = browser.post(f"{url}/otp", {"action": "another_card", "csrfmiddlewaretoken": token})
    assert leave.status_code == 303 and leave["Location"] == url
    form = browser.get(url).content.decode()
    assert 'id="card-number"' in form and 'value="ada@example.com"' in form
    assert 'role="alert"' not in form  # leaving the step is no error
    done = post_form(browser, url)
    assert done.status_code == 303 and "reference=" in done["Location"]


def test_every_form_has_an_explicit_action(api, browser):
    session = make_session(api)
    url = f"/checkout/{session['token']}"
    assert f'action="{url}"' in browser.get(url).content.decode()
    post_form(browser, url, card_number="4000 0000 0000 3220")
    otp_page = browser.get(url).content.decode()
    assert otp_page.count(f'action="{url}/otp"') == 2
    assert "<form" in otp_page and 'action=""' not in otp_page


@pytest.mark.parametrize("expiry", ["1234", "12/34", "12 / 34", "12/2034", "122034"])
def test_expiry_is_accepted_as_phones_type_it(api, browser, expiry):
    session = make_session(api)
    response = post_form(browser, f"/checkout/{session['token']}", card_expiry=expiry)
    assert response.status_code == 303 and "reference=" in response["Location"]


def test_the_phone_placeholder_is_the_sessions_country(api, browser):
    cedi = make_session(api, amount=50_000, currency="GHS")
    page = browser.get(f"/checkout/{cedi['token']}").content.decode()
    assert 'placeholder="023 123 4567"' in page and "0803" not in page
    naira = make_session(api)
    naira_page = browser.get(f"/checkout/{naira['token']}").content.decode()
    assert 'placeholder="0802 123 4567"' in naira_page
