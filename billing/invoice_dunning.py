"""Renewals that cannot be charged: ask the customer to pay the invoice on its hosted page.

A subscription first paid on a rail with no reusable authorization (a bank
transfer, USSD, mobile money) has no card to charge. When it is due, the
renewal engine (:mod:`billing.renewals`, in its claim transaction, with the
subscriptions locked) hands it here instead of to a rail::

    events = invoice_renewals_step(subs, resumed=resumed, now=now)

At the renewal the invoice is opened with a hosted link (``/invoice/in_test_…``)
and the link is emailed; the period it paid for has ended unpaid, so the
subscription takes the dunning schedule's first step exactly as a declined
card would (:func:`billing.periods.dunning_step`: ``past_due``, event
``subscription_payment_failed``). Each later step emails a reminder instead of
a charge; when the schedule is spent the subscription is ``canceled`` and the
invoice ``void`` (nothing was ever taken). Paying on the page goes through
:func:`billing.payments.payments_settle` like any invoice payment: the invoice
is paid and the period advanced. No charge is attempted here, and no payment
attempt is recorded.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.utils import timezone

from billing.invoice_links import invoice_link_open
from billing.invoice_notices import notice_enqueue
from billing.invoices import renewal_invoices_open
from billing.models import Invoice, Subscription
from billing.periods import dunning_step
from billing.selectors import dunning_days_for
from duro.db import after_commit, update_rows
from duro.models import Merchant
from duro.modes import current_mode

INVOICE_FIELDS = ["status", "hosted_token", "merchant_name", "notice_status", "notice_step",
                  "notice_at"]


def needs_invoice_page(sub: Subscription) -> bool:
    """No reusable authorization to charge: the customer is asked to pay the invoice."""
    return sub.card is None or not sub.card.authorization


def invoice_renewals_step(subs: list[Subscription], *, resumed: set[str], now: datetime,
                          lease_until: datetime) -> list[tuple[str, Subscription, Invoice]]:
    """One dunning step of each subscription (caller's transaction, rows locked): open or
    reuse the invoice, schedule its link or reminder email, move the subscription along the
    schedule. Returns the events to emit (type, subscription, invoice); the caller writes
    the subscriptions."""
    if not subs:
        return []
    invoices = renewal_invoices_open(subs, resumed=resumed)
    policies = dunning_days_for({s.merchant_id for s in subs})
    names = dict(Merchant.objects.filter(pk__in={s.merchant_id for s in subs})
                 .values_list("id", "name"))
    events: list[tuple[str, Subscription, Invoice]] = []
    changed: list[Invoice] = []
    for sub in subs:
        invoice = invoices.get(sub.pk)
        if invoice is None:  # invoiced by another runner meanwhile: it owns this step
            sub.next_attempt_at = lease_until
            continue
        invoice_link_open(invoice, merchant_name=names.get(sub.merchant_id, ""))
        events.append(("subscription_payment_failed", sub, invoice))
        if dunning_step(sub, invoice, now=now, days=policies[sub.merchant_id]):
            # Nothing was ever taken for it: the invoice is void, not uncollectible.
            invoice.status = Invoice.Status.VOID
            invoice.notice_status = "" if invoice.notice_status == "pending" else (
                invoice.notice_status)
            events.append(("subscription_canceled", sub, invoice))
        else:
            # Wall-clock time, not ``now`` (a test clock's): the sweep measures lost sends.
            invoice.notice_status, invoice.notice_at = "pending", timezone.now()
            invoice.notice_step = sub.dunning_attempts - 1  # 0: the link, n: n-th reminder
            after_commit(partial(notice_enqueue, current_mode(), invoice.pk),
                         what="invoice email")
        changed.append(invoice)
    update_rows(Invoice, changed, INVOICE_FIELDS)
    return events
