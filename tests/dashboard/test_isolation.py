"""Tenant isolation: merchant A's staff find nothing of merchant B on any admin page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.payment_methods import payment_methods_set
from billing.processors.connections import processor_connect
from duro.models import Merchant
from duro.modes import mode_context
from tests.dashboard.conftest import owner_client

pytestmark = pytest.mark.django_db(databases="__all__")

MODE_SCOPED = {"checkout", "billing", "webhooks"}


def _objects_of(model, merchant_id: str) -> list:
    if model is Merchant:
        return list(Merchant.objects.filter(pk=merchant_id))
    names = {f.name for f in model._meta.get_fields()}
    if "merchant_id" in names or "merchant" in names:
        return list(model._default_manager.filter(merchant_id=merchant_id).order_by("pk"))
    return []


def _state(rows: list) -> list:
    """Every field of every row, in pk order: an unchanged row is byte-for-byte the same."""
    return [(row.pk, {f.attname: str(getattr(row, f.attname)) for f in row._meta.concrete_fields})
            for row in rows]


def _registered():
    return sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label)


def _url(model, view: str, *args) -> str:
    """The admin URL as Django builds it: ids hold "_", which admin URLs escape (quote)."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}",
                   args=[quote(a) for a in args])


@pytest.mark.parametrize("mode", ["test", "live"])
def test_merchant_a_finds_nothing_of_merchant_b(two_merchants, mode, settings):
    a, b = two_merchants
    client = owner_client(a)
    client.post(reverse("admin:duro_mode"), {"mode": mode})
    payment_methods_set(merchant_id=b.merchant.id, mode=mode, switched_off={"bank_transfer"})
    settings.DURO_ENCRYPTION_KEY = ["kJ5mYV0Zr0vXk2bq3H4C7nqgk6b1o2TQm8S0cHh2Y5s="]
    processor_connect(merchant_id=b.merchant.id, processor="paystack",
                      secret="sk_live_" + "b" * 40)  # live only: test mode uses the sandbox
    probed, refund_probed = set(), set()
    for model, model_admin in _registered():
        scoped = model._meta.app_label in MODE_SCOPED
        if scoped:
            with mode_context(mode):
                theirs = _objects_of(model, b.merchant.id)
                mine = _objects_of(model, a.merchant.id)
        else:
            theirs = _objects_of(model, b.merchant.id)
            mine = _objects_of(model, a.merchant.id)
        if not theirs:
            continue
        changelist = client.get(_url(model, "changelist"), follow=True)
        assert changelist.status_code in (200, 403), (model, changelist.status_code)
        body = changelist.content.decode()
        for obj in theirs:
            pk = str(obj.pk)
            link = _url(model, "change", pk)
            assert link not in body, f"{model._meta.label}: B's {pk} listed for A"
            if not pk.isdigit():
                assert pk not in body, f"{model._meta.label}: B's {pk} shown to A"
            searched = client.get(_url(model, "changelist"), {"q": pk},
                                  follow=True).content.decode()
            assert link not in searched
            for view in ("change", "delete", "history"):
                response = client.get(_url(model, view, pk))
                assert response.status_code in (403, 404), (model, view, response.status_code)
            deleted = client.post(_url(model, "delete", pk), {"post": "yes"})
            assert deleted.status_code in (403, 404)
            if hasattr(model_admin, "refund_view"):  # payments and invoices: the Refund button
                refund = _url(model, "refund", pk)
                assert client.get(refund).status_code in (403, 404), (model, "refund")
                refunded = client.post(refund, {"amount": "1.00", "left": obj.amount,
                                                "reason": "requested_by_customer",
                                                "duro_confirm": "yes"})
                assert refunded.status_code in (403, 404), (model, "refund")
                refund_probed.add(model._meta.label)
            for action in [*(model_admin.actions or []), "delete_selected"]:
                name = action if isinstance(action, str) else action.__name__
                client.post(_url(model, "changelist"), {"action": name,
                                                         ACTION_CHECKBOX_NAME: [pk],
                                                         "post": "yes", "duro_confirm": "yes"})
            probed.add(model._meta.label)
        if scoped:
            with mode_context(mode):
                after = _objects_of(model, b.merchant.id)
        else:
            after = _objects_of(model, b.merchant.id)
        assert _state(after) == _state(theirs), f"{model._meta.label} changed"
        assert [_fields(o) for o in after] == [_fields(o) for o in theirs]
        assert mine is not None
    expected = {"duro.Merchant", "duro.ApiKey", "duro.Membership", "billing.Plan",
                "checkout.CheckoutSession", "webhooks.WebhookEndpoint",
                "appearance.StoreConfig", "billing.RailSettings"}
    if mode == "live":
        expected |= {"billing.ProcessorConnection"}
    if mode == "test":
        expected |= {"billing.Customer", "billing.Subscription", "billing.Invoice",
                     "billing.PaymentAttempt", "billing.Refund", "webhooks.Event",
                     "webhooks.Delivery"}
        assert refund_probed == {"billing.Invoice", "billing.PaymentAttempt"}
    assert expected <= probed


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
            if f.attname not in ("updated_at", "last_used_at")}


def test_my_own_objects_are_there(two_merchants):
    a, _ = two_merchants
    client = owner_client(a)
    from billing.models import Plan

    body = client.get(_url(Plan, "changelist")).content.decode()
    assert "Gold Membership" in body


def test_operator_sees_everyone_and_can_switch_merchant(two_merchants, django_user_model):
    a, b = two_merchants
    from django.test import Client

    operator = django_user_model.objects.create_superuser("op", "op@duro.test", "pw-op-12345")
    client = Client()
    client.force_login(operator)
    merchants = client.get(_url(Merchant, "changelist")).content.decode()
    assert "Alpha Foods" in merchants and "Bravo Fitness" in merchants
    client.post(reverse("admin:duro_merchant"), {"merchant": b.merchant.id})
    with mode_context("test"):
        from billing.models import Customer

        alpha_customer = Customer.objects.filter(merchant_id=a.merchant.id).first()
    assert client.get(_url(Customer, "change", alpha_customer.pk)).status_code == 404


def test_autocomplete_never_offers_another_merchants_objects(two_merchants):
    a, b = two_merchants
    client = owner_client(a)
    checked = 0
    for model, _ in _registered():
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            if not (field.is_relation and field.many_to_one and target in admin.site._registry):
                continue
            response = client.get(reverse("admin:autocomplete"), {
                "app_label": model._meta.app_label, "model_name": model._meta.model_name,
                "field_name": field.name, "term": ""})
            checked += 1
            if response.status_code != 200:
                assert response.status_code in (403, 404)
                continue
            ids = {r["id"] for r in response.json()["results"]}
            with mode_context("test"):
                theirs = {str(o.pk) for o in _objects_of(target, b.merchant.id)}
            assert not ids & theirs
    assert checked > 0
