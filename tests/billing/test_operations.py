"""Entry points of the engine: the operator command, the beat task, the admin."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from billing.models import Subscription
from billing.tasks import renewals_run_task
from duro.modes import mode_context
from tests.billing.conftest import subscribe

pytestmark = pytest.mark.django_db(databases="__all__")


def test_billing_run_runs_both_modes(merchant):
    subscribe(merchant.id)
    out = StringIO()
    call_command("billing_run", "--now", "2025-02-20T00:00:00Z", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["mode"] for line in lines] == ["test", "live"]
    assert lines[0]["renewed"] == 1 and lines[1]["claimed"] == 0


def test_billing_run_one_mode_and_bad_time(merchant):
    out = StringIO()
    call_command("billing_run", "--mode", "live", stdout=out)
    assert [json.loads(line)["mode"] for line in out.getvalue().splitlines()] == ["live"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO-8601"):
        call_command("billing_run", "--now", "next tuesday")


def test_beat_schedules_the_task_in_each_mode(merchant):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["task"] == "billing.renewals_run"]
    assert sorted(e["args"][0] for e in entries) == ["live", "test"]
    assert all(e["schedule"] == 60.0 for e in entries)
    sub = subscribe(merchant.id)
    assert renewals_run_task("test", "2025-02-20T00:00:00+00:00")["renewed"] == 1
    with mode_context("test"):
        assert Subscription.objects.get(pk=sub.pk).period_index == 1


def test_admin_lists_and_cancels_in_the_session_mode(client, acme, merchant):
    sub = subscribe(merchant.id)
    live = subscribe(merchant.id, mode="live")
    client.login(username="owner@acme.test", password="correct-horse-battery")
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="owner@acme.test").update(is_superuser=True)
    page = client.get("/admin/billing/subscription/")
    assert page.status_code == 200
    assert sub.id in page.content.decode() and live.id not in page.content.decode()
    response = client.post("/admin/billing/subscription/", {
        "action": "cancel_now", "_selected_action": [sub.id]})
    assert response.status_code == 302
    with mode_context("test"):
        assert Subscription.objects.get(pk=sub.pk).status == "canceled"
    session = client.session
    session["duro_mode"] = "live"
    session.save()
    page = client.get("/admin/billing/subscription/")
    assert live.id in page.content.decode() and sub.id not in page.content.decode()
    from django.contrib.admin.utils import quote  # ids hold "_", which admin URLs escape

    assert client.get(f"/admin/billing/subscription/{quote(live.id)}/change/").status_code == 200
    assert client.get("/admin/billing/invoice/").status_code == 200
