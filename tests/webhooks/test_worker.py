"""End to end with a real Celery worker process: delivery after commit, a worker killed
mid-batch, a broker that is down when the event is emitted. Nothing is lost."""

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from duro.celery import app as celery_app
from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from tests.worker import wait_for, worker_sessions
from webhooks.delivery import deliveries_sweep
from webhooks.events import event_emit
from webhooks.models import Delivery
from webhooks.signing import verify

pytestmark = [pytest.mark.worker,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_pay_events_arrive_signed_with_metadata(acme, receiver, worker):
    mid = acme.merchant.id
    endpoint = endpoint_make(mid, receiver.url("/a"), events=["subscription_created",
                                                              "subscription_payment_success"])
    endpoint_make(mid, receiver.url("/b"), events=["payment_success"])
    events = pay_emit(mid, order_id="ord_1")
    wait_for(lambda: len(receiver.at("/a")) >= 2, message="both events at /a")
    assert receiver.event_ids("/a") == {e.id for e in events}
    for r in receiver.at("/a"):
        payload = verify(endpoint.secret, r.headers, r.body)
        assert Webhook(endpoint.secret).verify(r.body, r.headers)["id"] == payload["id"]
        assert payload["data"]["metadata"] == {"orderId": "ord_1"}
    assert {p["type"] for p in (verify(endpoint.secret, r.headers, r.body)
                                for r in receiver.at("/a"))} == {
        "subscription_created", "subscription_payment_success"}

    def all_succeeded():
        with mode_context("test"):
            return Delivery.objects.filter(status="succeeded").count() == 2
    wait_for(all_succeeded, message="deliveries recorded as succeeded")
    assert receiver.at("/b") == []


def test_rolled_back_transaction_sends_nothing(acme, receiver, worker):
    endpoint_make(acme.merchant.id, receiver.url("/a"))
    with pytest.raises(RuntimeError), mode_context("test"), transaction.atomic(using="test"):
        event_emit(merchant_id=acme.merchant.id, type="payment_success", data={})
        raise RuntimeError("the pay failed after the event was written")
    pay_emit(acme.merchant.id)  # a later event, to know the worker has been busy
    wait_for(lambda: len(receiver.at("/a")) >= 2, message="the later events")
    assert len(receiver.event_ids("/a")) == 2


def test_worker_killed_mid_batch_loses_nothing(acme, receiver, worker_factory, settings):
    lease = {"DURO_WEBHOOK_LEASE_SECONDS": "2"}
    settings.DURO_WEBHOOK_LEASE_SECONDS = 2
    receiver.default_sleep = 0.15
    endpoint_make(acme.merchant.id, receiver.url("/slow"), events=["payment_success"])
    first = worker_factory(env=lease)
    with mode_context("test"), transaction.atomic(using="test"):
        events = [event_emit(merchant_id=acme.merchant.id, type="payment_success",
                             data={"n": n}) for n in range(20)]
    wait_for(lambda: len(receiver.at("/slow")) >= 3, message="a few deliveries")
    first.kill()
    assert len(receiver.event_ids("/slow")) < 20
    worker_factory(env=lease)

    def all_arrived():
        with mode_context("test"):
            deliveries_sweep()  # what celery beat does every minute
        return receiver.event_ids("/slow") == {e.id for e in events}
    wait_for(all_arrived, timeout=40, interval=0.5, message="every event after the kill")


@pytest.mark.redis
def test_broker_down_at_emit_then_the_sweep_delivers(acme, receiver, worker, monkeypatch):
    endpoint_make(acme.merchant.id, receiver.url("/a"))
    # Point the producer at a dead broker: enqueue after commit fails...
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/3")
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    events = pay_emit(acme.merchant.id)  # ...and the emitting transaction still commits.
    with mode_context("test"):
        assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 2
    monkeypatch.undo()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    assert receiver.at("/a") == []
    with mode_context("test"):
        assert deliveries_sweep() == 2
    wait_for(lambda: receiver.event_ids("/a") == {e.id for e in events},
             message="the events after the broker came back")


def test_real_pay_delivers_both_events_with_the_order_id(acme, api, receiver, worker):
    from rest_framework.test import APIClient

    from tests.checkout.factories import make_session, pay

    created = api.post("/v1/webhook-endpoints", {
        "url": receiver.url("/shop"),
        "events": ["subscription_created", "subscription_payment_success"]}, format="json")
    secret = created.json()["data"]["secret"]
    session = make_session(api, metadata={"orderId": "ord_77"})
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    wait_for(lambda: len(receiver.event_ids("/shop")) == 2, message="both pay events")
    payloads = [verify(secret, r.headers, r.body) for r in receiver.at("/shop")]
    assert {p["type"] for p in payloads} == {"subscription_created",
                                             "subscription_payment_success"}
    assert all(p["data"]["metadata"] == {"orderId": "ord_77"} for p in payloads)
    assert all(Webhook(secret).verify(r.body, r.headers) for r in receiver.at("/shop"))


def test_broker_down_during_a_real_pay_then_the_webhook_arrives(acme, api, receiver, worker,
                                                                monkeypatch):
    """The pay succeeds while the broker is unreachable; once it is back, the sweep
    delivers the pay's events (and the receipt stays pending for its own sweep)."""
    import json

    from rest_framework.test import APIClient

    from billing.models import Invoice
    from tests.checkout.factories import make_session, pay

    endpoint_make(acme.merchant.id, receiver.url("/orders"))
    session = make_session(api, metadata={"orderId": "ord_outage"})
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/3")
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    answer = pay(APIClient(), session["token"]).json()["data"]
    assert answer["status"] == "completed"
    monkeypatch.undo()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    with mode_context("test"):
        assert Delivery.objects.filter(enqueued_at__isnull=True).count() == 2
        assert Invoice.objects.get().receipt_status == "pending"
        assert deliveries_sweep() == 2
    wait_for(lambda: len(receiver.event_ids("/orders")) == 2,
             message="the pay's events after the broker came back")
    bodies = [json.loads(r.body) for r in receiver.at("/orders")]
    assert all(b["data"]["metadata"] == {"orderId": "ord_outage"} for b in bodies)


@pytest.mark.postgres
def test_the_worker_keeps_its_database_and_http_connections_across_tasks(
        acme, keepalive_receiver, worker):
    endpoint_make(acme.merchant.id, keepalive_receiver.url("/a"), events=["payment_success"])

    def emit_and_wait(n: int) -> None:
        with mode_context("test"):
            event_emit(merchant_id=acme.merchant.id, type="payment_success", data={"n": n})

        def recorded():
            with mode_context("test"):
                return Delivery.objects.filter(status="succeeded").count() == n + 1
        wait_for(recorded, message=f"delivery {n} recorded")

    emit_and_wait(0)
    after_first = worker_sessions()
    for n in range(1, 6):
        emit_and_wait(n)
    assert after_first, "the worker closed its database connections after the task"
    assert worker_sessions() == after_first  # the same sessions: no reconnect per task
    assert len(keepalive_receiver.at("/a")) == 6
    assert keepalive_receiver.connections == 1
