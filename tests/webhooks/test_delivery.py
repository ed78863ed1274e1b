"""Delivery in-process (no worker): signing on the wire, retry schedule, 410, timeouts,
redirects, three days of failures, rotation, the sweep and its leases. Time is passed in."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from webhooks.delivery import RETRY_SCHEDULE, deliveries_sweep, delivery_attempt, retry_delay
from webhooks.endpoints import endpoint_rotate_secret
from webhooks.events import events_emit
from webhooks.models import Delivery, Event, WebhookEndpoint
from webhooks.signing import verify

pytestmark = pytest.mark.django_db(databases="__all__")


def deliveries(**filters):
    with mode_context("test"):
        return list(Delivery.objects.filter(**filters).select_related("endpoint")
                    .order_by("created_at", "id"))


def attempt(delivery, now=None, rand=0.5):
    with mode_context("test"):
        return delivery_attempt(delivery_id=delivery.pk, now=now, rand=rand)


def refresh(obj):
    with mode_context("test"):
        obj.refresh_from_db()
    return obj


def test_delivery_body_headers_and_signature(acme, receiver):
    mid = acme.merchant.id
    endpoint = endpoint_make(mid, receiver.url("/a"), events=["subscription_created",
                                                              "subscription_payment_success"])
    endpoint_make(mid, receiver.url("/b"), events=["payment_success"])
    events = pay_emit(mid)
    [d1, d2] = deliveries()
    assert {d1.endpoint_id, d2.endpoint_id} == {endpoint.id}
    for d in (d1, d2):
        assert attempt(d).status == Delivery.Status.SUCCEEDED
    assert receiver.at("/b") == []
    got = {r.headers["Duro-Event-Id"]: r for r in receiver.at("/a")}
    assert set(got) == {e.id for e in events}
    for event in events:
        r = got[event.id]
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["User-Agent"] == "Duro-Webhooks/1"
        assert r.headers["webhook-id"] == event.id
        assert r.headers["webhook-signature"] == r.headers["Duro-Signature"]
        payload = verify(endpoint.secret, r.headers, r.body)
        assert payload == json.loads(r.body)
        assert Webhook(endpoint.secret).verify(r.body, r.headers)["id"] == event.id
        assert payload["type"] == event.type and payload["mode"] == "test"
        assert payload["data"]["metadata"] == {"orderId": "ord_1"}
        assert set(payload) == {"id", "type", "mode", "createdAt", "data"}
        assert b" " not in r.body.split(b'"data"')[0]  # compact JSON


def test_retries_follow_the_schedule_until_success(acme, receiver):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/flaky"))
    receiver.script("/flaky", [500, 503, {"status": 302, "location": receiver.url("/ok")}, 200])
    pay_emit(acme.merchant.id)
    delivery = deliveries()[0]
    t = timezone.now()
    for n in range(3):
        d = attempt(delivery, now=t)
        assert d.status == Delivery.Status.PENDING and d.attempt_count == n + 1
        assert d.next_attempt_at == t + RETRY_SCHEDULE[n]
        assert attempt(delivery, now=d.next_attempt_at - timedelta(seconds=1)) is None  # not due
        t = d.next_attempt_at
    d = attempt(delivery, now=t)
    assert d.status == Delivery.Status.SUCCEEDED and d.attempt_count == 4
    assert receiver.at("/ok") == []  # the redirect was not followed
    with mode_context("test"):
        codes = list(d.attempts.values_list("status_code", flat=True))
    assert codes == [500, 503, 302, 200]
    # The event id stays the same on every retry, the timestamp is the attempt's.
    ids = {r.headers["Duro-Event-Id"] for r in receiver.at("/flaky")}
    assert ids == {delivery.event_id}
    assert refresh(endpoint).failing_since is None


def test_retry_delays_are_jittered_and_end():
    assert [retry_delay(n, 0.5) for n in range(1, 10)] == list(RETRY_SCHEDULE)
    assert retry_delay(1, 0.0) == timedelta(seconds=4.5)
    assert retry_delay(1, 0.999) < timedelta(seconds=5.5)
    assert retry_delay(10, 0.5) is None


def test_gives_up_after_the_last_retry(acme, receiver):
    endpoint_make(acme.merchant.id, receiver.url("/down"))
    receiver.script("/down", [500] * 20)
    pay_emit(acme.merchant.id)
    delivery = deliveries()[0]
    t = timezone.now()
    with mode_context("test"):
        WebhookEndpoint.objects.update(failing_since=None)
    for _ in range(10):
        d = attempt(delivery, now=t)
        t = d.next_attempt_at or t
        # keep the endpoint from the 3-day rule: this test is about the schedule
        with mode_context("test"):
            WebhookEndpoint.objects.update(failing_since=t)
    assert d.status == Delivery.Status.FAILED and d.attempt_count == 10
    assert d.next_attempt_at is None


def test_410_disables_the_endpoint_and_emails_the_merchant(acme, receiver):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/gone"))
    receiver.script("/gone", [410])
    pay_emit(acme.merchant.id)
    first, second = deliveries()
    d = attempt(first)
    assert d.status == Delivery.Status.FAILED and d.last_status_code == 410
    endpoint = refresh(endpoint)
    assert endpoint.status == "disabled" and "410" in endpoint.disabled_reason
    # The other pending delivery is canceled, not sent.
    assert attempt(second) is None
    assert refresh(second).status == Delivery.Status.CANCELED
    assert len(receiver.at("/gone")) == 1


def test_timeouts_count_as_failures(acme, receiver, settings):
    settings.DURO_WEBHOOK_TIMEOUT = 0.3
    endpoint_make(acme.merchant.id, receiver.url("/slow"))
    receiver.script("/slow", [{"status": 200, "sleep": 1.0}])
    pay_emit(acme.merchant.id)
    d = attempt(deliveries()[0])
    assert d.status == Delivery.Status.PENDING and d.attempt_count == 1
    with mode_context("test"):
        a = d.attempts.get()
    assert a.status_code is None and "Timed out" in a.error and a.duration_ms < 1000


def test_connection_refused_is_recorded(acme):
    endpoint_make(acme.merchant.id, "http://127.0.0.1:9/nothing-listens")
    pay_emit(acme.merchant.id)
    d = attempt(deliveries()[0])
    with mode_context("test"):
        a = d.attempts.get()
    assert d.status == Delivery.Status.PENDING and a.status_code is None and a.error


def test_three_days_of_failure_disables_flags_and_emails(acme, receiver,
                                                         django_capture_on_commit_callbacks):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/dead"))
    receiver.script("/dead", [500] * 10)
    pay_emit(acme.merchant.id)
    delivery = deliveries()[0]
    t0 = timezone.now()
    d = attempt(delivery, now=t0)
    assert refresh(endpoint).failing_since == t0
    with mode_context("test"):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=t0)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        d = attempt(delivery, now=t0 + timedelta(days=3, minutes=1))
    endpoint = refresh(endpoint)
    assert endpoint.status == "disabled" and "3 days" in endpoint.disabled_reason
    assert endpoint.failing_since == t0
    assert d.status == Delivery.Status.FAILED
    [message] = mail.outbox
    assert message.to == [acme.merchant.support_email] and endpoint.url in message.body


def test_rotation_sends_both_signatures_for_24_hours(acme, receiver):
    endpoint = endpoint_make(acme.merchant.id, receiver.url("/rot"))
    old = endpoint.secret
    with mode_context("test"):
        endpoint = endpoint_rotate_secret(endpoint=endpoint)
    assert endpoint.secret != old
    pay_emit(acme.merchant.id)
    first, second = deliveries()
    attempt(first)
    r = receiver.at("/rot")[0]
    assert len(r.headers["Duro-Signature"].split(" ")) == 2
    for secret in (old, endpoint.secret):
        assert verify(secret, r.headers, r.body)
        assert Webhook(secret).verify(r.body, r.headers)
    attempt(second, now=timezone.now() + timedelta(hours=24, seconds=1))
    r = receiver.at("/rot")[1]
    assert len(r.headers["Duro-Signature"].split(" ")) == 1
    assert verify(endpoint.secret, r.headers, r.body,
                  now=int(r.headers["Duro-Timestamp"]))


def test_disabled_or_unsubscribed_endpoints_get_no_deliveries(acme, receiver):
    mid = acme.merchant.id
    endpoint_make(mid, receiver.url("/off"), status="disabled")
    endpoint_make(mid, receiver.url("/other"), events=["subscription_canceled"])
    pay_emit(mid)
    assert deliveries() == []


def test_a_batch_of_events_reaches_each_merchants_own_endpoints_in_one_insert(
        acme, make_merchant, receiver, django_assert_num_queries):
    other = make_merchant().merchant.id
    mid = acme.merchant.id
    mine = endpoint_make(mid, receiver.url("/all"))
    picky = endpoint_make(mid, receiver.url("/failed"), events=["subscription_payment_failed"])
    theirs = endpoint_make(other, receiver.url("/theirs"))
    batch = [Event(merchant_id=m, type=t, data={"n": n}) for n, (m, t) in enumerate(
        [(mid, "subscription_payment_success"), (other, "subscription_payment_success"),
         (mid, "subscription_payment_failed")])]
    with mode_context("test"), django_assert_num_queries(3, using="test"):
        # the events, the endpoints, the deliveries (no savepoint: it joins the caller's
        # transaction)
        events_emit(batch)
    got = {(d.event_id, d.endpoint_id) for d in deliveries()}
    assert got == {(batch[0].pk, mine.pk), (batch[1].pk, theirs.pk), (batch[2].pk, mine.pk),
                   (batch[2].pk, picky.pk)}
    with mode_context("test"):
        assert {e.pk: e.data["n"] for e in Event.objects.all()} == {
            e.pk: n for n, e in enumerate(batch)}


def test_sweep_requeues_due_unleased_and_skips_leased(acme, receiver, settings):
    settings.DURO_WEBHOOK_LEASE_SECONDS = 30
    endpoint_make(acme.merchant.id, receiver.url("/s"))
    pay_emit(acme.merchant.id)
    a, b = deliveries()
    now = timezone.now()
    with mode_context("test"):
        assert deliveries_sweep(now=now) == 0  # just queued by the emit
        Delivery.objects.update(enqueued_at=None)  # as after a failed enqueue
        Delivery.objects.filter(pk=b.pk).update(locked_until=now + timedelta(seconds=10))
        assert deliveries_sweep(now=now) == 1  # b is leased by a worker
        assert set(Delivery.objects.filter(enqueued_at=now).values_list("pk", flat=True)) == {
            a.pk}
        assert deliveries_sweep(now=now + timedelta(seconds=11)) == 1  # b's lease expired
        assert deliveries_sweep(now=now + timedelta(seconds=31)) == 1  # a: queued, never run
        assert deliveries_sweep(now=now + timedelta(seconds=32)) == 0
    # Once delivered, nothing is due any more.
    attempt(a)
    attempt(b, now=now + timedelta(seconds=40))
    with mode_context("test"):
        assert deliveries_sweep(now=now + timedelta(hours=1)) == 0


def test_an_endpoint_that_drips_its_answer_times_out_on_the_whole_request(acme, settings):
    """Each byte arrives within the timeout, the whole answer does not: a failure."""
    import socket
    import threading
    import time as clock

    settings.DURO_WEBHOOK_TIMEOUT = 0.5
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def drip():
        conn, _ = server.accept()
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            clock.sleep(0.1)
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    endpoint_make(acme.merchant.id, f"http://127.0.0.1:{server.getsockname()[1]}/drip")
    pay_emit(acme.merchant.id)
    started = clock.monotonic()
    d = attempt(deliveries()[0])
    assert clock.monotonic() - started < 2
    server.close()
    with mode_context("test"):
        a = d.attempts.get()
    assert d.status == Delivery.Status.PENDING and a.status_code is None
    assert "Timed out" in a.error
