"""Batches: one task delivers several due deliveries (its own, topped up with others
due), records them in one transaction, and never sends past what its lease covers."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from webhooks import dispatch
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db(databases="__all__")


def pending_ids() -> list[str]:
    with mode_context("test"):
        return list(Delivery.objects.filter(status="pending", attempt_count=0)
                    .order_by("created_at", "id").values_list("pk", flat=True))


def statuses() -> list[str]:
    with mode_context("test"):
        return list(Delivery.objects.order_by("created_at", "id").values_list("status", flat=True))


@pytest.fixture
def queued(monkeypatch):
    """What would go to the broker: (args, countdown) per message."""
    sent = []

    def send_task(name, args, countdown=None, **kwargs):
        sent.append((args, countdown))
    monkeypatch.setattr(dispatch.current_app, "send_task", send_task)
    return sent


def test_one_message_per_batch_of_ids(queued, settings):
    settings.DURO_WEBHOOK_BATCH = 3
    assert dispatch.deliveries_enqueue(ids=[f"dlv_{n}" for n in range(7)], mode="test") == 7
    assert [args for args, _ in queued] == [
        ["test", "dlv_0", "dlv_1", "dlv_2"], ["test", "dlv_3", "dlv_4", "dlv_5"],
        ["test", "dlv_6"]]


def test_a_task_tops_up_its_batch_with_other_due_deliveries(acme, receiver, queued, settings):
    settings.DURO_WEBHOOK_BATCH = 4
    endpoint_make(acme.merchant.id, receiver.url("/a"))
    for n in range(3):
        pay_emit(acme.merchant.id, order_id=f"ord_{n}")  # 6 deliveries, one message each
    ids = pending_ids()
    deliver("test", ids[0])
    assert len(receiver.at("/a")) == 4
    assert statuses().count("succeeded") == 4
    # The message of a delivery already carried has nothing of its own to do; it
    # carries what is still due.
    deliver("test", ids[1])
    assert statuses() == ["succeeded"] * 6
    deliver("test", ids[5])
    assert len(receiver.at("/a")) == 6 and len(receiver.event_ids("/a")) == 6


def test_a_batch_costs_the_same_statements_whatever_its_size(acme, receiver, queued):
    endpoint_make(acme.merchant.id, receiver.url("/a"))

    def statements(events: int) -> int:
        for n in range(events):
            pay_emit(acme.merchant.id, order_id=f"ord_{n}")
        with CaptureQueriesContext(connections["test"]) as captured:
            deliver("test", pending_ids()[0])
        assert pending_ids() == []
        return len(captured)

    assert statements(1) == statements(5)  # 2 deliveries, then 10


def test_a_batch_records_each_outcome_as_if_sent_one_by_one(acme, receiver, queued):
    a = endpoint_make(acme.merchant.id, receiver.url("/a"), events=["subscription_created"])
    b = endpoint_make(acme.merchant.id, receiver.url("/b"),
                      events=["subscription_payment_success"])
    receiver.script("/a", [200, 500, 200])
    receiver.script("/b", [500, 500, 410])
    for n in range(3):
        pay_emit(acme.merchant.id, order_id=f"ord_{n}")
    deliver("test", pending_ids()[0])
    with mode_context("test"):
        got = {(d.endpoint_id, d.status, d.attempt_count, d.last_status_code)
               for d in Delivery.objects.all()}
        a, b = (WebhookEndpoint.objects.get(pk=e.pk) for e in (a, b))
    assert got == {(a.pk, "succeeded", 1, 200), (a.pk, "pending", 1, 500),
                   (b.pk, "pending", 1, 500), (b.pk, "failed", 1, 410)}
    assert a.failing_since is None and a.status == "enabled"  # its last answer was a 200
    assert b.failing_since is not None and b.status == "disabled"
    # Each failure that may be retried soon went back to the broker with its countdown.
    assert sorted(round(countdown) for _, countdown in queued if countdown) == [5, 5, 5]


def test_a_batch_never_sends_past_what_its_lease_covers(acme, receiver, queued, settings,
                                                       django_capture_on_commit_callbacks):
    settings.DURO_WEBHOOK_LEASE_SECONDS = 1
    settings.DURO_WEBHOOK_TIMEOUT = 0.5
    receiver.default_sleep = 0.3
    endpoint_make(acme.merchant.id, receiver.url("/a"))
    for n in range(3):
        pay_emit(acme.merchant.id, order_id=f"ord_{n}")
    with django_capture_on_commit_callbacks(using="test", execute=True):
        deliver("test", pending_ids()[0])
    # 0.3 s, then 0.6 s into the lease: a third send could end past it (0.6 + 0.5 > 1).
    assert len(receiver.at("/a")) == 2
    released = pending_ids()
    assert len(released) == 4
    with mode_context("test"):
        assert not Delivery.objects.filter(pk__in=released, locked_until__isnull=False).exists()
    [(args, countdown)] = queued  # queued again at once, in one message
    assert sorted(args[1:]) == sorted(released) and countdown is None
