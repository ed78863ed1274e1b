"""Developers → Payment methods: owners and developers switch rails per mode, support only
looks, a merchant never reaches another's switches, and the form is CSRF-protected."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import RailSettings
from billing.rails import REGISTRY, offered_rails
from duro.models import Membership
from duro.modes import mode_context
from tests.checkout.factories import make_session
from tests.conftest import client_for
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")

URL = "/admin/billing/railsettings/"
ALL_ON = tuple(REGISTRY)
NO_TRANSFER = tuple(r for r in REGISTRY if r != "bank_transfer")


def naira(mode: str, *, without: tuple[str, ...] = ()) -> list[str]:
    return [r.identifier for r in offered_rails(currency="NGN", mode=mode)
            if r.identifier not in without]


@pytest.fixture(autouse=True)
def _commit_hooks_run(django_capture_on_commit_callbacks):
    """The page's change writes the new switches to the cache after commit: let it."""
    with django_capture_on_commit_callbacks(using="test", execute=True), \
            django_capture_on_commit_callbacks(using="live", execute=True):
        yield


def switched_off(merchant, mode: str) -> list[str] | None:
    with mode_context(mode):
        row = RailSettings.objects.filter(pk=merchant.merchant.id).first()
    return row.switched_off if row else None


def save(client, mode: str = "test", on=NO_TRANSFER, **extra):
    return client.post(URL, {"save": "1", "mode": mode, "on": list(on), **extra})


def hydrated_rails(merchant, mode: str) -> list[str]:
    session = make_session(client_for(merchant.keys[mode]["secret"]))
    data = APIClient().get(f"/v1/public/checkout/{session['token']}").json()["data"]
    return [r["id"] for r in data["rails"]]


def test_the_page_lists_each_rail_with_its_currencies_all_on(two_merchants):
    a, _ = two_merchants
    page = owner_client(a).get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="duro-rail-card"' in html and 'id="duro-rail-bank_transfer"' in html
    card_row = html.split('id="duro-method-card"')[1].split("</tr>")[0]
    transfer_row = html.split('id="duro-method-bank_transfer"')[1].split("</tr>")[0]
    assert "NGN, GHS, KES, ZAR, USD" in card_row and " checked" in card_row
    assert "<td>NGN</td>" in transfer_row and " checked" in transfer_row
    assert "TEST DATA" in html and 'name="mode" value="test"' in html
    assert "Payment methods" in owner_client(a).get(reverse("admin:index")).content.decode()


def test_owner_switches_a_rail_off_for_the_mode_being_viewed(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    response = save(client)
    assert response.status_code == 302 and response["Location"] == URL
    assert switched_off(a, "test") == ["bank_transfer"] and switched_off(a, "live") is None
    assert hydrated_rails(a, "test") == naira("test", without=("bank_transfer",))
    assert hydrated_rails(a, "live") == naira("live")
    page = client.get(URL).content.decode()
    assert "Saved for test payments (off: Bank transfer)" in page
    transfer_row = page.split('id="duro-method-bank_transfer"')[1].split("</tr>")[0]
    assert " checked" not in transfer_row
    assert f"by {a.admin_user}" in page

    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    live_page = client.get(URL).content.decode()
    assert "LIVE DATA" in live_page and 'name="mode" value="live"' in live_page
    assert " checked" in live_page.split('id="duro-method-bank_transfer"')[1].split("</tr>")[0]
    save(client, "live", on=ALL_ON)
    assert switched_off(a, "live") == [] and switched_off(a, "test") == ["bank_transfer"]
    client.post(reverse("admin:duro_mode"), {"mode": "test"})
    save(client, "test", on=ALL_ON)
    assert hydrated_rails(a, "test") == naira("test")


def test_a_change_that_leaves_a_currency_with_no_rail_is_refused(two_merchants):
    a, _ = two_merchants
    response = save(owner_client(a), on=tuple(r for r in REGISTRY if r != "card"))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="duro-payment-methods-error"' in html and "USD" in html
    card_row = html.split('id="duro-method-card"')[1].split("</tr>")[0]
    assert " checked" not in card_row  # the form shows what was submitted
    assert switched_off(a, "test") is None
    assert hydrated_rails(a, "test") == naira("test")


def test_a_form_shown_in_test_mode_never_saves_over_live(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    client.post(reverse("admin:duro_mode"), {"mode": "live"})  # in another tab
    response = save(client, "test")
    assert response.status_code == 409
    assert "You switched to live data" in response.content.decode()
    assert switched_off(a, "live") is None and switched_off(a, "test") is None


def test_developers_switch_in_both_modes_support_only_looks(two_merchants):
    a, _ = two_merchants
    developer = staff_client(a, Membership.Role.DEVELOPER)
    assert save(developer).status_code == 302
    developer.post(reverse("admin:duro_mode"), {"mode": "live"})
    assert save(developer, "live").status_code == 302
    assert switched_off(a, "test") == ["bank_transfer"] == switched_off(a, "live")

    support = staff_client(a, Membership.Role.SUPPORT)
    page = support.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="duro-save-payment-methods"' not in html and " disabled" in html
    assert "Only owners and developers change payment methods." in html
    refused = save(support, on=ALL_ON)
    assert refused.status_code == 403
    assert switched_off(a, "test") == ["bank_transfer"]


def test_the_form_needs_its_csrf_token(two_merchants):
    a, _ = two_merchants
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username=a.admin_user))
    assert save(client).status_code == 403
    assert switched_off(a, "test") is None
    assert 'name="csrfmiddlewaretoken"' in client.get(URL).content.decode()
    token = client.cookies["csrftoken"].value
    assert save(client, csrfmiddlewaretoken=token).status_code == 302
    assert switched_off(a, "test") == ["bank_transfer"]


def test_a_merchant_never_sees_or_changes_anothers_switches(two_merchants):
    a, b = two_merchants
    b_owner = owner_client(b)
    save(b_owner)  # B switches the transfer off
    client = owner_client(a)
    page = client.get(URL).content.decode()
    assert b.merchant.id not in page
    assert " checked" in page.split('id="duro-method-bank_transfer"')[1].split("</tr>")[0]
    change = reverse("admin:billing_railsettings_change", args=[quote(b.merchant.id)])
    for url in (change, change.replace("/change/", "/history/"),
                change.replace("/change/", "/delete/")):
        assert client.get(url).status_code in (403, 404), url
    # the form names no merchant: whatever a request adds, it is A's own switches that change
    save(client, on=ALL_ON, merchant_id=b.merchant.id,
         merchant=b.merchant.id)
    assert switched_off(b, "test") == ["bank_transfer"] and switched_off(a, "test") == []
    assert client.post(URL, {"action": "delete_selected",
                             "_selected_action": [b.merchant.id]}).status_code == 400
    assert switched_off(b, "test") == ["bank_transfer"]
    own = reverse("admin:billing_railsettings_change", args=[quote(a.merchant.id)])
    assert client.get(own)["Location"] == URL


def test_an_operator_picks_a_merchant_first(two_merchants, django_user_model):
    a, _ = two_merchants
    operator = django_user_model.objects.create_superuser("op", "op@duro.test", "pw-op-12345")
    client = Client()
    client.force_login(operator)
    page = client.get(URL).content.decode()
    assert "switch to a merchant in the header first" in page
    assert 'id="duro-save-payment-methods"' not in page
    client.post(reverse("admin:duro_merchant"), {"merchant": a.merchant.id})
    assert save(client).status_code == 302
    assert switched_off(a, "test") == ["bank_transfer"]
