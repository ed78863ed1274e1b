"""The merchant page's allowed origins: one list per mode, validated like the API's."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from duro.models import Merchant
from duro.origins import checkout_origins
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")


def _form(merchant, **changes) -> dict:
    m = Merchant.objects.get(pk=merchant.id)
    return {"name": m.name, "slug": m.slug, "support_email": m.support_email,
            "timezone": m.timezone, "default_currency": m.default_currency, **changes}


def _url(merchant) -> str:
    return reverse("admin:duro_merchant_change", args=[quote(merchant.id)])


def test_the_owner_sets_each_modes_list(two_merchants, django_capture_on_commit_callbacks):
    a, b = two_merchants
    merchant = a.merchant
    client = owner_client(a)
    page = client.get(_url(merchant)).content.decode()
    assert "Checkout: allowed origins (test mode)" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(merchant), _form(
            merchant, allowed_origins="http://127.0.0.2:8000\n\nhttps://Shop.example/\n"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert checkout_origins(merchant_id=merchant.id, mode="test") == (
        "http://127.0.0.2:8000", "https://shop.example")
    assert "http://127.0.0.2:8000\nhttps://shop.example" in client.get(
        _url(merchant)).content.decode()

    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    page = client.get(_url(merchant)).content.decode()
    assert "Checkout: allowed origins (live mode)" in page and "127.0.0.2" not in page
    refused = client.post(_url(merchant), _form(merchant, allowed_origins="http://shop.example"))
    assert refused.status_code == 200
    assert "live mode accepts https origins only" in refused.content.decode()
    wildcard = client.post(_url(merchant), _form(merchant,
                                                 allowed_origins="https://*.shop.example"))
    assert "Wildcards are not allowed" in wildcard.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(merchant), _form(merchant, allowed_origins="https://shop.example"))
    assert checkout_origins(merchant_id=merchant.id, mode="live") == ("https://shop.example",)
    assert checkout_origins(merchant_id=merchant.id, mode="test") == (
        "http://127.0.0.2:8000", "https://shop.example")
    assert checkout_origins(merchant_id=b.merchant.id, mode="live") == ()


def test_a_developer_sees_but_cannot_change_them(two_merchants):
    a, _ = two_merchants
    client = staff_client(a, "developer")
    response = client.post(_url(a.merchant), _form(a.merchant,
                                                   allowed_origins="https://evil.example"))
    assert response.status_code == 403
    assert checkout_origins(merchant_id=a.merchant.id, mode="test") == ()


def test_the_owner_sets_the_tax_details_on_the_same_page(two_merchants,
                                                         django_capture_on_commit_callbacks):
    from decimal import Decimal

    from duro.tax import tax_details

    a, b = two_merchants
    client = owner_client(a)
    assert "Invoices: VAT rate (%)" in client.get(_url(a.merchant)).content.decode()
    refused = client.post(_url(a.merchant), _form(a.merchant, seller_vat_rate="7.555"))
    assert refused.status_code == 200 and "at most 2 decimals" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(a.merchant), _form(
            a.merchant, seller_legal_name="Acme Gym Limited", seller_address="12 Marina, Lagos",
            seller_tax_id="TIN-0123456", seller_vat_rate="7.5"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    details = tax_details(a.merchant.id)
    assert (details.legal_name, details.tax_id, details.vat_rate) == (
        "Acme Gym Limited", "TIN-0123456", Decimal("7.5"))
    page = client.get(_url(a.merchant)).content.decode()
    assert 'value="7.5"' in page and "12 Marina, Lagos" in page
    assert tax_details(b.merchant.id).vat_rate is None


def test_a_zone_changed_on_the_merchant_page_is_the_next_pays(two_merchants,
                                                            django_capture_on_commit_callbacks):
    """The zone a first pay opens its subscription in is read from the cache: the page's
    change reaches the next pay, cached before or not."""
    from rest_framework.test import APIClient

    from billing.models import Subscription
    from checkout.models import CheckoutSession
    from duro.merchants import merchant_timezones
    from duro.modes import mode_context
    from tests.checkout.factories import make_session, pay
    from tests.conftest import client_for

    a, _ = two_merchants
    assert merchant_timezones([a.merchant.id]) == {a.merchant.id: "Africa/Lagos"}  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client(a).post(_url(a.merchant), _form(a.merchant,
                                                                timezone="Europe/London"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    session = make_session(client_for(a.keys["test"]["secret"]))
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    with mode_context("test"):
        paid = CheckoutSession.objects.get(pk=session["id"])
        assert Subscription.objects.get(pk=paid.subscription_id).time_zone == "Europe/London"
