"""USSD (NGN) and mobile money (GHS, KES) (API.md §10): offered per currency, validated per
field before anything is recorded, answered ``processing`` with what the payer must do, and
settled by the bank's later answer through the same settle as a card pay."""

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Invoice, PaymentAttempt, Subscription
from checkout.models import CheckoutSession
from checkout.pay import attempts_recover
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay
from tests.openapi import assert_documented, openapi
from webhooks.models import Event

pytestmark = pytest.mark.django_db(databases="__all__")

MTN = {"provider": "mtn", "phone": "024 123 4567"}
MPESA = {"provider": "mpesa", "phone": "0712 345678"}


def _hydrate(token):
    return APIClient().get(f"/v1/public/checkout/{token}").json()["data"]


def _ussd(client, token, bank="737"):
    return pay(client, token, rail="ussd", card={}, ussd={"bank": bank})


def _momo(client, token, wallet=None, **body):
    return pay(client, token, rail="mobile_money", phone="", card={},
               mobileMoney=MTN if wallet is None else wallet, **body)


def _simulate(client, token, outcome="paid"):
    return client.post(f"/v1/public/checkout/{token}/simulate", {"outcome": outcome},
                       format="json")


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(("currency", "rails", "banks", "providers"), [
    ("NGN", ["card", "bank_transfer", "ussd"], 6, []),
    ("GHS", ["card", "mobile_money"], 0, ["mtn", "vodafone", "airteltigo"]),
    ("KES", ["card", "mobile_money"], 0, ["mpesa"]),
    ("ZAR", ["card"], 0, []),
    ("USD", ["card"], 0, []),
])
def test_hydrate_offers_the_rails_of_the_currency_with_their_choices(api, currency, rails,
                                                                     banks, providers):
    data = _hydrate(make_session(api, amount=50_000, currency=currency)["token"])
    assert [r["id"] for r in data["rails"]] == rails
    assert all(set(r) == {"id", "label"} for r in data["rails"])  # the list keeps its shape
    assert len(data["ussdBanks"]) == banks
    assert [p["id"] for p in data["mobileMoneyProviders"]] == providers
    if banks:
        assert {"code": "737", "name": "GTBank"} in data["ussdBanks"]


def test_a_ussd_pay_shows_the_code_then_pays_once_when_the_bank_confirms(api):
    public = APIClient()
    session = make_session(api)
    before = timezone.now()
    answer = _ussd(public, session["token"]).json()["data"]
    assert answer["status"] == "processing" and answer["redirectUrl"] is None
    ussd = answer["ussd"]
    assert re.fullmatch(r"\*737\*000\*\d{6}#", ussd["code"]), ussd
    assert ussd["bank"] == "GTBank" and ussd["bankCode"] == "737"
    assert before + timedelta(minutes=14) < _when(ussd["expiresAt"]) <= (
        timezone.now() + timedelta(minutes=15))
    # a reload or a second pay shows the same code; nothing is charged twice
    assert _ussd(public, session["token"], bank="919").json()["data"]["ussd"] == ussd
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "processing"
    assert (verify["payment"]["rail"], verify["payment"]["status"]) == ("ussd", "processing")
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "processing"

    done = _simulate(public, session["token"]).json()["data"]
    assert done["status"] == "completed" and "reference=" in done["redirectUrl"]
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    assert (verify["payment"]["rail"], verify["payment"]["status"]) == ("ussd", "succeeded")
    with mode_context("test"):
        assert Subscription.objects.count() == 1 and Invoice.objects.count() == 1
        assert PaymentAttempt.objects.count() == 1
        assert sorted(Event.objects.values_list("type", flat=True)) == [
            "subscription_created", "subscription_payment_success"]


@pytest.mark.parametrize(("body", "param", "message"), [
    ({}, "ussd.bank", "Choose your bank."),
    ({"bank": ""}, "ussd.bank", "Choose your bank."),
    ({"bank": "123"}, "ussd.bank", "Choose one of the banks listed."),
    ({"bank": 737}, "ussd.bank", "Choose one of the banks listed."),
])
def test_a_ussd_pay_names_the_bad_field_and_records_nothing(api, body, param, message):
    session = make_session(api)
    refused = pay(APIClient(), session["token"], rail="ussd", card={}, ussd=body)
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["param"], error["code"], error["message"]) == (param, "invalid_ussd", message)
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0
        assert CheckoutSession.objects.get(pk=session["id"]).status == "open"


def test_ussd_is_naira_only_and_mobile_money_is_not_for_naira(api):
    cedi = make_session(api, amount=50_000, currency="GHS")
    refused = _ussd(APIClient(), cedi["token"])
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "rail"
    naira = make_session(api)
    refused = _momo(APIClient(), naira["token"])
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "rail"


def test_a_ghanaian_approves_an_mtn_prompt_and_the_session_completes(api):
    public = APIClient()
    session = make_session(api, amount=15_000, currency="GHS")
    answer = _momo(public, session["token"]).json()["data"]
    assert answer["status"] == "processing"
    momo = answer["mobileMoney"]
    assert momo["instructions"].startswith(
        "Approve the payment of GH₵150.00 on 024 123 4567 (MTN Mobile Money)")
    assert (momo["provider"], momo["providerName"], momo["phone"]) == (
        "mtn", "MTN Mobile Money", "+233241234567")
    assert _when(momo["expiresAt"]) <= timezone.now() + timedelta(minutes=10)
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert (verify["payment"]["rail"], verify["payment"]["status"]) == (
        "mobile_money", "processing")

    done = _simulate(public, session["token"]).json()["data"]
    assert done["status"] == "completed"
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["amount"] == 15_000
    with mode_context("test"):
        assert list(Event.objects.values_list("type", flat=True)) == ["payment_success"]


def test_a_kenyan_approves_an_mpesa_prompt_and_the_session_completes(api):
    public = APIClient()
    session = make_session(api, amount=100_000, currency="KES")
    momo = _momo(public, session["token"], MPESA).json()["data"]["mobileMoney"]
    assert "KSh 1,000.00 on 0712 345678 (M-Pesa)" in momo["instructions"]
    assert momo["phone"] == "+254712345678"
    assert _simulate(public, session["token"]).json()["data"]["status"] == "completed"
    verify = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed" and verify["payment"]["rail"] == "mobile_money"


@pytest.mark.parametrize(("currency", "wallet", "param", "message"), [
    ("GHS", {"phone": "024 123 4567"}, "mobileMoney.provider", "Choose your mobile money"),
    ("GHS", {"provider": "mpesa", "phone": "0712 345678"}, "mobileMoney.provider",
     "Choose one of: MTN Mobile Money, Vodafone Cash, AirtelTigo Money."),
    ("KES", MTN, "mobileMoney.provider", "Choose one of: M-Pesa."),
    ("GHS", {"provider": "orange", "phone": "024 123 4567"}, "mobileMoney.provider",
     "Choose one of"),
    ("GHS", {"provider": "mtn"}, "mobileMoney.phone", "Enter the phone number of your MTN"),
    ("GHS", {"provider": "mtn", "phone": "12"}, "mobileMoney.phone", "is not a valid"),
    ("GHS", {"provider": "vodafone", "phone": "0803 123 4567"}, "mobileMoney.phone",
     "not a valid Ghanaian number"),
    ("GHS", {"provider": "mtn", "phone": "+234 803 123 4567"}, "mobileMoney.phone",
     "MTN Mobile Money needs a mobile number of its country"),
    ("GHS", {"provider": "mtn", "phone": "030 221 2345"}, "mobileMoney.phone",
     "needs a mobile number"),  # a landline of Accra: no wallet there
    ("KES", {"provider": "mpesa", "phone": "024 123 4567"}, "mobileMoney.phone",
     "not a valid Kenyan number"),
])
def test_a_mobile_money_pay_names_the_bad_field_and_records_nothing(api, currency, wallet,
                                                                    param, message):
    session = make_session(api, amount=50_000, currency=currency)
    refused = _momo(APIClient(), session["token"], wallet)
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["param"], error["code"]) == (param, "invalid_mobile_money")
    assert message in error["message"]
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0
        assert CheckoutSession.objects.get(pk=session["id"]).status == "open"


@pytest.mark.parametrize(("rail", "body", "currency", "code"), [
    ("ussd", {"ussd": {"bank": "966"}}, "NGN", "ussd_failed"),
    ("mobile_money", {"mobileMoney": MTN}, "GHS", "mobile_money_failed"),
])
def test_a_refused_payment_reopens_the_session_for_another_way(api, rail, body, currency,
                                                               code):
    public = APIClient()
    session = make_session(api, amount=50_000, currency=currency)
    assert pay(public, session["token"], rail=rail, phone="", card={},
               **body).json()["data"]["status"] == "processing"
    failed = _simulate(public, session["token"], "failed").json()["data"]
    assert failed["status"] == "failed" and failed["error"]["code"] == code
    assert pay(public, session["token"], phone="").json()["data"]["status"] == "completed"


@pytest.mark.parametrize(("rail", "body", "currency", "minutes", "code"), [
    ("ussd", {"ussd": {"bank": "894"}}, "NGN", 15, "ussd_expired"),
    ("mobile_money", {"mobileMoney": MPESA}, "KES", 10, "mobile_money_expired"),
])
def test_a_code_or_prompt_nobody_acts_on_expires_and_the_session_reopens(
        api, rail, body, currency, minutes, code):
    public = APIClient()
    session = make_session(api, amount=50_000, currency=currency)
    pay(public, session["token"], rail=rail, phone="", card={}, **body)
    with mode_context("test"):
        assert attempts_recover(now=timezone.now() + timedelta(minutes=minutes - 2)) == 0
        assert attempts_recover(now=timezone.now() + timedelta(minutes=minutes + 1)) == 1
        attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.failure_code) == ("failed", code)
    status = public.get(f"/v1/public/checkout/{session['token']}/status").json()["data"]
    assert status["status"] == "open"


@pytest.mark.parametrize(("currency", "rail", "body", "key", "component"), [
    ("NGN", "ussd", {"ussd": {"bank": "901"}}, "ussd", "UssdOutput"),
    ("KES", "mobile_money", {"mobileMoney": MPESA}, "mobileMoney", "MobileMoneyOutput"),
])
def test_the_answers_are_what_the_document_says(api, currency, rail, body, key, component):
    public = APIClient()
    session = make_session(api, amount=50_000, currency=currency)
    assert_documented("HydrateOutput", _hydrate(session["token"]))
    answer = pay(public, session["token"], rail=rail, phone="", card={}, **body).json()["data"]
    assert set(answer) <= set(openapi()["components"]["schemas"]["PayResult"]["properties"])
    assert_documented(component, answer[key])
    assert_documented("StatusOutput", public.get(
        f"/v1/public/checkout/{session['token']}/status").json()["data"])
    assert_documented("SessionOutput", api.get(
        f"/v1/checkout/sessions/{session['id']}").json()["data"])


# --- the hosted page without JavaScript ---------------------------------------------------
def _post(browser, url, **fields):
    browser.get(url)
    token = browser.cookies["csrftoken"].value
    return browser.post(url, {"email": "ada@example.com", "phone": "", **fields,
                              "csrfmiddlewaretoken": token})


def test_the_form_offers_the_banks_and_a_ussd_pay_shows_the_code_to_dial(api):
    browser = Client(enforce_csrf_checks=True)
    session = make_session(api)
    url = f"/checkout/{session['token']}"
    html = browser.get(url).content.decode()
    assert 'name="rail" value="ussd"' in html
    assert '<option value="737">GTBank (*737#)</option>' in html
    missing = _post(browser, url, rail="ussd", ussd_bank="")
    assert missing.status_code == 200
    assert 'id="ussd-bank-error">Choose your bank.' in missing.content.decode()
    paid = _post(browser, url, rail="ussd", ussd_bank="919", card_number="4242")
    assert paid.status_code == 303 and paid["Location"] == url
    page = browser.get(url).content.decode()
    code = re.search(r'id="ussd-code"[^>]*>(\*919\*000\*\d{6}#)<', page).group(1)
    assert f'href="tel:{code.replace("#", "%23")}"' in page  # "#" would end the URL
    for text in ("Dial this code to pay with UBA", 'aria-live="polite"', "check now",
                 'value="paid"', 'value="underpaid"', 'value="overpaid"', 'value="late"',
                 'value="failed"'):
        assert text in page, text


def test_a_mobile_money_form_keeps_what_was_typed_and_shows_the_prompt_panel(api):
    browser = Client(enforce_csrf_checks=True)
    session = make_session(api, amount=15_000, currency="GHS")
    url = f"/checkout/{session['token']}"
    html = browser.get(url).content.decode()
    assert '<option value="vodafone">Vodafone Cash</option>' in html
    assert 'value="mpesa"' not in html
    wrong = _post(browser, url, rail="mobile_money", mobile_money_provider="vodafone",
                  mobile_money_phone="0803 123 4567").content.decode()
    assert 'id="mobile-money-phone-error">That is not a valid Ghanaian number.' in wrong
    assert '<option value="vodafone" selected>' in wrong
    assert 'value="0803 123 4567"' in wrong
    paid = _post(browser, url, rail="mobile_money", mobile_money_provider="vodafone",
                 mobile_money_phone="020 123 4567")
    assert paid.status_code == 303
    page = browser.get(url).content.decode()
    assert "Approve the payment on your phone" in page
    assert "Approve the payment of GH₵150.00 on 020 123 4567 (Vodafone Cash)" in page
    simulated = browser.post(f"{url}/simulate", {
        "outcome": "paid", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert simulated.status_code == 303 and "reference=" in simulated["Location"]
