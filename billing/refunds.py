"""Refunds: billing's second money path, giving back (part of) a succeeded payment.

Like a charge, a refund runs in phases, so that no money moves inside a
transaction and a crash between them is recoverable:

1. *open* (one transaction): lock the payment, re-read what its ``pending`` and
   ``succeeded`` refunds already took, refuse more than is left (a 400 naming
   ``amount``), and record a ``pending`` :class:`~billing.models.Refund`.
2. *ask the rail* (no transaction): ``rail.refund(…, idempotency_key=refund.id)``;
   asked twice, the rail refunds once and answers with its first outcome.
3. *settle* (one transaction): lock invoice → payment → refund, mark the refund
   ``succeeded`` or ``failed``, recompute ``amount_refunded`` of the payment and its
   invoice from the rows, and write ``refund_succeeded`` / ``refund_failed`` (outbox)::

    refund = refund_create(merchant_id=m, payment_id="pay_…", amount=50_000)    # all three
    refund_open_automatic(payment=p, reason="subscription_canceled", metadata={})  # phase 1
    refunds_recover(now=now)      # beat: refunds a crash or a lost task left pending

Money Duro cannot apply (API.md §9) is refunded in full automatically:
:mod:`billing.payments` opens the refund in its settling transaction with
:func:`refund_open_automatic`; the rail is asked after commit by the
``billing.refund_execute`` task, or by :func:`refunds_recover` if that task was lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db.models import QuerySet, Sum
from django.utils import timezone

from billing.models import Invoice, PaymentAttempt, Refund
from billing.payloads import invoice_payload, payment_payload, payment_status, refund_payload
from billing.rails import RailError, RefundResult, get_rail
from duro.db import after_commit, atomic
from duro.errors import Conflict, Invalid
from duro.modes import current_mode
from webhooks.events import event_emit

logger = logging.getLogger(__name__)

R = Refund.Status
TAKEN = (R.PENDING, R.SUCCEEDED)  # what counts against the amount left to refund
STUCK_AFTER = timedelta(minutes=2)


def _sum(refunds: QuerySet[Refund]) -> int:
    return refunds.aggregate(total=Sum("amount"))["total"] or 0


def _left(payment: PaymentAttempt) -> int:
    """What is left to refund, read inside the transaction that holds the payment's lock."""
    return payment.amount - _sum(Refund.objects.filter(payment=payment, status__in=TAKEN))


def refund_left(payment: PaymentAttempt) -> int:
    """What is left to refund on a succeeded payment, as it stands now (to show; the
    refund itself re-reads it under the payment's lock)."""
    if payment.status != PaymentAttempt.Status.SUCCEEDED:
        return 0
    return max(_left(payment), 0)


def _open(payment: PaymentAttempt, amount: int, reason: str, metadata: dict) -> Refund:
    return Refund.objects.create(merchant_id=payment.merchant_id, payment=payment,
                                 amount=amount, currency=payment.currency, reason=reason,
                                 metadata=metadata)


# --- phase 1: open ---------------------------------------------------------------------

def refund_open(*, merchant_id: str, payment_id: str, amount: int | None = None,
                reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
                metadata: dict | None = None, expected_left: int | None = None) -> Refund:
    """A ``pending`` refund of ``amount`` (default: all that is left) of a succeeded payment.

    Raises ``Invalid`` (no such payment of this merchant, not succeeded, or more than is
    left) or ``Conflict`` (``expected_left`` — what a person confirmed against — is no
    longer what is left: another refund went through meanwhile, or a double click);
    nothing is recorded then."""
    with atomic():
        payment = (PaymentAttempt.objects.select_for_update()
                   .filter(merchant_id=merchant_id, pk=payment_id).first())
        if payment is None:
            raise Invalid(f"No such payment: {payment_id!r}.", code="resource_missing",
                          param="payment_id")
        if payment.status != PaymentAttempt.Status.SUCCEEDED:
            raise Invalid(f"Only a succeeded payment can be refunded; this one is "
                          f"{payment_status(payment)}.", code="payment_not_refundable",
                          param="payment_id")
        left = _left(payment)
        if expected_left is not None and left != expected_left:
            raise Conflict("This payment was refunded meanwhile; check what is left and "
                           "confirm again.", code="refund_changed", param="amount")
        if left <= 0:
            raise Invalid("Nothing is left to refund on this payment.",
                          code="payment_fully_refunded", param="amount")
        if amount is None:
            amount = left
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise Invalid("amount must be a positive integer in minor units.", param="amount")
        if amount > left:
            raise Invalid(f"amount is more than is left to refund on this payment ({left}).",
                          code="refund_exceeds_payment", param="amount")
        return _open(payment, amount, reason, metadata or {})


def refund_open_automatic(*, payment: PaymentAttempt, reason: str, metadata: dict,
                          amount: int | None = None) -> Refund | None:
    """A refund of money Duro cannot apply (all that is left, or ``amount`` of it: an
    overpayment's excess), opened in the caller's transaction (which holds the payment's
    lock); the rail is asked after commit. None: nothing to give back (a ₦0 card
    authorisation)."""
    left = _left(payment)
    amount = left if amount is None else min(amount, left)
    if amount <= 0:
        return None
    refund = _open(payment, amount, reason, metadata)
    logger.info("automatic refund opened", extra={"refund": refund.pk, "payment": payment.pk,
                                                  "reason": reason})
    after_commit(partial(refund_enqueue, current_mode(), refund.pk), what="refund")
    return refund


def refund_enqueue(mode: str, refund_id: str) -> None:
    """Queue phases 2–3 of a refund (called after commit); a lost message is the sweep's."""
    from billing.tasks import refund_execute_task  # tasks import the services, not the reverse

    refund_execute_task.apply_async(args=(mode, refund_id), retry=False)


# --- phases 2 and 3 ----------------------------------------------------------------------

def refund_create(*, merchant_id: str, payment_id: str, amount: int | None = None,
                  reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
                  metadata: dict | None = None, expected_left: int | None = None) -> Refund:
    """Open, ask the rail and settle: the refund as the rail left it (``succeeded``,
    ``failed``, or ``pending`` when the rail answers later)."""
    refund = refund_open(merchant_id=merchant_id, payment_id=payment_id, amount=amount,
                         reason=reason, metadata=metadata, expected_left=expected_left)
    return refund_execute(refund_id=refund.pk)


def refund_execute(*, refund_id: str, lookup_first: bool = False) -> Refund:
    """Ask the rail for a pending refund (no transaction held), then settle its answer.

    ``lookup_first`` (the recovery sweep): ask what became of an earlier request first."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != R.PENDING:
        return refund
    payment = refund.payment
    try:
        rail = get_rail(payment.rail)
        result = rail.refund_lookup(mode=current_mode(), idempotency_key=refund.pk,
                                    merchant_id=payment.merchant_id) if lookup_first else None
        if result is None:
            result = rail.refund(mode=current_mode(), charge_key=payment.rail_key,
                                 charge_reference=payment.rail_reference, amount=refund.amount,
                                 currency=refund.currency, idempotency_key=refund.pk,
                                 merchant_id=payment.merchant_id)
    except RailError as exc:  # the rail cannot act at all: the refund fails, and says why
        result = RefundResult(status="failed", failure_code=exc.code,
                              failure_message=exc.message)
    return refund_settle(refund_id=refund.pk, result=result)


def refund_settle(*, refund_id: str, result: RefundResult) -> Refund:
    """Apply the rail's answer once, decided from the rows re-read under lock."""
    with atomic():
        invoice_id, payment_id = (Refund.objects.filter(pk=refund_id)
                                  .values_list("payment__invoice_id", "payment_id").get())
        # Lock order: invoice → payment → refund, as billing.payments locks invoice → attempt.
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id) if invoice_id else None
        payment = PaymentAttempt.objects.select_for_update().get(pk=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != R.PENDING or result.status not in (R.SUCCEEDED, R.FAILED):
            return refund  # settled before, or the rail answers later (the sweep asks again)
        refund.status = result.status
        refund.rail_reference = result.reference[:120]
        if refund.status == R.FAILED:
            refund.failure_code = (result.failure_code or "refund_failed")[:40]
            refund.failure_message = (result.failure_message or "The refund failed.")[:300]
            logger.warning("refund failed", extra={"refund": refund.pk, "payment": payment.pk,
                                                   "reason": refund.reason,
                                                   "code": refund.failure_code})
        refund.save()
        if refund.status == R.SUCCEEDED:
            succeeded = Refund.objects.filter(status=R.SUCCEEDED)
            payment.amount_refunded = _sum(succeeded.filter(payment=payment))
            payment.save(update_fields=["amount_refunded", "updated_at"])
            if invoice is not None:
                invoice.amount_refunded = _sum(succeeded.filter(payment__invoice=invoice))
                invoice.save(update_fields=["amount_refunded"])
        event_emit(merchant_id=refund.merchant_id, type=f"refund_{refund.status}", data={
            "refund": refund_payload(refund), "payment": payment_payload(payment),
            "invoice": invoice_payload(invoice) if invoice is not None else None,
            # As on every event, what the merchant attached to the purchase; the refund's
            # own metadata is in data.refund.metadata. A payment with no invoice (a duplicate
            # of a completed checkout) was refunded automatically with the session's.
            "metadata": invoice.metadata if invoice is not None else refund.metadata})
    return refund


def refunds_recover(*, now: datetime | None = None, limit: int = 500) -> int:
    """Settle refunds left ``pending`` by a crash or a lost task, asking the rail by key."""
    now = now or timezone.now()
    stuck = list(Refund.objects.filter(status=R.PENDING, updated_at__lt=now - STUCK_AFTER)
                 .order_by("updated_at").values_list("id", flat=True)[:limit])
    settled = 0
    for refund_id in stuck:
        if refund_execute(refund_id=refund_id, lookup_first=True).status != R.PENDING:
            settled += 1
    return settled
