"""The JSON shapes of billing objects (camelCase), shared by the API and event data."""

from __future__ import annotations

from datetime import datetime

from billing.models import Customer, Invoice, PaymentAttempt, Subscription


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def payment_payload(p: PaymentAttempt | None) -> dict | None:
    if p is None:
        return None
    card = None
    if p.card_last4:
        card = {"brand": p.card_brand, "last4": p.card_last4, "expMonth": p.card_exp_month,
                "expYear": p.card_exp_year}
    return {"id": p.id, "rail": p.rail, "status": p.status, "amount": p.amount,
            "currency": p.currency, "paidAt": iso(p.paid_at), "card": card,
            "failureCode": p.failure_code or None, "failureMessage": p.failure_message or None,
            "invoiceId": p.invoice_id, "customerId": p.customer_id, "createdAt": iso(p.created_at)}


def customer_payload(c: Customer | None) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "email": c.email or None, "phone": c.phone or None, "name": c.name or None,
            "blacklisted": c.blacklisted, "createdAt": iso(c.created_at),
            "cards": [{"id": card.id, "brand": card.brand, "last4": card.last4,
                       "expMonth": card.exp_month, "expYear": card.exp_year}
                      for card in c.cards.all()]}


def subscription_payload(s: Subscription | None) -> dict | None:
    if s is None:
        return None
    return {"id": s.id, "status": s.status, "planId": s.plan_id, "customerId": s.customer_id,
            "currentPeriodStart": iso(s.current_period_start),
            "currentPeriodEnd": iso(s.current_period_end), "trialEnd": iso(s.trial_end),
            "cancelAtPeriodEnd": s.cancel_at_period_end, "canceledAt": iso(s.canceled_at),
            "createdAt": iso(s.created_at)}


def invoice_payload(i: Invoice | None) -> dict | None:
    if i is None:
        return None
    return {"id": i.id, "number": i.number, "status": i.status, "amount": i.amount,
            "currency": i.currency, "periodStart": iso(i.period_start),
            "periodEnd": iso(i.period_end), "subscriptionId": i.subscription_id,
            "customerId": i.customer_id, "paidAt": iso(i.paid_at), "createdAt": iso(i.created_at)}
