"""Delivering one event to one endpoint, retrying on schedule, and the sweep.

A delivery runs in three atomic phases so that no transaction is held open
during the HTTP call:

1. **claim** — lock the row (``select_for_update``, ``skip_locked`` where the
   database has it), check it is pending, due and not leased, and take a
   lease (``locked_until``);
2. **send** — resolve and re-check the URL (SSRF guard), sign the exact
   bytes, POST them (no redirects, hard timeout);
3. **record** — write the :class:`DeliveryAttempt`, then succeed, schedule
   the next retry (``next_attempt_at``) or give up; a ``410`` or three days
   of failures disable the endpoint and tell the merchant by email.

:func:`deliveries_sweep` re-queues every due, unleased delivery: the
database, not the broker, is the source of truth. Every function takes
``now`` so that tests move time instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from duro.db import after_commit, atomic, claimable
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


def delivery_claim(*, delivery_id: str, now: datetime) -> Delivery | None:
    """Phase 1: lease the delivery if it is pending, due and not in flight."""
    with atomic():
        delivery = (claimable(Delivery.objects.select_related("event", "endpoint"))
                    .filter(_claimable(now), pk=delivery_id).first())
        if delivery is None:
            return None
        if delivery.endpoint.status != WebhookEndpoint.Status.ENABLED:
            delivery.status = Delivery.Status.CANCELED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
            return None
        delivery.locked_until = now + _lease()
        delivery.save(update_fields=["locked_until", "updated_at"])
        return delivery


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


def _record(delivery: Delivery, result: PostResult, now: datetime,
            rand: float) -> tuple[Delivery, timedelta | None]:
    """Phase 3: keep the attempt and decide what comes next."""
    ok = result.status_code is not None and 200 <= result.status_code < 300
    with atomic():
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, attempted_at=now, status_code=result.status_code,
            duration_ms=result.duration_ms, response_body=result.body[:1024],
            error=result.error or ("" if ok else f"HTTP {result.status_code}"),
        )
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempt_count += 1
        delivery.last_status_code = result.status_code
        delivery.locked_until = None
        delay = None
        if ok:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            # No lock on the endpoint on the happy path: its deliveries run in parallel.
            WebhookEndpoint.objects.filter(
                pk=delivery.endpoint_id, failing_since__isnull=False
            ).update(failing_since=None, updated_at=now)
        else:
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
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
        delivery.save()
    return delivery, delay


def delivery_attempt(*, delivery_id: str, now: datetime | None = None,
                     rand: float | None = None) -> Delivery | None:
    """Claim, send and record one attempt; None when the delivery was not claimable."""
    now = now or timezone.now()
    delivery = delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return None
    result = _send(delivery, now)
    delivery, delay = _record(delivery, result, now, random.random() if rand is None else rand)
    if delay is not None and delay <= timedelta(seconds=settings.DURO_WEBHOOK_MAX_COUNTDOWN):
        # Short retries (5 s, 5 min) go straight back with a countdown far below the
        # broker's visibility timeout; longer ones wait for the sweep.
        mode = current_mode()
        Delivery.objects.filter(pk=delivery.pk).update(enqueued_at=now)
        deliveries_enqueue(ids=[delivery.pk], mode=mode, countdown=delay.total_seconds())
    return delivery


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

