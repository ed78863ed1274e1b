"""Create a test session: amount in major units with a currency; clear words in live mode."""

from __future__ import annotations

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
ADD = "admin:checkout_checkoutsession_add"


def test_amount_is_typed_in_major_units_with_a_currency(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    page = client.get(reverse(ADD)).content.decode()
    assert 'name="currency"' in page and "kobo" not in page
    response = client.post(reverse(ADD), {"amount": "1,500.50", "currency": "GHS",
                                          "description": "Try it"})
    assert response.status_code == 302
    with mode_context("test"):
        session = CheckoutSession.objects.filter(merchant_id=a.merchant.id,
                                                 description="Try it").get()
    assert (session.amount, session.currency) == (150_050, "GHS")
    assert response["Location"].endswith(session.token) or session.token in response["Location"]


def test_a_bad_amount_is_explained_on_the_form(two_merchants):
    a, _ = two_merchants
    page = owner_client(a).post(reverse(ADD), {"amount": "12.345", "currency": "NGN"})
    assert page.status_code == 200 and b"more than 2 decimals" in page.content


def test_live_mode_explains_instead_of_a_bare_403(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    page = client.get(reverse(ADD))
    assert page.status_code == 403
    text = page.content.decode()
    assert "Test sessions are made in test mode" in text and 'id="duro-switch-to-test"' in text
    assert client.post(reverse(ADD), {"amount": "10", "currency": "NGN"}).status_code == 403


def test_a_role_refused_in_live_mode_is_told_why(two_merchants):
    a, _ = two_merchants
    developer = staff_client(a, "developer")
    developer.post(reverse("admin:duro_mode"), {"mode": "live"})
    page = developer.get(reverse("admin:billing_plan_add"))
    assert page.status_code == 403
    assert b"developers change billing and checkout data only in test mode" in page.content
