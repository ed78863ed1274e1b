"""Customer emails about a subscription's billing: the outbox rows and their one send.

    notices_open([notice_payment_failed(sub, invoice, attempt)])   # caller's transaction
    customer_notice_send(notice_id="ntc_…")      # a worker: render and send it, once
    customer_action_url(subscription=sub, invoice=invoice)   # where "Pay now" goes

Whatever changes a subscription in a way its customer must hear about (a
renewal declined, a cancellation, the trial notice, a card that expires
before the next renewal) builds a :class:`~billing.models.CustomerNotice`
here and hands it to :func:`notices_open` in its own transaction: the row is
committed with the change, queued after commit, and found again by
:func:`customer_notices_due` (the sweep) if the queue lost it. The row's
unique ``key`` names the fact, so recording it twice emails it once, and the
send locks the row, so two workers never send it twice. What it says
(``facts``) is taken at the change; whether it still applies is checked when
it goes (a declined invoice paid meanwhile is not chased).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.utils import timezone

from billing.invoice_links import invoice_link_open, invoice_link_url
from billing.models import Card, CustomerNotice, Invoice, PaymentAttempt, Subscription
from billing.notice_emails import notice_deliver
from billing.portal import portal_manage_url
from billing.receipts import MAIL_ERRORS
from duro.db import after_commit, atomic
from duro.models import Merchant
from duro.modes import current_mode
from duro.timestamps import iso

logger = logging.getLogger(__name__)

K = CustomerNotice.Kind
S = Subscription.Status

# Why a subscription was cancelled, as its email explains it.
CANCELED_BY_MERCHANT = "merchant"      # the API, the dashboard, a blacklisting
CANCELED_UNPAID = "unpaid"             # dunning's last retry failed, or the invoice went unpaid
CANCELED_AT_PERIOD_END = "period_end"  # cancelled at period end, and the period ended


def customer_action_url(*, subscription: Subscription, invoice: Invoice | None) -> str | None:
    """Where an email's button sends the customer: the hosted page of the invoice to pay
    (``/invoice/{token}``, where a new card pays it and becomes the subscription's card),
    else the customer portal through its signed link (to update the card). The invoice
    must carry its hosted token (:func:`_with_hosted_link`)."""
    if invoice is not None and invoice.hosted_token:
        return invoice_link_url(invoice)
    return portal_manage_url(subscription.customer)


# --- the rows: built by the code that changes the subscription, in its transaction ------

def _card_facts(card: Card | None, attempt: PaymentAttempt | None = None) -> dict:
    """Brand and last four only: what the customer recognises their card by."""
    if attempt is not None and attempt.card_last4:
        return {"cardBrand": attempt.card_brand, "cardLast4": attempt.card_last4}
    if card is not None:
        return {"cardBrand": card.brand, "cardLast4": card.last4}
    return {}


def notice_payment_failed(sub: Subscription, invoice: Invoice,
                          attempt: PaymentAttempt) -> CustomerNotice:
    """A renewal charge declined with a retry ahead (``sub`` already moved along dunning)."""
    return CustomerNotice(
        merchant_id=sub.merchant_id, kind=K.PAYMENT_FAILED, subscription=sub, invoice=invoice,
        key=f"payment_failed:{attempt.pk}",
        facts={"amount": invoice.amount, "currency": invoice.currency,
               "reason": attempt.failure_message, "code": attempt.failure_code,
               "retryAt": iso(sub.next_attempt_at) if sub.status == S.PAST_DUE else None,
               **_card_facts(sub.card, attempt)},
    )


def notice_canceled(sub: Subscription, *, why: str, invoice: Invoice | None = None,
                    attempt: PaymentAttempt | None = None) -> CustomerNotice:
    """The subscription is cancelled (a subscription ends once: one email, whoever ends it).
    ``invoice``: the renewal left unpaid, when that is why."""
    facts: dict = {"why": why, "canceledAt": iso(sub.canceled_at),
                   "periodEnd": iso(sub.current_period_end)}
    if invoice is not None and why == CANCELED_UNPAID:
        facts.update(amount=invoice.amount, currency=invoice.currency)
    if attempt is not None and why == CANCELED_UNPAID:
        facts.update(reason=attempt.failure_message, code=attempt.failure_code)
    return CustomerNotice(merchant_id=sub.merchant_id, kind=K.SUBSCRIPTION_CANCELED,
                          subscription=sub, invoice=invoice if why == CANCELED_UNPAID else None,
                          key=f"subscription_canceled:{sub.pk}", facts=facts)


def notice_trial_ending(sub: Subscription) -> CustomerNotice:
    """The trial ends soon and the first charge follows (the engine's trial notice)."""
    return CustomerNotice(
        merchant_id=sub.merchant_id, kind=K.TRIAL_ENDING, subscription=sub,
        key=f"trial_ending:{sub.pk}",
        facts={"trialEnd": iso(sub.trial_end), "amount": sub.amount, "currency": sub.currency,
               **_card_facts(sub.card)},
    )


def notice_card_expiring(sub: Subscription, card: Card) -> CustomerNotice:
    """The saved card expires before the renewal that ends the current period."""
    return CustomerNotice(
        merchant_id=sub.merchant_id, kind=K.CARD_EXPIRING, subscription=sub,
        key=f"card_expiring:{card.pk}:{sub.pk}:{sub.period_index}",
        facts={"cardId": card.pk, "expMonth": card.exp_month, "expYear": card.exp_year,
               "renewsAt": iso(sub.current_period_end), "amount": sub.amount,
               "currency": sub.currency, **_card_facts(card)},
    )


def notices_open(notices: list[CustomerNotice]) -> None:
    """Write the rows in the caller's transaction (one insert; a fact already recorded is
    left as it is) and queue their sends after commit."""
    if not notices:
        return
    CustomerNotice.objects.bulk_create(notices, ignore_conflicts=True)
    # A row that was there already is queued again: its send finds it sent and stops.
    after_commit(partial(notices_enqueue, current_mode(), [n.pk for n in notices]),
                 what="customer email")


def notices_enqueue(mode: str, notice_ids: list[str]) -> None:
    """Queue the sends (called after commit); a broker that is down raises here, and the
    rows stay ``pending`` for :func:`customer_notices_due`."""
    from billing.tasks import send_customer_notice  # tasks import the services, not the reverse

    for notice_id in notice_ids:
        send_customer_notice.apply_async(args=(mode, notice_id), retry=False)


def customer_notices_due(*, now: datetime, older_than: timedelta,
                         limit: int = 500) -> list[str]:
    """Pending customer emails whose first send should have happened by now (the sweep)."""
    return list(CustomerNotice.objects.filter(status="pending",
                                              created_at__lte=now - older_than)
                .order_by("created_at").values_list("id", flat=True)[:limit])


# --- the send ---------------------------------------------------------------------------

def _still_applies(notice: CustomerNotice) -> bool:
    """A late send must not tell a customer something no longer true."""
    sub = notice.subscription
    if notice.kind == K.PAYMENT_FAILED:
        return notice.invoice is not None and notice.invoice.status == Invoice.Status.OPEN
    if notice.kind == K.TRIAL_ENDING:
        return sub.status == S.TRIALING
    if notice.kind == K.CARD_EXPIRING:
        return sub.status in (S.ACTIVE, S.TRIALING) and sub.card_id == notice.facts["cardId"]
    return True


def _with_hosted_link(invoice: Invoice, merchant_name: str) -> None:
    """Give the invoice its hosted page token, or take the one it has (a race with another
    writer is settled by the row: only a token-less invoice is updated)."""
    if invoice.hosted_token:
        return
    invoice_link_open(invoice, merchant_name=merchant_name)
    written = Invoice.objects.filter(pk=invoice.pk, hosted_token__isnull=True).update(
        hosted_token=invoice.hosted_token, merchant_name=invoice.merchant_name)
    if not written:
        invoice.hosted_token = (Invoice.objects.filter(pk=invoice.pk)
                                .values_list("hosted_token", flat=True).get())


def customer_notice_send(*, notice_id: str, final: bool = False) -> str:
    """Send one customer email once (mode from the context).

    The row is locked while sending, so two workers never send it; a sent, skipped or
    failed email is never sent again. A mail error is raised for the caller to retry;
    with ``final`` it is recorded as failed. Returns the row's status afterwards."""
    with atomic():
        notice = (CustomerNotice.objects.select_for_update(of=("self",))
                  .select_related("subscription__plan", "subscription__customer", "invoice")
                  .filter(pk=notice_id).first())
        if notice is None or notice.status != "pending":
            return notice.status if notice else "missing"
        notice.attempts += 1
        customer = notice.subscription.customer
        if not customer.email or not _still_applies(notice):
            notice.status = "skipped"
        else:
            merchant_name = (Merchant.objects.filter(pk=notice.merchant_id)
                             .values_list("name", flat=True).first() or "")
            if notice.kind == K.PAYMENT_FAILED and notice.invoice is not None:
                _with_hosted_link(notice.invoice, merchant_name)
            url = customer_action_url(subscription=notice.subscription, invoice=notice.invoice
                                      if notice.kind == K.PAYMENT_FAILED else None)
            try:
                notice_deliver(notice, merchant_name=merchant_name, url=url,
                               manage_url=portal_manage_url(customer))
            except MAIL_ERRORS:
                if not final:
                    raise
                notice.status = "failed"
                logger.error("customer email failed; giving up",
                             extra={"notice": notice.pk, "attempts": notice.attempts})
            else:
                notice.status, notice.sent_at = "sent", timezone.now()
        notice.save(update_fields=["status", "attempts", "sent_at"])
        return notice.status
