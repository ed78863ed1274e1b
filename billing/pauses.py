"""Pausing a subscription, and the end of a pause (API.md §13).

    subscription_pause(merchant_id=m, subscription_id="sub_…", resumes_at=None, now=now)
    pause_end(sub, at=when)            # caller's transaction, row locked: by call or by date
    pauses_end_due(now=now)            # the renewal engine's first step: pauses whose date came

A pause takes effect at once (at the subscription's test clock, when it has one): status
``paused``, nothing credited for the paid time left, nothing charged and no dunning while
it lasts — the renewal engine never claims a paused subscription; its ``next_attempt_at``
is its ``resumes_at`` (or none), when :func:`pauses_end_due` ends it. A ``past_due``
subscription's open renewal invoice is voided (its retries stop; the unpaid period is
forgiven, as a cancel now does): a resume bills a new period from the resume, never the
old one, and money that still arrives on the void invoice (a transfer) is refunded by
:mod:`billing.payments`. A pause waits for a renewal charge in flight: it is refused
(``Conflict``, ``renewal_in_progress``) until the rail has answered, so a subscription is
either renewed then paused, or paused with nothing charged.

Ending a pause (:func:`pause_end`, reached by ``billing.subscriptions.subscription_resume``
or by the engine at ``resumes_at``) starts a new period at once on a new anchor
(:func:`billing.periods.period_restart`) and makes it due now; the renewal engine charges
it like any renewal (the saved card, or the invoice's link without one), with dunning when
it fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.models import Invoice, PaymentAttempt, Subscription
from billing.payloads import renewal_payload
from billing.periods import period_restart
from duro.db import atomic, claimable
from duro.errors import Conflict, Invalid, NotFound
from duro.timestamps import iso
from webhooks.events import event_emit

S = Subscription.Status
PAUSABLE = (S.TRIALING, S.ACTIVE, S.PAST_DUE)
MAX_PAUSE = timedelta(days=5 * 366)  # a resumesAt further than this is refused


def locked_subscription(*, merchant_id: str, subscription_id: str) -> Subscription:
    """The merchant's subscription, locked for this transaction (``NotFound`` otherwise)."""
    sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer", "card")
           .filter(merchant_id=merchant_id, pk=subscription_id).first())
    if sub is None:
        raise NotFound(f"No such subscription: {subscription_id!r}.", param="id")
    return sub


def subscription_pause(*, merchant_id: str, subscription_id: str,
                       resumes_at: datetime | None, now: datetime) -> Subscription:
    """Pause now (the test clock's now); resume by itself at ``resumes_at`` when given.

    Raises ``Conflict`` for a subscription that is not ``trialing``, ``active`` or
    ``past_due`` (code ``subscription_not_pausable``; a ``non_renewing`` one ends at its
    period end: undo the cancel first) and while a renewal charge is in flight
    (``renewal_in_progress``); ``Invalid`` for a ``resumes_at`` not in the future or more
    than five years ahead (``param="resumesAt"``)."""
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        at = sub.clock or now
        if sub.status not in PAUSABLE:
            raise Conflict(_not_pausable(sub), code="subscription_not_pausable", param="id")
        if resumes_at is not None and not at < resumes_at <= at + MAX_PAUSE:
            raise Invalid(f"'resumesAt' must be after {iso(at)} and at most five years ahead.",
                          code="invalid_resumes_at", param="resumesAt")
        if PaymentAttempt.objects.filter(
                invoice__subscription=sub, invoice__status=Invoice.Status.OPEN,
                status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.PROCESSING],
        ).exclude(idempotency_key="").exists():  # the engine's, not a payer's own try
            raise Conflict("A renewal charge of this subscription is in progress; pause it "
                           "again in a minute.", code="renewal_in_progress")
        Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN, purpose="").update(
            status=Invoice.Status.VOID)
        sub.status, sub.paused_at, sub.resumes_at = S.PAUSED, at, resumes_at
        sub.next_attempt_at, sub.dunning_attempts = resumes_at, 0
        sub.save(update_fields=["status", "paused_at", "resumes_at", "next_attempt_at",
                                "dunning_attempts"])
        event_emit(merchant_id=merchant_id, type="subscription_paused",
                   data=renewal_payload(subscription=sub))
    return sub


def _not_pausable(sub: Subscription) -> str:
    if sub.status == S.PAUSED:
        return "This subscription is paused already."
    if sub.status == S.NON_RENEWING:
        return ("This subscription ends at the end of its period and cannot be paused; "
                "undo the cancel first.")
    return f"A {sub.status} subscription cannot be paused."


def pause_end(sub: Subscription, *, at: datetime) -> None:
    """End the pause of a locked, ``paused`` subscription at ``at`` (caller's transaction):
    a new period starts, due now for the renewal engine; event ``subscription_resumed``."""
    period_restart(sub, at=at)
    sub.save(update_fields=["status", "anchor", "period_index", "current_period_start",
                            "current_period_end", "next_attempt_at", "dunning_attempts",
                            "paused_at", "resumes_at"])
    event_emit(merchant_id=sub.merchant_id, type="subscription_resumed",
               data=renewal_payload(subscription=sub))


def pauses_end_due(*, now: datetime, batch: int, subscription_id: str | None = None) -> int:
    """End every pause whose ``resumesAt`` has come (in the current mode), each at its own
    ``resumesAt``, ``batch`` per transaction; returns how many. Like the engine,
    subscriptions on a test clock are left to their clock unless ``subscription_id`` names
    one."""
    ended = 0
    while True:
        with atomic():
            due = Subscription.objects.filter(status=S.PAUSED, next_attempt_at__lte=now)
            due = (due.filter(pk=subscription_id) if subscription_id
                   else due.filter(clock__isnull=True))
            subs = list(claimable(due.order_by("next_attempt_at", "id"))
                        .select_related("customer", "card")[:batch])
            for sub in subs:
                pause_end(sub, at=sub.resumes_at or now)
        ended += len(subs)
        if len(subs) < batch:
            return ended
