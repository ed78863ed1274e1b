"""Roles are enforced on the server; the mode switch picks the store and shows a banner."""

import pytest
from django.contrib.admin.utils import quote  # ids hold "_", which admin URLs escape
from django.urls import reverse

from billing.models import Customer, Plan
from duro.models import ApiKey, Membership
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")


def test_default_mode_is_test_with_an_unmistakable_banner(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="duro-test-banner"' in page and "TEST DATA" in page
    plans = client.get(reverse("admin:billing_plan_changelist")).content.decode()
    assert "TEST DATA" in plans


def test_switch_selects_the_live_store(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    with mode_context("live"):
        Plan.objects.create(merchant_id=a.merchant.id, name="Live Only Plan", amount=100,
                            interval="monthly")
    assert "Live Only Plan" not in client.get(
        reverse("admin:billing_plan_changelist")).content.decode()
    response = client.post(reverse("admin:duro_mode"), {"mode": "live", "next": "/admin/"})
    assert response.status_code == 302
    page = client.get(reverse("admin:billing_plan_changelist")).content.decode()
    assert "Live Only Plan" in page and "LIVE DATA" in page and "TEST DATA" not in page
    client.post(reverse("admin:duro_mode"), {"mode": "test"})
    assert "Live Only Plan" not in client.get(
        reverse("admin:billing_plan_changelist")).content.decode()


def test_mode_switch_rejects_unknown_modes_and_foreign_redirects(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    response = client.post(reverse("admin:duro_mode"),
                           {"mode": "prod", "next": "https://evil.example/"})
    assert response["Location"] == "../"
    assert client.session.get("duro_mode") is None


def test_live_actions_that_move_money_or_delete_ask_first(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    client.post(reverse("admin:duro_mode"), {"mode": "live"})
    with mode_context("live"):
        plan = Plan.objects.create(merchant_id=a.merchant.id, name="Unused", amount=100,
                                   interval="monthly")
    page = client.get(reverse("admin:billing_plan_delete", args=[quote(plan.pk)])).content.decode()
    assert "Are you sure" in page and "LIVE DATA" in page
    with mode_context("live"):
        assert Plan.objects.filter(pk=plan.pk).exists()


def test_support_is_read_only_but_may_blacklist(two_merchants):
    a, _ = two_merchants
    support = staff_client(a, Membership.Role.SUPPORT)
    assert support.get(reverse("admin:billing_plan_changelist")).status_code == 200
    assert support.get(reverse("admin:billing_plan_add")).status_code == 403
    with mode_context("test"):
        plan = Plan.objects.filter(merchant_id=a.merchant.id).first()
        customer = Customer.objects.filter(merchant_id=a.merchant.id).first()
    response = support.post(reverse("admin:billing_plan_change", args=[quote(plan.pk)]),
                            {"name": "Hacked", "amount": 1, "currency": "NGN",
                             "interval": "daily", "interval_count": 1, "trial_days": 0})
    assert response.status_code == 403, (plan.pk, response.content[:3000])
    assert support.get(reverse("admin:duro_apikey_changelist")).status_code == 403
    assert support.get(reverse("admin:duro_membership_changelist")).status_code == 403
    support.post(reverse("admin:billing_customer_changelist"),
                 {"action": "blacklist", "_selected_action": [customer.pk]})
    with mode_context("test"):
        customer.refresh_from_db()
        plan.refresh_from_db()
    assert customer.blacklisted and plan.name != "Hacked"


def test_developer_edits_test_data_keys_but_not_live_billing_or_team(two_merchants):
    a, _ = two_merchants
    developer = staff_client(a, Membership.Role.DEVELOPER)
    assert developer.get(reverse("admin:billing_plan_add")).status_code == 200
    assert developer.get(reverse("admin:duro_apikey_add")).status_code == 200
    assert developer.get(reverse("admin:duro_membership_changelist")).status_code == 403
    developer.post(reverse("admin:duro_mode"), {"mode": "live"})
    assert developer.get(reverse("admin:billing_plan_changelist")).status_code == 200
    assert developer.get(reverse("admin:billing_plan_add")).status_code == 403


def test_owner_rolls_a_key_and_sees_the_secret_once(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    key = ApiKey.objects.get(merchant=a.merchant, mode="test", kind="secret")
    page = client.post(reverse("admin:duro_apikey_changelist"),
                       {"action": "roll_now", "_selected_action": [key.pk]}).content.decode()
    assert "sk_test_" in page and "never be shown again" in page
    key.refresh_from_db()
    assert not key.is_active()
    listing = client.get(reverse("admin:duro_apikey_changelist")).content.decode()
    assert a.keys["test"]["secret"] not in listing


def test_owner_invites_staff_with_a_role(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    page = client.post(reverse("admin:duro_membership_add"),
                       {"email": "kemi@alpha.test", "role": "support"}).content.decode()
    assert "kemi@alpha.test" in page and "/accounts/reset/" in page
    membership = Membership.objects.get(user__username="kemi@alpha.test")
    assert membership.merchant == a.merchant and membership.role == "support"


def test_home_page_shows_the_modes_numbers_with_svg_charts(two_merchants):
    a, _ = two_merchants
    page = owner_client(a).get(reverse("admin:index")).content.decode()
    assert 'id="duro-revenue"' in page and "₦15,000.00" in page
    assert '<svg class="duro-chart"' in page
    assert 'id="duro-failed">1<' in page  # the declined test payment
    assert 'id="duro-active">1<' in page
    assert "<script" not in page.split('id="duro-home-title"')[1].split("</section>")[0]


def test_staff_without_membership_cannot_enter(db, django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_user("loner", password="pw-loner-123",
                                                 is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 302  # to the login page


def test_only_the_owner_changes_the_appearance(two_merchants):
    a, _ = two_merchants
    developer = staff_client(a, Membership.Role.DEVELOPER)
    url = reverse("admin:appearance-builder", args=[a.merchant.id])
    assert developer.get(url).status_code == 200  # may look
    response = developer.post(url, {"brand_color": "#112233", "action": "publish"})
    assert response.status_code == 403
    assert owner_client(a).get(url).status_code == 200


def test_home_shows_webhook_delivery_success_rate(two_merchants):
    from webhooks.models import Delivery, Event, WebhookEndpoint

    a, _ = two_merchants
    with mode_context("test"):
        endpoint = WebhookEndpoint.objects.create(merchant_id=a.merchant.id,
                                                  url="http://127.0.0.1:9/hook", events=["*"],
                                                  secret="whsec_x")
        event = Event.objects.filter(merchant_id=a.merchant.id).first()
        for status in ("succeeded", "succeeded", "succeeded", "failed", "pending"):
            Delivery.objects.create(merchant_id=a.merchant.id, event=event, endpoint=endpoint,
                                    status=status)
    page = owner_client(a).get(reverse("admin:index")).content.decode()
    assert 'id="duro-webhooks">75.0% succeeded<' in page


def test_ids_that_look_like_admin_escapes_still_open(two_merchants):
    """Admin URLs escape "_" (``_5F``); an id like ``pln_0Aab…`` must round-trip."""
    a, _ = two_merchants
    with mode_context("test"):
        plan = Plan.objects.create(id="pln_0A2Bxyz", merchant_id=a.merchant.id,
                                   name="Hex-looking id", amount=100, interval="monthly")
    client = owner_client(a)
    listing = client.get(reverse("admin:billing_plan_changelist")).content.decode()
    link = reverse("admin:billing_plan_change", args=[quote(plan.pk)])
    assert link in listing
    assert "Hex-looking id" in client.get(link).content.decode()
