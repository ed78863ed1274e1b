"""A world of two merchants with data in both modes, and staff logins for each role."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from duro.models import Membership
from tests.browser import chromium, page, shop  # noqa: F401
from tests.checkout.factories import make_session, pay
from tests.conftest import client_for


def populate(keys: dict) -> None:
    """Plans, sessions, a paid subscription and a declined payment, in both modes."""
    for mode in ("test", "live"):
        api = client_for(keys[mode]["secret"])
        urls = {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"}
        session = make_session(api, **urls)
        if mode == "test":
            pay(APIClient(), session["token"])
            declined = make_session(api, **urls)
            pay(APIClient(), declined["token"], card={"number": "4000000000000002",
                                                      "expMonth": 1, "expYear": 2035,
                                                      "cvc": "123"})
        extra = populate_extra.get(mode)
        if extra:
            extra(api)


populate_extra: dict = {}


@pytest.fixture
def two_merchants(make_merchant, settings):
    settings.DURO_PAY_RATE_PER_IP = 10_000
    a = make_merchant("Alpha Foods", email="owner@alpha.test", password="pw-alpha-123")
    b = make_merchant("Bravo Fitness", email="owner@bravo.test", password="pw-bravo-123")
    populate(a.keys)
    populate(b.keys)
    return a, b


def staff_client(merchant, role: str) -> Client:
    User = get_user_model()
    username = f"{role}@{merchant.merchant.slug}.test"
    user = User.objects.create_user(username=username, email=username, password="pw-staff-123",
                                    is_staff=True)
    Membership.objects.create(user=user, merchant=merchant.merchant, role=role)
    client = Client()
    client.force_login(user)
    return client


def owner_client(merchant) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=merchant.admin_user))
    return client
