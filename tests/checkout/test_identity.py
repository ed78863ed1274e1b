"""Saved-card identity (API.md §12): a returning customer asks for a code by email, and the
right code, entered by the same browser, shows their saved cards and pays with one.

Nothing tells a known email from an unknown one before the code is right; the code is 6
digits, 10 minutes, 5 tries, at most 3 an hour per email; the proof belongs to the browser
that asked, not to whoever holds the session's URL."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Card, PaymentAttempt, Subscription
from checkout.identity import identity_code_send, identity_codes_sweep
from checkout.models import IdentityCode
from duro.modes import mode_context
from tests.checkout.factories import card, make_plan, make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

ADA = "ada@example.com"


def _returning_customer(api, email=ADA, number="4242424242424242") -> dict:
    """Ada paid once with a card, which was kept; a new session for her to pay again."""
    first = make_session(api, planId=make_plan(api)["id"])
    answer = pay(APIClient(), first["token"], email=email, card=card(number)).json()["data"]
    assert answer["status"] == "completed", answer
    return make_session(api, amount=250_000, description="Towel rental")


def ask(client, token, email=ADA):
    return client.post(f"/v1/public/checkout/{token}/identity", {"email": email},
                       format="json")


def verify(client, token, challenge, code):
    return client.post(f"/v1/public/checkout/{token}/identity/verify",
                       {"challenge": challenge, "code": code}, format="json")


def mailed_code(email=ADA) -> str:
    """Send what the worker would send, and read the code from the newest email."""
    with mode_context("test"):
        for row in IdentityCode.objects.filter(email=email, sent_at__isnull=True):
            identity_code_send(row.id)
    [*_, message] = [m for m in mail.outbox if m.to == [email]]
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _rows(email=ADA) -> list[IdentityCode]:
    with mode_context("test"):
        return list(IdentityCode.objects.filter(email=email).order_by("created_at"))


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_returning_customer_pays_with_a_saved_card_after_the_code(api):
    session = _returning_customer(api)
    browser = APIClient()
    asked = ask(browser, session["token"])
    assert asked.status_code == 202
    data = asked.json()["data"]
    assert data["message"].startswith("If we know this email, we sent a code")
    assert data["challenge"].startswith("idc_")
    code = mailed_code()
    [message] = [m for m in mail.outbox if m.to == [ADA]]
    assert "Acme Gym" in message.subject and "4242" not in message.body

    proven = verify(browser, session["token"], data["challenge"], code)
    assert proven.status_code == 200, proven.content
    shown = proven.json()["data"]
    assert shown["email"] == ADA and shown["proof"].startswith("idp_")
    [saved] = shown["cards"]
    assert (saved["brand"], saved["last4"], saved["expYear"]) == ("visa", "4242", 2034)
    again = verify(browser, session["token"], data["challenge"], code)  # a code works once
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_code"

    paid = browser.post(f"/v1/public/checkout/{session['token']}/pay",
                        {"rail": "card", "savedCard": saved["id"],
                         "identityProof": shown["proof"]}, format="json")
    assert paid.status_code == 200, paid.content
    assert paid.json()["data"]["status"] == "completed"
    done = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    with mode_context("test"):
        cards = list(Card.objects.filter(customer_id=done["customerId"]))
        payment = PaymentAttempt.objects.get(session_id=session["id"])
    assert [c.pk for c in cards] == [saved["id"]]  # the same card, no new row
    assert (payment.card_last4, payment.amount, payment.status) == ("4242", 250_000,
                                                                     "succeeded")


def test_a_subscription_bought_with_a_saved_card_renews_on_it(api):
    _returning_customer(api)
    session = make_session(api, planId=make_plan(api, name="Silver", amount=900_000)["id"])
    browser = APIClient()
    challenge = ask(browser, session["token"]).json()["data"]["challenge"]
    shown = verify(browser, session["token"], challenge, mailed_code()).json()["data"]
    [saved] = shown["cards"]
    answer = browser.post(f"/v1/public/checkout/{session['token']}/pay",
                          {"rail": "card", "savedCard": saved["id"],
                           "identityProof": shown["proof"]}, format="json").json()["data"]
    assert answer["status"] == "completed"
    done = api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]
    with mode_context("test"):
        sub = Subscription.objects.get(pk=done["subscriptionId"])
    assert sub.card_id == saved["id"]


def test_known_and_unknown_emails_get_the_same_answer_and_only_the_known_a_mail(api):
    session = _returning_customer(api)
    known = ask(APIClient(), session["token"], ADA)
    unknown = ask(APIClient(), session["token"], "stranger@example.com")
    assert known.status_code == unknown.status_code == 202
    k, u = known.json()["data"], unknown.json()["data"]
    assert k.keys() == u.keys() and k["message"] == u["message"]
    assert len(_rows(ADA)) == len(_rows("stranger@example.com")) == 1
    mailed_code(ADA)
    with mode_context("test"):
        [row] = _rows("stranger@example.com")
        assert identity_code_send(row.id) == "gone"
    assert [m.to for m in mail.outbox] == [[ADA]]
    # Every code is wrong for an unknown email, and the refusal reads the same.
    refused = verify(APIClient(), session["token"], u["challenge"], "123456")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_code"
    assert "4 tries left" in refused.json()["error"]["message"]


def test_nothing_about_saved_cards_shows_before_the_code(api):
    session = _returning_customer(api)
    hydrate = APIClient().get(f"/v1/public/checkout/{session['token']}").content.decode()
    assert "4242" not in hydrate and "card_" not in hydrate
    with mode_context("test"):
        saved = Card.objects.get()
    paid = APIClient().post(f"/v1/public/checkout/{session['token']}/pay",
                            {"email": ADA, "rail": "card", "savedCard": saved.pk},
                            format="json")
    assert paid.status_code == 400
    assert paid.json()["error"]["code"] == "identity_required"
    with mode_context("test"):
        assert not PaymentAttempt.objects.filter(session_id=session["id"]).exists()


def test_the_code_works_only_with_the_browser_that_asked(api):
    """Someone holding the session's URL (a shared link) and even the code cannot use the
    cards: the code is checked with the asking browser's challenge."""
    session = _returning_customer(api)
    ask(APIClient(), session["token"])  # Ada's browser
    code = mailed_code()
    intruder = APIClient()
    own = ask(intruder, session["token"], "intruder@example.com").json()["data"]["challenge"]
    for challenge in (own, "idc_guess"):
        refused = verify(intruder, session["token"], challenge, code)
        assert refused.json()["error"]["code"] == "invalid_code"


def test_a_proof_pays_only_on_its_own_session_and_only_its_customers_cards(api):
    session = _returning_customer(api)
    other_session = make_session(api, amount=10_000)
    browser = APIClient()
    challenge = ask(browser, session["token"]).json()["data"]["challenge"]
    proof = verify(browser, session["token"], challenge, mailed_code()).json()["data"]["proof"]
    # Bola's card on another customer.
    pay(APIClient(), make_session(api, amount=5_000)["token"], email="bola@example.com",
        phone="", card=card("5555555555554444"))
    with mode_context("test"):
        ada_card = Card.objects.get(customer__email=ADA)
        bola_card = Card.objects.get(customer__email="bola@example.com")
    elsewhere = browser.post(f"/v1/public/checkout/{other_session['token']}/pay",
                             {"rail": "card", "savedCard": ada_card.pk,
                              "identityProof": proof}, format="json")
    assert elsewhere.json()["error"]["code"] == "identity_required"
    not_hers = browser.post(f"/v1/public/checkout/{session['token']}/pay",
                            {"rail": "card", "savedCard": bola_card.pk,
                             "identityProof": proof}, format="json")
    assert not_hers.json()["error"]["code"] == "invalid_saved_card"
    other_rail = browser.post(f"/v1/public/checkout/{session['token']}/pay",
                              {"rail": "ussd", "savedCard": ada_card.pk,
                               "identityProof": proof}, format="json")
    assert other_rail.json()["error"]["code"] == "invalid_saved_card"


def test_five_wrong_codes_lock_it_and_no_new_code_comes_for_ten_minutes(api):
    session = _returning_customer(api)
    browser = APIClient()
    challenge = ask(browser, session["token"]).json()["data"]["challenge"]
    code = mailed_code()
    answers = [verify(browser, session["token"], challenge, _wrong(code)).json()["error"]
               for _ in range(5)]
    assert [a["code"] for a in answers] == ["invalid_code"] * 4 + ["code_locked"]
    assert "1 try left" in answers[3]["message"]
    right = verify(browser, session["token"], challenge, code)
    assert right.json()["error"]["code"] == "code_locked"
    # A new ask is answered as always, but no code is made or sent while locked.
    sent = len(mail.outbox)
    assert ask(browser, session["token"]).status_code == 202
    assert len(_rows()) == 1 and len(mail.outbox) == sent


def test_a_code_expires_after_ten_minutes(api, settings):
    session = _returning_customer(api)
    browser = APIClient()
    challenge = ask(browser, session["token"]).json()["data"]["challenge"]
    code = mailed_code()
    with mode_context("test"):
        IdentityCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = verify(browser, session["token"], challenge, code)
    assert refused.json()["error"]["code"] == "code_expired"


def test_an_email_gets_at_most_three_codes_an_hour(api):
    session = _returning_customer(api)
    challenges = []
    for _ in range(4):
        challenges.append(ask(APIClient(), session["token"]).json()["data"]["challenge"])
        mailed_code()  # the worker sends each at once
    assert len(set(challenges)) == 4  # every answer looks the same
    assert len(_rows()) == 3
    assert len([m for m in mail.outbox if m.to == [ADA]]) == 3


def test_a_new_code_replaces_the_sessions_earlier_one(api):
    session = _returning_customer(api)
    browser = APIClient()
    first = ask(browser, session["token"]).json()["data"]["challenge"]
    first_code = mailed_code()
    ask(browser, session["token"])
    assert verify(browser, session["token"], first, first_code).json()["error"]["code"] == (
        "code_expired")


def test_a_session_asks_for_a_limited_number_of_codes(api, settings):
    settings.DURO_IDENTITY_ASKS_PER_TOKEN = 2
    session = _returning_customer(api)
    answers = [ask(APIClient(), session["token"], f"p{n}@example.com") for n in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert int(answers[2]["Retry-After"]) > 0


def test_asks_are_refused_on_a_paid_or_expired_session_and_a_bad_email(api):
    session = _returning_customer(api)
    assert ask(APIClient(), session["token"], "not-an-email").json()["error"]["code"] == (
        "invalid_contact")
    pay(APIClient(), session["token"], email="bola@example.com")
    assert ask(APIClient(), session["token"]).status_code == 400
    expired = make_session(api, amount=10_000)
    api.post(f"/v1/checkout/sessions/{expired['id']}/expire")
    assert ask(APIClient(), expired["token"]).status_code == 410
    assert ask(APIClient(), "cs_test_nothing").status_code == 404


def test_a_declined_saved_card_reopens_the_session(api):
    session = _returning_customer(api)
    with mode_context("test"):
        Card.objects.update(authorization="sbx_fail_4242")
    browser = APIClient()
    challenge = ask(browser, session["token"]).json()["data"]["challenge"]
    shown = verify(browser, session["token"], challenge, mailed_code()).json()["data"]
    answer = browser.post(f"/v1/public/checkout/{session['token']}/pay",
                          {"rail": "card", "savedCard": shown["cards"][0]["id"],
                           "identityProof": shown["proof"]}, format="json").json()["data"]
    assert answer["status"] == "failed"
    assert answer["error"]["message"] == "The saved card was declined."
    assert api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]["status"] == "open"


def test_old_asks_are_swept(api):
    session = _returning_customer(api)
    ask(APIClient(), session["token"])
    with mode_context("test"):
        assert identity_codes_sweep() == 0
        assert identity_codes_sweep(now=timezone.now() + timedelta(days=2)) == 1
        assert not IdentityCode.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_asks_make_at_most_three_codes(api):
    session = _returning_customer(api)
    barrier = threading.Barrier(6)
    codes = []

    def one():
        try:
            barrier.wait()
            codes.append(ask(APIClient(), session["token"]).status_code)
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [202] * 6
    assert len(_rows()) == 3


def test_the_hosted_page_without_javascript_asks_checks_and_pays(api):
    """The full page's flow, by plain form posts: the challenge and then the proof live in
    HttpOnly cookies of this session's pages, so another browser sees no cards."""
    session = _returning_customer(api)
    token = session["token"]
    browser = Client()
    page = browser.get(f"/checkout/{token}").content.decode()
    assert 'id="use-saved-card"' in page and "•••• 4242" not in page
    assert 'id="identity-email"' in browser.get(f"/checkout/{token}/identity").content.decode()
    asked = browser.post(f"/checkout/{token}/identity", {"action": "ask", "email": ADA})
    assert asked.status_code == 303 and asked["Location"] == f"/checkout/{token}/identity"
    cookie = asked.cookies["duro_idc"]
    assert cookie["httponly"] and cookie["path"] == f"/checkout/{token}"
    assert cookie["samesite"] == "Lax"
    assert "Enter your code" in browser.get(f"/checkout/{token}/identity").content.decode()
    code = mailed_code()
    wrong = browser.post(f"/checkout/{token}/identity", {"action": "verify",
                                                         "code": _wrong(code)})
    assert wrong.status_code == 400 and "4 tries left" in wrong.content.decode()
    right = browser.post(f"/checkout/{token}/identity", {"action": "verify", "code": code})
    assert right.status_code == 303 and right["Location"] == f"/checkout/{token}#saved-cards"
    assert right.cookies["duro_idp"]["httponly"]
    shown = browser.get(f"/checkout/{token}").content.decode()
    assert "Visa •••• 4242" in shown and 'id="use-saved-card"' not in shown
    assert "•••• 4242" not in Client().get(f"/checkout/{token}").content.decode()
    with mode_context("test"):
        saved = Card.objects.get()
    paid = browser.post(f"/checkout/{token}", {"saved_card": saved.pk})
    assert paid.status_code == 303 and paid["Location"].startswith("https://shop.example/thanks")
    # Without the proof cookie the same post is refused, and nothing is charged.
    other = make_session(api, amount=5_000)
    refused = Client().post(f"/checkout/{other['token']}", {"saved_card": saved.pk})
    assert "Confirm your email with a code again" in refused.content.decode()


def test_asking_without_a_valid_email_stays_on_the_form(api):
    session = _returning_customer(api)
    answer = Client().post(f"/checkout/{session['token']}/identity",
                           {"action": "ask", "email": "nope"})
    assert answer.status_code == 400
    assert 'id="identity-email-error"' in answer.content.decode()
    assert "Enter a valid email address." in answer.content.decode()
