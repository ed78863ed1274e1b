"""Plan changes (API.md §13): preview, then change now or at the period's end.

    preview = change_preview_of(merchant_id=m, subscription_id="sub_…", plan_id="plan_…",
                                at=None, now=now)
    sub = subscription_change(merchant_id=m, subscription_id="sub_…", plan_id="plan_…",
                              at=None, now=now)

The arithmetic is :mod:`billing.proration`'s; this module decides and records. In test
mode the subscription's clock is "now".

- **At the period's end** (a downgrade's default): ``pending_plan`` waits; the renewal
  engine switches the terms when it opens the next period's invoice
  (:func:`pending_plan_switch`), with a new anchor at the period's end for another cycle.
- **Now, nothing due** (a downgrade asked for now, or another cycle whose credit covers
  the new price): the terms switch at once and the credit is kept on the subscription
  (``credit_balance``), which the next invoices take off (:mod:`billing.pricing`), never
  refunded.
- **Now, something due**: three phases, as every charge (``checkout.pay``'s): *claim* — a
  ``proration`` invoice and its attempt, under the subscription's lock; a second change
  while one is being charged is refused (409), so two changes never charge twice;
  *charge* — the saved card's authorization, outside any transaction; *settle* —
  :func:`billing.payments.payments_settle`, which switches the terms only if the charge
  succeeded (:func:`proration_switch`) and voids the invoice on a decline, leaving the old
  plan in force. Events: ``subscription_updated`` (the subscription, its ``planId``,
  ``pendingPlanId`` and ``previousPlanId``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.attempts import attempt_open
from billing.invoices import invoice_create
from billing.models import Invoice, PaymentAttempt, Plan, Subscription
from billing.pauses import locked_subscription
from billing.payments import Outcome, payments_settle
from billing.plan_switch import plan_updated, terms_switch
from billing.pricing import invoice_price
from billing.proration import AT_CHOICES, ChangePreview, change_preview
from billing.rails import ChargeResult, RailError, get_rail
from duro.db import atomic
from duro.errors import Conflict, Invalid, NotFound, PaymentRefused
from duro.modes import current_mode
from duro.tax import tax_details
from duro.timestamps import iso

logger = logging.getLogger(__name__)
S = Subscription.Status
A = PaymentAttempt.Status
CHANGEABLE = (S.ACTIVE, S.TRIALING)
STUCK_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Change:
    sub: Subscription
    plan: Plan
    preview: ChangePreview
    now: datetime


def _plan(merchant_id: str, plan_id: str, sub: Subscription) -> Plan:
    plan = Plan.objects.filter(merchant_id=merchant_id, pk=plan_id).first()
    if plan is None:
        raise NotFound(f"No such plan: {plan_id!r}.", param="planId")
    if not plan.active:
        raise Invalid("This plan is archived: choose an active plan.", code="plan_inactive",
                      param="planId")
    if plan.currency != sub.currency:
        raise Invalid(f"The plan is in {plan.currency}; this subscription pays in "
                      f"{sub.currency}.", code="currency_mismatch", param="planId")
    if plan.pk == sub.plan_id and not sub.pending_plan_id:
        raise Invalid("The subscription is on this plan already.", code="same_plan",
                      param="planId")
    return plan


def _change(sub: Subscription, plan: Plan, at: str | None, now: datetime) -> Change:
    if sub.status not in CHANGEABLE:
        hints: dict[str, str] = {
            S.PAST_DUE: "pay its open invoice first",
            S.NON_RENEWING: "it ends at the period's end (undo the cancel first)",
            S.PAUSED: "resume it first"}
        hint = hints.get(str(sub.status), "it has ended")
        raise Conflict(f"This subscription's plan cannot change now: {hint}.",
                       code="subscription_not_changeable")
    if at is not None and at not in AT_CHOICES:
        raise Invalid('"at" is "now" or "period_end".', param="at")
    moment = sub.clock or now
    if moment >= sub.current_period_end:
        # The period is over and its renewal not yet recorded: a change now would be
        # priced on a period that has ended, and race the renewal's charge.
        raise Conflict("This subscription's renewal is due now; change its plan once it has "
                       "renewed (in a minute).", code="renewal_in_progress")
    trialing = sub.status == S.TRIALING
    preview = change_preview(
        period_start=sub.current_period_start, period_end=sub.current_period_end,
        # a trial paid nothing: no credit, no charge; the trial's end bills the new plan
        old_amount=0 if trialing else sub.amount, old_interval=sub.interval,
        old_interval_count=sub.interval_count, new_amount=0 if trialing else plan.amount,
        new_interval=plan.interval, new_interval_count=plan.interval_count,
        changed_at=max(moment, sub.current_period_start),
        tz=sub.time_zone, at=at)  # type: ignore[arg-type]
    return Change(sub=sub, plan=plan, preview=preview, now=moment)


def change_preview_of(*, merchant_id: str, subscription_id: str, plan_id: str,
                      at: str | None, now: datetime) -> Change:
    """What ``subscription_change`` would do, changing nothing."""
    sub = Subscription.objects.filter(merchant_id=merchant_id, pk=subscription_id).first()
    if sub is None:
        raise NotFound(f"No such subscription: {subscription_id!r}.", param="id")
    return _change(sub, _plan(merchant_id, plan_id, sub), at, now)


def preview_payload(change: Change) -> dict:
    """The preview's amounts are before VAT; with a merchant VAT rate, ``vatDueNow`` is
    what the charge now adds (rounded half-up, as the invoice will)."""
    p = change.preview
    vat_rate = tax_details(change.sub.merchant_id).vat_rate
    vat = invoice_price(p.amount_due_now, vat_rate=vat_rate).vat
    return {"amountDueNow": p.amount_due_now + vat, "vatDueNow": vat,
            "currency": change.sub.currency,
            "credit": p.credit, "charge": p.charge,
            "nextInvoiceAmount": p.next_invoice_amount, "effectiveAt": iso(p.effective_at),
            "at": p.at, "direction": p.direction, "planId": change.plan.pk,
            "anchorChanges": p.anchor_changes}


def subscription_change(*, merchant_id: str, subscription_id: str, plan_id: str,
                        at: str | None, now: datetime) -> Subscription:
    """Change the plan as the preview says. Raises ``PaymentRefused`` when the charge now
    is declined (the old plan stays), ``Conflict`` while another change is being charged."""
    claimed = _claim(merchant_id, subscription_id, plan_id, at, now)
    if isinstance(claimed, Subscription):
        return claimed
    sub, invoice, attempt = claimed
    try:
        assert sub.card is not None
        result = get_rail(sub.card.rail).charge_authorization(
            mode=current_mode(), amount=attempt.amount, currency=attempt.currency,
            authorization=sub.card.authorization, idempotency_key=attempt.idempotency_key,
            merchant_id=merchant_id, email=sub.customer.email)
    except RailError as exc:
        result = ChargeResult(status="failed", failure_code=exc.code,
                              failure_message=exc.message)
    [settled] = payments_settle([Outcome(attempt.pk, result, invoice=invoice,
                                         subscription=sub)], now=now)
    fresh = Subscription.objects.select_related("card", "customer").get(pk=sub.pk)
    if settled.attempt.status == A.FAILED:
        raise PaymentRefused(f"The plan change's charge was declined: "
                             f"{settled.attempt.failure_message} The plan did not change.",
                             code="change_declined")
    return fresh


def _claim(merchant_id: str, subscription_id: str, plan_id: str, at: str | None,
           now: datetime) -> Subscription | tuple[Subscription, Invoice, PaymentAttempt]:
    with atomic():
        sub = locked_subscription(merchant_id=merchant_id, subscription_id=subscription_id)
        if Invoice.objects.filter(subscription=sub, purpose=Invoice.PRORATION,
                                  status=Invoice.Status.OPEN).exists():
            raise Conflict("A plan change of this subscription is being charged; try again "
                           "in a moment.", code="change_in_progress")
        change = _change(sub, _plan(merchant_id, plan_id, sub), at, now)
        p = change.preview
        if p.at == "period_end":
            previous = sub.pending_plan_id
            sub.pending_plan = change.plan if change.plan.pk != sub.plan_id else None
            sub.save(update_fields=["pending_plan"])
            if previous != sub.pending_plan_id:
                plan_updated(sub, previous_plan_id=sub.plan_id)
            return sub
        if p.amount_due_now == 0:
            previous = sub.plan_id
            terms_switch(sub, change.plan, _terms(change))
            plan_updated(sub, previous_plan_id=previous)
            return sub
        if sub.card is None or not sub.card.authorization:
            raise PaymentRefused("This change costs money now and the subscription has no "
                                 "saved card to charge: the customer updates it in the "
                                 "portal first.", code="no_saved_card")
        vat_rate = tax_details(merchant_id).vat_rate  # VAT on top, as on every invoice
        price = invoice_price(p.amount_due_now, vat_rate=vat_rate)
        invoice = invoice_create(
            merchant_id=merchant_id, customer=sub.customer, subscription=sub,
            amount=price.total, currency=sub.currency, price=price, vat_rate=vat_rate,
            description=f"Change to {change.plan.name} (prorated)")
        invoice.purpose, invoice.change = Invoice.PRORATION, _terms(change)
        invoice.metadata = sub.metadata
        invoice.save(update_fields=["purpose", "change", "metadata"])
        attempt = attempt_open(merchant_id=merchant_id, customer=sub.customer,
                               invoice=invoice, rail=sub.card.rail, amount=invoice.amount,
                               currency=invoice.currency, idempotency_key=invoice.pk,
                               card=sub.card)
    return sub, invoice, attempt


def _terms(change: Change) -> dict:
    """What the subscription becomes, kept on the proration invoice until it is paid."""
    p = change.preview
    return {"planId": change.plan.pk, "fromPlanId": change.sub.plan_id,
            "anchorChanges": p.anchor_changes,
            "periodStart": iso(p.new_period_start), "periodEnd": iso(p.new_period_end),
            "carriedCredit": p.carried_credit}


def changes_recover(*, now: datetime) -> int:
    """Settle proration charges a crash left ``processing`` (asking the rail)."""
    stuck = (PaymentAttempt.objects.filter(status=A.PROCESSING,
                                           invoice__purpose=Invoice.PRORATION,
                                           updated_at__lt=now - STUCK_AFTER)
             .values_list("id", "rail", "merchant_id", "idempotency_key"))
    settled = 0
    for attempt_id, rail_id, merchant_id, key in stuck:
        result = get_rail(rail_id).lookup(mode=current_mode(), idempotency_key=key, now=now,
                                          merchant_id=merchant_id)
        if result is None:
            result = ChargeResult(status="failed", failure_code="interrupted",
                                  failure_message="The charge was interrupted; nothing was "
                                                  "charged.")
        elif result.status == "processing":
            continue
        payments_settle([Outcome(attempt_id, result)], now=now)
        settled += 1
    return settled
