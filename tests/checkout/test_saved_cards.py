"""One card is one saved row per customer, found again by a keyed fingerprint (never the
number): a customer who pays again refreshes that row instead of adding one."""

import hashlib
import hmac

import pytest
from rest_framework.test import APIClient

from billing.models import Card, Subscription
from billing.rails.cards import card_fingerprint
from duro.modes import mode_context
from tests.checkout.factories import card, make_plan, make_session, pay

pytestmark = pytest.mark.django_db(databases="__all__")

VISA, MASTERCARD = "4242424242424242", "5555555555554444"


def _pay(api, number=VISA, email="ada@example.com", **session) -> dict:
    made = make_session(api, **session)
    answer = pay(APIClient(), made["token"], card=card(number, expYear=2034), email=email,
                 phone="").json()["data"]
    assert answer["status"] == "completed", answer
    return api.get(f"/v1/checkout/sessions/{made['id']}").json()["data"]


def _cards(customer_id: str) -> list[Card]:
    with mode_context("test"):
        return list(Card.objects.filter(customer_id=customer_id).order_by("created_at"))


def test_paying_again_with_the_same_card_keeps_one_row(api):
    plan = make_plan(api)
    first = _pay(api, planId=plan["id"])
    second = _pay(api, planId=plan["id"])
    once = _pay(api, amount=90_000)  # one-off pays keep the card too
    assert first["customerId"] == second["customerId"] == once["customerId"]
    [saved] = _cards(first["customerId"])
    with mode_context("test"):
        subs = Subscription.objects.filter(pk__in=[first["subscriptionId"],
                                                   second["subscriptionId"]])
        assert {s.card_id for s in subs} == {saved.pk}
    customer = api.get(f"/v1/customers/{first['customerId']}").json()["data"]
    assert [(c["brand"], c["last4"]) for c in customer["cards"]] == [("visa", "4242")]


def test_the_latest_pay_refreshes_the_authorization_and_expiry(api):
    first = _pay(api, amount=10_000)
    [before] = _cards(first["customerId"])
    made = make_session(api, amount=20_000)
    pay(APIClient(), made["token"], card=card(VISA, expMonth=3, expYear=2031), phone="")
    [after] = _cards(first["customerId"])
    assert after.pk == before.pk
    assert (after.exp_month, after.exp_year) == (3, 2031)
    assert after.authorization != before.authorization


def test_other_cards_and_other_customers_get_their_own_rows(api):
    ada = _pay(api, amount=10_000)
    _pay(api, MASTERCARD, amount=10_000)
    bola = _pay(api, email="bola@example.com", amount=10_000)
    assert [c.last4 for c in _cards(ada["customerId"])] == ["4242", "4444"]
    [theirs] = _cards(bola["customerId"])
    [mine, _] = _cards(ada["customerId"])
    assert theirs.fingerprint == mine.fingerprint and theirs.pk != mine.pk


def test_the_fingerprint_is_keyed_and_never_the_number(api, settings):
    ada = _pay(api, amount=10_000)
    [saved] = _cards(ada["customerId"])
    key = settings.DURO_CARD_FINGERPRINT_KEY
    assert key and key != settings.SECRET_KEY
    assert saved.fingerprint == hmac.new(key.encode(), VISA.encode(),
                                         hashlib.sha256).hexdigest()
    assert VISA not in saved.fingerprint and len(saved.fingerprint) == 64
    assert card_fingerprint("4242 4242 4242 4242", key=key) == saved.fingerprint
    assert card_fingerprint(VISA, key="another secret") != saved.fingerprint

