"""The dashboard's Refund button: major units, a confirmation, roles, one refund per click."""

import pytest
from django.contrib.admin.utils import quote  # ids hold "_", which admin URLs escape
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import PaymentAttempt, Refund
from duro.models import Membership
from duro.modes import mode_context
from tests.checkout.factories import make_session, pay
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def paid(api) -> dict:
    session = make_session(api)
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    return api.get(f"/v1/checkout/sessions/{session['id']}").json()["data"]


def _url(model: str, view: str, pk: str) -> str:
    return reverse(f"admin:billing_{model}_{view}", args=[quote(pk)])


def _refunds() -> list[tuple[int, str, str]]:
    with mode_context("test"):
        return list(Refund.objects.values_list("amount", "status", "reason"))


def test_the_owner_refunds_150_naira_after_confirming(acme, paid):
    client = owner_client(acme)
    payment_id = paid["payment"]["id"]
    page = client.get(_url("paymentattempt", "change", payment_id)).content.decode()
    refund_url = _url("paymentattempt", "refund", payment_id)
    assert 'id="duro-refund"' in page and refund_url in page
    form = client.get(refund_url).content.decode()
    assert "₦15,000.00" in form and 'value="15000.00"' in form  # left, offered in full

    review = client.post(refund_url, {"amount": "150.00", "reason": "requested_by_customer",
                                      "left": 1_500_000})
    assert review.status_code == 200
    assert "Yes, refund ₦150.00" in review.content.decode()
    assert _refunds() == []  # nothing moves before the confirmation

    done = client.post(refund_url, {"amount": "150.00", "reason": "requested_by_customer",
                                    "left": 1_500_000, "duro_confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == _url("paymentattempt", "change",
                                                                payment_id)
    assert _refunds() == [(15_000, "succeeded", "requested_by_customer")]
    assert "Refunded ₦150.00" in client.get(done["Location"]).content.decode()

    # A second click on the same confirmation refunds nothing more.
    again = client.post(refund_url, {"amount": "150.00", "reason": "requested_by_customer",
                                     "left": 1_500_000, "duro_confirm": "yes"})
    assert again.status_code == 200 and "refunded meanwhile" in again.content.decode()
    assert len(_refunds()) == 1


def test_the_invoice_button_refunds_its_payment(acme, paid):
    client = owner_client(acme)
    refund_url = _url("invoice", "refund", paid["invoiceId"])
    assert refund_url in client.get(_url("invoice", "change", paid["invoiceId"])).content.decode()
    done = client.post(refund_url, {"amount": "15,000", "reason": "duplicate",
                                    "left": 1_500_000, "duro_confirm": "yes"})
    assert done.status_code == 302
    assert _refunds() == [(1_500_000, "succeeded", "duplicate")]
    with mode_context("test"):
        assert PaymentAttempt.objects.get(pk=paid["payment"]["id"]).amount_refunded == 1_500_000
    # Nothing left: the button's page says so and sends staff back.
    empty = client.get(refund_url, follow=True).content.decode()
    assert "Nothing is left to refund." in empty


@pytest.mark.parametrize("amount,error", [
    ("150.005", "more than 2 decimals"), ("abc", "is not an amount"),
    ("0", "not a positive amount"), ("15000.01", "At most ₦15,000.00 is left"),
])
def test_a_bad_amount_is_refused_on_the_form(acme, paid, amount, error):
    client = owner_client(acme)
    response = client.post(_url("paymentattempt", "refund", paid["payment"]["id"]),
                           {"amount": amount, "reason": "requested_by_customer",
                            "left": 1_500_000, "duro_confirm": "yes"})
    assert response.status_code == 200 and error in response.content.decode()
    assert _refunds() == []


def test_only_roles_that_may_act_can_refund(acme, paid):
    payment_id = paid["payment"]["id"]
    refund_url = _url("paymentattempt", "refund", payment_id)
    body = {"amount": "1.00", "reason": "requested_by_customer", "left": 1_500_000,
            "duro_confirm": "yes"}
    support = staff_client(acme, Membership.Role.SUPPORT)
    page = support.get(_url("paymentattempt", "change", payment_id))
    assert page.status_code == 200 and 'id="duro-refund"' not in page.content.decode()
    assert support.get(refund_url).status_code == 403
    assert support.post(refund_url, body).status_code == 403
    assert _refunds() == []

    developer = staff_client(acme, Membership.Role.DEVELOPER)
    assert developer.post(refund_url, body).status_code == 302  # test data: may act
    assert len(_refunds()) == 1
    with mode_context("live"):
        live = PaymentAttempt.objects.create(merchant_id=acme.merchant.id, rail="card",
                                             status="succeeded", amount=5_000, currency="NGN")
    developer.post(reverse("admin:duro_mode"), {"mode": "live"})
    live_url = _url("paymentattempt", "refund", live.pk)
    assert developer.get(live_url).status_code == 403  # live billing is read-only for them
    assert developer.post(live_url, {**body, "left": 5_000}).status_code == 403
    with mode_context("live"):
        assert not Refund.objects.exists()


def test_another_merchants_payment_is_a_404(acme, paid, make_merchant):
    other = make_merchant()
    client = owner_client(other)
    url = _url("paymentattempt", "refund", paid["payment"]["id"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"amount": "1.00", "reason": "requested_by_customer",
                             "left": 1_500_000, "duro_confirm": "yes"}).status_code == 404
    assert _refunds() == []
