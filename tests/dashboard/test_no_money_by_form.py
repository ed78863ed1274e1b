"""No admin form post moves money: the renewal engine's internals are read-only everywhere.

For every billing and checkout page of the admin, a change form is posted for every object
with every field altered (next attempt in the past, amounts, statuses, clocks, cards,
merchants). Nothing the engine reads may change, and a renewal run afterwards charges
nothing early; only the explicit cancel actions change a subscription.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client
from django.urls import reverse

from billing.models import DunningPolicy, Invoice, SandboxCharge, Subscription
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.checkout.factories import make_session
from tests.dashboard.conftest import owner_client

pytestmark = pytest.mark.django_db(databases="__all__")

APPS = ("billing", "checkout")
# What a merchant may still edit by hand: words, and a plan's terms for future sales (its
# price and interval only while nobody subscribes to it).
EDITABLE = {
    "billing.Plan": {"name", "description", "active", "trial_days", "invoice_limit",
                     "updated_at"},
    "billing.Customer": {"name"},
    "billing.DunningPolicy": {"retry_days", "updated_at"},
}
UNSOLD_PLAN = EDITABLE["billing.Plan"] | {"amount", "currency", "interval", "interval_count"}


def _models():
    from django.apps import apps

    return [m for app in APPS for m in apps.get_app_config(app).get_models()]


def _snapshot() -> dict:
    with mode_context("test"):
        return {m._meta.label: {str(o.pk): {f.attname: getattr(o, f.attname)
                                            for f in m._meta.concrete_fields}
                                for o in m._default_manager.all()}
                for m in _models()}


def _hostile(obj, field) -> dict:
    """Form data that changes ``field`` of ``obj`` to something else, still valid."""
    name, value = field.name, getattr(obj, field.attname)
    if isinstance(field, models.DateTimeField):
        return {f"{name}_0": "2000-01-01", f"{name}_1": "00:00:00", name: "2000-01-01 00:00"}
    if isinstance(field, models.BooleanField):
        return {} if value else {name: "on"}
    if field.choices:
        return {name: next(c for c, _ in field.choices if c != value)}
    if isinstance(field, models.ForeignKey):
        others = field.related_model._default_manager.exclude(pk=value)
        other = others.filter(merchant_id=obj.merchant_id).first() if hasattr(
            field.related_model, "merchant_id") else others.first()
        return {name: str(other.pk if other else value)}
    if isinstance(field, models.IntegerField):
        return {name: str((value or 0) + 7)}
    if isinstance(field, models.JSONField):
        return {name: json.dumps({"hacked": "1"})}
    return {name: ("hacked-" + str(value))[:field.max_length or 40]}


def _post_everything(client) -> dict[str, set[int]]:
    """Post an altered change form for every object of every billing/checkout admin."""
    statuses: dict[str, set[int]] = {}
    for model, _ in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label):
        if model._meta.app_label not in APPS:
            continue
        with mode_context("test"):
            objects = list(model._default_manager.all())
        for obj in objects:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                          args=[quote(str(obj.pk))])
            data = {"_save": "Save"}
            with mode_context("test"):
                for field in model._meta.concrete_fields:
                    if not field.primary_key:
                        data.update(_hostile(obj, field))
            statuses.setdefault(model._meta.label, set()).add(client.post(url, data).status_code)
    return statuses


def _world(api, merchant_id: str):
    active = subscribe(merchant_id)
    subscribe(merchant_id, authorization="sbx_fail_0341")  # will be past_due
    renewal = active.current_period_end
    with mode_context("test"):
        renewals_run(now=renewal)  # both renew: one is paid, one is past_due (open invoice)
        DunningPolicy.objects.create(merchant_id=merchant_id, retry_days=[2, 4])
    make_session(api)  # an open checkout session
    return renewal


def _operator() -> Client:
    user = get_user_model().objects.create_superuser("op", "op@duro.test", "pw-op-12345")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["owner", "operator"])
def test_no_admin_form_post_moves_money(api, acme, who):
    renewal = _world(api, acme.merchant.id)
    with mode_context("test"):
        assert Subscription.objects.filter(status="past_due").count() == 1
        assert Invoice.objects.filter(status="open").count() == 1
        next_due = min(Subscription.objects.values_list("next_attempt_at", flat=True))
    client = owner_client(acme) if who == "owner" else _operator()
    before = _snapshot()
    with mode_context("test"):
        sold = {str(pk) for pk in Subscription.objects.values_list("plan_id", flat=True)}
    statuses = _post_everything(client)
    after = _snapshot()
    for label in ("billing.Subscription", "billing.Invoice", "billing.PaymentAttempt",
                  "checkout.CheckoutSession"):
        assert statuses[label] == {403}, label  # a view, never a form
    assert statuses["billing.Plan"] == {302}  # saved: the editable words and future terms
    for label, rows in before.items():
        assert set(after[label]) == set(rows), label
        for pk, fields in rows.items():
            changed = {k for k, v in fields.items() if after[label][pk][k] != v}
            editable = UNSOLD_PLAN if label == "billing.Plan" and pk not in sold else (
                EDITABLE.get(label, set()))
            assert changed <= editable, (label, pk, changed)
    # A renewal run before anything is due charges nothing.
    charges = _count(SandboxCharge)
    with mode_context("test"):
        report = renewals_run(now=next_due - timedelta(minutes=1))
    assert report.claimed == 0 and _count(SandboxCharge) == charges
    # When due, the subscription renews on the terms it was sold with.
    with mode_context("test"):
        renewals_run(now=next_due)
        paid = Invoice.objects.filter(status="paid", period_start__gte=renewal)
        assert {i.amount for i in paid} == {1_500_000}
        assert Subscription.objects.filter(status="completed").count() == 0


def _count(model) -> int:
    with mode_context("test"):
        return model.objects.count()


def test_subscriptions_change_only_through_the_cancel_actions(api, acme):
    _world(api, acme.merchant.id)
    client = owner_client(acme)
    with mode_context("test"):
        sub = Subscription.objects.filter(status="active").first()
    url = reverse("admin:billing_subscription_change", args=[quote(sub.pk)])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="next_attempt_at' not in page.content.decode()  # shown, never a field
    changelist = client.get(reverse("admin:billing_subscription_changelist")).content.decode()
    assert "cancel_at_period_end" in changelist and "cancel_now" in changelist
    client.post(reverse("admin:billing_subscription_changelist"),
                {"action": "cancel_at_period_end", "_selected_action": [sub.pk]})
    with mode_context("test"):
        assert Subscription.objects.get(pk=sub.pk).status == "non_renewing"
