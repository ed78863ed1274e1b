"""Keep-alive: a worker process sends deliveries to one host over one kept connection,
and the SSRF guard still decides every send, kept connection or not."""

import socket

import pytest

from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from tests.webhooks.test_addresses import fake_dns
from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery
from webhooks.transport import idle_connections

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def no_kept_connections():
    idle_connections.close_all()
    yield
    idle_connections.close_all()


def deliver_all() -> list[Delivery]:
    with mode_context("test"):
        ids = list(Delivery.objects.filter(status="pending", attempt_count=0)
                   .order_by("created_at", "id").values_list("pk", flat=True))
        return [delivery_attempt(delivery_id=pk) for pk in ids]


def test_deliveries_to_one_host_share_one_connection(acme, keepalive_receiver):
    endpoint_make(acme.merchant.id, keepalive_receiver.url("/a"))
    for n in range(3):
        pay_emit(acme.merchant.id, order_id=f"ord_{n}")
    assert [d.status for d in deliver_all()] == ["succeeded"] * 6
    assert len(keepalive_receiver.at("/a")) == 6
    assert keepalive_receiver.connections == 1


def test_a_receiver_that_closes_after_each_answer_gets_a_new_connection_each_time(
        acme, receiver):
    endpoint_make(acme.merchant.id, receiver.url("/a"))  # HTTP/1.0: closes every time
    pay_emit(acme.merchant.id)
    pay_emit(acme.merchant.id)
    assert [d.status for d in deliver_all()] == ["succeeded"] * 4
    assert receiver.connections == 4


def test_a_kept_connection_the_endpoint_dropped_is_replaced_and_the_send_succeeds(
        acme, keepalive_receiver):
    endpoint_make(acme.merchant.id, keepalive_receiver.url("/a"))
    keepalive_receiver.script("/a", [200, "drop"])  # the second request meets a closed socket
    pay_emit(acme.merchant.id)
    assert [d.status for d in deliver_all()] == ["succeeded"] * 2
    assert len(keepalive_receiver.at("/a")) == 2
    assert keepalive_receiver.connections == 2


def test_a_kept_connection_is_not_used_once_the_name_resolves_privately(
        acme, keepalive_receiver, monkeypatch, settings):
    port = keepalive_receiver.server.server_port
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "127.0.0.1"}))
    endpoint_make(acme.merchant.id, f"http://hooks.shop.example:{port}/in")
    pay_emit(acme.merchant.id)
    first, second = deliver_all()
    assert first.status == "succeeded" and second.status == "succeeded"
    assert keepalive_receiver.connections == 1  # and it is kept, idle

    # DNS rebinding: the name now points at a private address. The kept connection
    # to 127.0.0.1 must not carry the request.
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "10.0.0.7"}))
    pay_emit(acme.merchant.id)
    refused = deliver_all()
    assert [d.status for d in refused] == ["pending"] * 2
    with mode_context("test"):
        errors = {a.error for d in refused for a in d.attempts.all()}
    assert len(errors) == 1 and "10.0.0.7" in errors.pop()
    assert len(keepalive_receiver.at("/in")) == 2

    # Back on loopback, but the operator no longer allows it: refused too.
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns({"hooks.shop.example": "127.0.0.1"}))
    settings.DURO_WEBHOOK_ALLOW_LOOPBACK = False
    with mode_context("test"):
        d = delivery_attempt(delivery_id=refused[0].pk, now=refused[0].next_attempt_at)
        assert "public addresses" in d.attempts.order_by("-attempted_at", "-id")[0].error
    assert len(keepalive_receiver.at("/in")) == 2
