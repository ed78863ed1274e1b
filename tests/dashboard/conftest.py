"""A world of two merchants with data in both modes, and staff logins for each role."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from appearance.services import store_config_get_or_create, store_config_publish
from duro.models import Membership
from tests.checkout.factories import make_session, pay
from tests.conftest import client_for


def populate(keys: dict) -> None:
    """Plans, sessions, a paid subscription (partly refunded) with its events and
    deliveries, a declined payment, a webhook endpoint (both modes) and a published
    appearance."""
    for mode in ("test", "live"):
        api = client_for(keys[mode]["secret"])
        hook = "http://127.0.0.1:9/hook" if mode == "test" else "https://hooks.example.com/duro"
        created = api.post("/v1/webhook-endpoints", {"url": hook, "events": ["*"]},
                           format="json")
        assert created.status_code == 201, created.content
        urls = {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"}
        session = make_session(api, **urls)
        if mode == "test":
            pay(APIClient(), session["token"])
            [paid] = api.get("/v1/payments?status=succeeded").json()["data"]
            refunded = api.post("/v1/refunds", {"paymentId": paid["id"], "amount": 100_000},
                                format="json")
            assert refunded.status_code == 201, refunded.content
            declined = make_session(api, **urls)
            pay(APIClient(), declined["token"], card={"number": "4000000000000002",
                                                      "expMonth": 1, "expYear": 2035,
                                                      "cvc": "123"})
        extra = populate_extra.get(mode)
        if extra:
            extra(api)


populate_extra: dict = {}


@pytest.fixture
def two_merchants(make_merchant, settings, monkeypatch):
    settings.DURO_PAY_RATE_PER_IP = 10_000
    # The live endpoint's host must resolve to a public address for the SSRF guard.
    import webhooks.addresses as addresses

    real = addresses.socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "hooks.example.com":
            return [(2, 1, 6, "", ("93.184.216.34", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(addresses.socket, "getaddrinfo", resolve)
    a = make_merchant("Alpha Foods", email="owner@alpha.test", password="pw-alpha-123")
    b = make_merchant("Bravo Fitness", email="owner@bravo.test", password="pw-bravo-123")
    for merchant in (a, b):
        populate(merchant.keys)
        config = store_config_get_or_create(merchant=merchant.merchant)
        store_config_publish(merchant=merchant.merchant, user=None)
        assert config.merchant_id == merchant.merchant.id
    return a, b


@pytest.fixture
def owner(settings, live_server):
    """For browser tests: a merchant with one paid test subscription, served live."""
    from duro.merchants import merchant_create

    settings.DURO_PUBLIC_URL = live_server.url
    owner = merchant_create(name="Chop Life Kitchen", email="owner@choplife.test",
                            password="pw-chop-life-1")
    pay(APIClient(), make_session(client_for(owner.keys["test"]["secret"]))["token"])
    return owner


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


from tests.appearance.conftest import axe_source  # noqa: E402, F401  (one npm fetch)
