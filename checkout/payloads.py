"""The JSON shapes of checkout objects, shared by the verify call, hydrate and events."""

from __future__ import annotations

from django.conf import settings

from billing.models import Invoice
from billing.payloads import payment_payload
from billing.pricing import Price
from checkout.models import CheckoutSession
from checkout.pricing import session_price
from duro.money import format_amount, format_cadence
from duro.timestamps import iso


def hosted_url(session: CheckoutSession) -> str:
    return f"{settings.DURO_PUBLIC_URL}/checkout/{session.token}"


def session_payload(s: CheckoutSession) -> dict:
    """The verify call's answer (API.md §3)."""
    return {
        "id": s.id, "token": s.token, "url": hosted_url(s), "reference": s.reference,
        "status": s.effective_status, "amount": s.amount, "currency": s.currency,
        "description": s.description or None, "planId": s.plan_id,
        "successUrl": s.success_url or None, "cancelUrl": s.cancel_url or None,
        "customerEmail": s.customer_email or None, "customerPhone": s.customer_phone or None,
        "couponCode": s.coupon.code if s.coupon_id and s.coupon else None,
        "allowCoupons": s.allow_coupons,
        "metadata": s.metadata, "expiresAt": iso(s.expires_at), "createdAt": iso(s.created_at),
        "completedAt": iso(s.completed_at), "customerId": s.customer_id,
        "subscriptionId": s.subscription_id, "invoiceId": s.invoice_id,
        "payment": payment_payload(s.payment) if s.payment is not None else None,
    }


def plan_summary(s: CheckoutSession) -> dict | None:
    plan = s.plan
    if plan is None:
        return None
    return {"id": plan.id, "name": plan.name, "description": plan.description or None,
            "interval": plan.interval, "intervalCount": plan.interval_count,
            "trialDays": plan.trial_days, "cadence": format_cadence(plan.interval,
                                                                    plan.interval_count)}


def amount_label(s: CheckoutSession, *, price: Price | None = None) -> str:
    """``₦15,000.00 / month`` for a plan, ``₦15,000.00`` for a one-off amount: with the
    merchant's VAT (``price``, checkout.pricing), what is charged."""
    price = price or session_price(s)
    text = format_amount(price.total, s.currency)
    if s.plan is not None:
        text += f" / {format_cadence(s.plan.interval, s.plan.interval_count)}"
    return text


def invoice_amount_label(invoice: Invoice) -> str:
    """``₦15,000.00 / month`` for a subscription's invoice, ``₦15,000.00`` otherwise."""
    text = format_amount(invoice.amount, invoice.currency)
    sub = invoice.subscription
    if sub is not None and not invoice.purpose:  # a card check is charged once
        text += f" / {format_cadence(sub.interval, sub.interval_count)}"
    return text
