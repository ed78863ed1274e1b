"""Delivering events to endpoints in batches, retrying on schedule, and the sweep.

A batch of deliveries runs in three atomic phases so that no transaction is
held open during the HTTP calls:

1. **claim** — lock the rows (``select_for_update``, ``skip_locked`` where
   the database has it), keep those pending, due and not leased, and take a
   lease (``locked_until``) on them, in one transaction;
2. **send** — one after the other: resolve and re-check the URL (SSRF guard),
   sign the exact bytes, POST them (no redirects, hard timeout); a send
   starts only while the lease still covers a whole attempt;
3. **record** — in one transaction, write each :class:`DeliveryAttempt`,
   then succeed, schedule the next retry (``next_attempt_at``) or give up; a
   ``410`` or three days of failures disable the endpoint and tell the
   merchant by email.

:func:`deliveries_sweep` re-queues every due, unleased delivery: the
database, not the broker, is the source of truth. Every function takes
``now`` so that tests move time instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from duro.db import after_commit, atomic, claimable, update_rows
from duro.models import Merchant
from duro.modes import current_mode
from webhooks.addresses import UnsafeUrlError, url_resolve
from webhooks.dispatch import deliveries_enqueue
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.payloads import event_payload
from webhooks.signing import sign_all
from webhooks.transport import PostResult, post

logger = logging.getLogger(__name__)

# Delay before retry n (after the n-th failed attempt); the last failure gives up.
RETRY_SCHEDULE = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.1
FAILING_DISABLE_AFTER = timedelta(days=3)
USER_AGENT = "Duro-Webhooks/1"
SWEEP_BATCH = 1000


def retry_delay(failed_attempts: int, rand: float) -> timedelta | None:
    """Delay after ``failed_attempts`` failures, jittered ±10 % by ``rand`` in [0, 1);
    None when the schedule is exhausted."""
    if failed_attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[failed_attempts - 1]
    return base * (1 - JITTER + 2 * JITTER * rand)


def event_body(event: Event) -> bytes:
    """The event JSON, serialised once per attempt: these bytes are signed and sent."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()


def delivery_headers(*, event_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Duro-Event-Id": event_id,
        "Duro-Timestamp": str(timestamp),
        "Duro-Signature": signature,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _lease() -> timedelta:
    return timedelta(seconds=settings.DURO_WEBHOOK_LEASE_SECONDS)


def _claimable(now: datetime) -> Q:
    return (Q(status=Delivery.Status.PENDING) & Q(next_attempt_at__lte=now)
            & (Q(locked_until__isnull=True) | Q(locked_until__lt=now)))


def deliveries_claim(*, delivery_ids: Sequence[str], now: datetime,
                     top_up: int = 0) -> list[Delivery]:
    """Phase 1: lease those of ``delivery_ids`` that are pending, due and not in flight,
    plus up to ``top_up`` other due ones (longest due first), in one transaction.

    Deliveries whose endpoint was disabled are canceled instead. ``top_up`` lets one
    task carry the deliveries whose own messages are still queued behind it; those
    messages then find nothing to claim.
    """
    with atomic():
        due = claimable(Delivery.objects.select_related("event", "endpoint")
                        .filter(_claimable(now)))
        claimed = list(due.filter(pk__in=delivery_ids))
        if top_up > 0:
            claimed += list(due.exclude(pk__in=delivery_ids)
                            .order_by("next_attempt_at")[:top_up])
        enabled = [d for d in claimed if d.endpoint.status == WebhookEndpoint.Status.ENABLED]
        if len(enabled) < len(claimed):
            Delivery.objects.filter(pk__in={d.pk for d in claimed} - {d.pk for d in enabled}
                                    ).update(status=Delivery.Status.CANCELED,
                                             next_attempt_at=None, updated_at=timezone.now())
        if enabled:
            locked_until = now + _lease()
            Delivery.objects.filter(pk__in=[d.pk for d in enabled]).update(
                locked_until=locked_until, updated_at=timezone.now())
            for delivery in enabled:
                delivery.locked_until = locked_until
        return enabled


def _send(delivery: Delivery, now: datetime) -> PostResult:
    """Phase 2, outside any transaction."""
    endpoint, event = delivery.endpoint, delivery.event
    try:
        target = url_resolve(endpoint.url, mode=event.mode)
    except UnsafeUrlError as exc:
        return PostResult(status_code=None, body="", duration_ms=0, error=exc.message)
    body = event_body(event)
    timestamp = int(now.timestamp())
    signature = sign_all(endpoint.signing_secrets(now), event.id, timestamp, body)
    headers = delivery_headers(event_id=event.id, timestamp=timestamp, signature=signature)
    return post(target, body=body, headers=headers, timeout=settings.DURO_WEBHOOK_TIMEOUT)


def _endpoint_disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason[:200]
    endpoint.save(update_fields=["status", "disabled_reason", "updated_at"])
    after_commit(partial(merchant_notify_disabled, merchant_id=endpoint.merchant_id,
                         url=endpoint.url, reason=reason), what="endpoint disabled email")


def merchant_notify_disabled(*, merchant_id: str, url: str, reason: str) -> None:
    support_email = (Merchant.objects.using("default").filter(pk=merchant_id)
                     .values_list("support_email", flat=True).first())
    if not support_email:
        return
    try:
        send_mail(
            subject="Duro disabled one of your webhook endpoints",
            message=(f"Duro stopped sending webhooks to {url}.\n\nReason: {reason}\n\n"
                     "Fix the endpoint, then enable it again in the dashboard or with "
                     "PATCH /v1/webhook-endpoints/{id} and resend the events you missed."),
            from_email=None, recipient_list=[support_email],
        )
    except Exception as exc:  # the endpoint stays disabled and flagged in the admin
        logger.warning("webhooks: could not email the merchant", extra={"error": repr(exc)})


def _ok(result: PostResult) -> bool:
    return result.status_code is not None and 200 <= result.status_code < 300


def _succeeded(delivery: Delivery, result: PostResult) -> None:
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    delivery.locked_until = None
    delivery.status = Delivery.Status.SUCCEEDED
    delivery.next_attempt_at = None


def _failed(delivery: Delivery, endpoint: WebhookEndpoint, result: PostResult, now: datetime,
            rand: float) -> timedelta | None:
    """Schedule the next attempt or give up, flagging (or disabling) the locked endpoint;
    the delay before the next attempt, None when there is none."""
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    delivery.locked_until = None
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since", "updated_at"])
    delay = retry_delay(delivery.attempt_count, rand)
    if result.status_code == 410:
        delay = None
        if endpoint.status == WebhookEndpoint.Status.ENABLED:
            _endpoint_disable(endpoint, "The endpoint answered 410 Gone.")
    elif (endpoint.status == WebhookEndpoint.Status.ENABLED
          and now - endpoint.failing_since >= FAILING_DISABLE_AFTER):
        delay = None
        _endpoint_disable(endpoint, f"Every delivery failed since "
                          f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (3 days).")
    if delay is None:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + delay
    return delay


RECORDED_FIELDS = ["attempt_count", "last_status_code", "locked_until", "status",
                   "next_attempt_at", "updated_at"]


Sent = tuple[Delivery, PostResult, datetime]  # a delivery, what came back, when it was sent


def _record(sent: list[Sent], rand: Callable[[], float]
            ) -> list[tuple[Delivery, timedelta | None]]:
    """Phase 3, one transaction for the batch: re-read the rows under lock, keep every
    attempt and decide each delivery from its row. Rows are locked in one order
    (deliveries by id, then endpoints by id) so that two batches never wait on each
    other in a cycle.
    """
    with atomic():
        rows = {d.pk: d for d in Delivery.objects.select_for_update()
                .filter(pk__in=[d.pk for d, _, _ in sent]).order_by("pk")}
        sent = [(rows[d.pk], r, at) for d, r, at in sent if d.pk in rows]  # not deleted since
        DeliveryAttempt.objects.bulk_create([
            DeliveryAttempt(delivery_id=d.pk, attempted_at=at, status_code=r.status_code,
                            duration_ms=r.duration_ms, response_body=r.body[:1024],
                            error=r.error or ("" if _ok(r) else f"HTTP {r.status_code}"))
            for d, r, at in sent])
        by_endpoint: dict[str, list[Sent]] = {}
        for delivery, result, at in sent:
            by_endpoint.setdefault(delivery.endpoint_id, []).append((delivery, result, at))
        outcomes: list[tuple[Delivery, timedelta | None]] = []
        for endpoint_id in sorted(by_endpoint):
            group = by_endpoint[endpoint_id]
            if all(_ok(result) for _, result, _ in group):
                # No lock on the endpoint on the happy path: its deliveries run in parallel.
                WebhookEndpoint.objects.filter(
                    pk=endpoint_id, failing_since__isnull=False
                ).update(failing_since=None, updated_at=group[-1][2])
                for delivery, result, _ in group:
                    _succeeded(delivery, result)
                    outcomes.append((delivery, None))
                continue
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
            for delivery, result, at in group:  # in the order they were sent
                if not _ok(result):
                    outcomes.append((delivery, _failed(delivery, endpoint, result, at, rand())))
                    continue
                _succeeded(delivery, result)
                outcomes.append((delivery, None))
                if endpoint.failing_since is not None:
                    endpoint.failing_since = None
                    endpoint.save(update_fields=["failing_since", "updated_at"])
        for delivery, _ in outcomes:
            delivery.updated_at = timezone.now()  # what auto_now would write on save()
        update_rows(Delivery, [d for d, _ in outcomes], RECORDED_FIELDS)
    return outcomes


def deliveries_attempt(*, delivery_ids: Sequence[str], top_up: int = 0,
                       now: datetime | None = None,
                       rand: Callable[[], float] = random.random) -> list[Delivery]:
    """Claim, send and record one attempt of each claimable delivery (see
    :func:`deliveries_claim` for ``top_up``); returns the deliveries attempted.

    Every send starts while its lease still covers a whole attempt; what the
    lease can no longer cover is released and queued again, never sent late.
    """
    now = now or timezone.now()
    claimed = deliveries_claim(delivery_ids=delivery_ids, now=now, top_up=top_up)
    if not claimed:
        return []
    started = time.monotonic()
    budget = settings.DURO_WEBHOOK_LEASE_SECONDS - settings.DURO_WEBHOOK_TIMEOUT
    sent: list[Sent] = []
    for delivery in claimed:
        elapsed = time.monotonic() - started
        if sent and elapsed > budget:
            break
        # The batch's clock starts at ``now``; later sends are signed with their own time.
        at = now + timedelta(seconds=elapsed) if sent else now
        sent.append((delivery, _send(delivery, at), at))
    mode = current_mode()
    unsent = [d.pk for d in claimed[len(sent):]]
    if unsent:
        with atomic():
            Delivery.objects.filter(pk__in=unsent).update(locked_until=None, enqueued_at=now)
            after_commit(partial(deliveries_enqueue, ids=unsent, mode=mode), what="deliveries")
    outcomes = _record(sent, rand)
    for delivery, delay in outcomes:
        if delay is not None and delay <= timedelta(seconds=settings.DURO_WEBHOOK_MAX_COUNTDOWN):
            # Short retries (5 s, 5 min) go straight back with a countdown far below the
            # broker's visibility timeout; longer ones wait for the sweep.
            Delivery.objects.filter(pk=delivery.pk).update(enqueued_at=now)
            deliveries_enqueue(ids=[delivery.pk], mode=mode, countdown=delay.total_seconds())
    return [d for d, _ in outcomes]


def delivery_attempt(*, delivery_id: str, now: datetime | None = None,
                     rand: float | None = None) -> Delivery | None:
    """One delivery only: claim, send and record; None when it was not claimable."""
    fixed = rand
    done = deliveries_attempt(delivery_ids=[delivery_id], now=now,
                              rand=random.random if fixed is None else lambda: fixed)
    return done[0] if done else None


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Re-queue due deliveries that are not leased and were not queued within a lease."""
    now = now or timezone.now()
    mode = current_mode()
    stale = now - _lease()
    with atomic():
        ids = list(
            claimable(Delivery.objects.filter(_claimable(now))
                      .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale)))
            .order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
            after_commit(partial(deliveries_enqueue, ids=ids, mode=mode), what="deliveries")
    return len(ids)

