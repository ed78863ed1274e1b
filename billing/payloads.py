"""Billing objects as camelCase dicts: the one representation of each, for API and events.

``GET /v1/plans/…``, ``/v1/customers/…``, ``/v1/subscriptions/…``,
``/v1/invoices/…``, ``/v1/payments/…`` and ``/v1/refunds/…`` answer with these,
and event ``data`` carries them, so a webhook says exactly what the API says
about the same object. They are built by hand because the renewal engine
renders one for every renewal and DRF serializers cost more than the renewal
itself; ``billing.serializers`` only documents their shapes for OpenAPI (a
test validates one against the other). ``metadata`` keys are kept as the
merchant wrote them. The checkout pay flow uses these too::

    event_emit(merchant_id=m, type="subscription_created", data=renewal_payload(
        subscription=sub, invoice=inv, payment=pay, payments=[pay]))
"""

from __future__ import annotations

from datetime import datetime

from billing.documents import invoice_document_urls
from billing.models import (
    Card,
    Coupon,
    Customer,
    Invoice,
    PaymentAttempt,
    Plan,
    Refund,
    Subscription,
)
from duro.tax import vat_rate_text
from duro.timestamps import iso


def plan_payload(plan: Plan) -> dict:
    return {
        "id": plan.id, "name": plan.name, "description": plan.description,
        "amount": plan.amount, "currency": plan.currency, "interval": plan.interval,
        "intervalCount": plan.interval_count, "trialDays": plan.trial_days,
        "invoiceLimit": plan.invoice_limit, "active": plan.active,
        "createdAt": iso(plan.created_at), "updatedAt": iso(plan.updated_at),
    }


def card_payload(card: Card | None) -> dict | None:
    if card is None:
        return None
    return {"brand": card.brand, "last4": card.last4, "expMonth": card.exp_month,
            "expYear": card.exp_year}


def customer_payload(customer: Customer, *, cards: list[Card] | None = None) -> dict:
    """The customer; with ``cards`` (the API passes them), their saved cards too."""
    data = {"id": customer.id, "email": customer.email, "phone": customer.phone,
            "name": customer.name, "blacklisted": customer.blacklisted,
            "createdAt": iso(customer.created_at)}
    if cards is not None:
        data["cards"] = [{"id": card.id, **(card_payload(card) or {})} for card in cards]
    return data


def next_payment_at(sub: Subscription) -> datetime | None:
    """When the next charge is planned: the period end, the next dunning retry, or the end
    of a pause that has a date (a resume charges at once)."""
    if sub.status == Subscription.Status.ACTIVE or (
        sub.status == Subscription.Status.TRIALING and sub.trial_end is not None
    ):
        return sub.current_period_end
    if sub.status == Subscription.Status.PAST_DUE:
        return sub.next_attempt_at
    if sub.status == Subscription.Status.PAUSED:
        return sub.resumes_at
    return None


def subscription_payload(sub: Subscription) -> dict:
    return {
        "id": sub.id, "status": sub.status, "planId": sub.plan_id,
        "pendingPlanId": sub.pending_plan_id, "customerId": sub.customer_id,
        "currentPeriodStart": iso(sub.current_period_start),
        "currentPeriodEnd": iso(sub.current_period_end),
        "cancelAtPeriodEnd": sub.cancel_at_period_end, "canceledAt": iso(sub.canceled_at),
        "trialEnd": iso(sub.trial_end), "invoicesPaid": sub.invoices_paid,
        "pausedAt": iso(sub.paused_at), "resumesAt": iso(sub.resumes_at),
        "nextPaymentAt": iso(next_payment_at(sub)), "card": card_payload(sub.card),
        "creditBalance": sub.credit_balance,
        "metadata": sub.metadata, "createdAt": iso(sub.created_at),
    }


def payment_status(payment: PaymentAttempt) -> str:
    """The status API.md §9 names: an OTP wait is ``requires_action``, an attempt replaced
    by a newer one ``abandoned``; the rest as stored."""
    if payment.status == PaymentAttempt.Status.REQUIRES_OTP:
        return "requires_action"
    if (payment.status == PaymentAttempt.Status.FAILED
            and payment.failure_code == PaymentAttempt.ABANDONED):
        return "abandoned"
    return payment.status


def _failure(code: str, message: str) -> dict | None:
    return {"code": code, "message": message} if code else None


def refund_payload(refund: Refund) -> dict:
    return {
        "id": refund.id, "status": refund.status, "amount": refund.amount,
        "currency": refund.currency, "reason": refund.reason, "paymentId": refund.payment_id,
        "metadata": refund.metadata,
        "failure": _failure(refund.failure_code, refund.failure_message),
        "createdAt": iso(refund.created_at),
    }


def payment_payload(payment: PaymentAttempt) -> dict:
    """The payment with its refunds (prefetch ``refunds`` to list many without a query each)."""
    card = None
    if payment.card_last4:
        card = {"brand": payment.card_brand, "last4": payment.card_last4,
                "expMonth": payment.card_exp_month, "expYear": payment.card_exp_year}
    return {
        "id": payment.id, "status": payment_status(payment), "rail": payment.rail,
        "amount": payment.amount, "currency": payment.currency,
        "amountRefunded": payment.amount_refunded, "invoiceId": payment.invoice_id,
        "sessionId": payment.session_id or None, "customerId": payment.customer_id,
        "card": card, "failure": _failure(payment.failure_code, payment.failure_message),
        "createdAt": iso(payment.created_at), "paidAt": iso(payment.paid_at),
        "refunds": [refund_payload(r) for r in payment.refunds.all()],
    }


def invoice_payload(invoice: Invoice, payments: list[PaymentAttempt] | None = None) -> dict:
    """The invoice with its payments; pass ``payments`` when known, to skip a query."""
    if payments is None:
        payments = list(invoice.payments.prefetch_related("refunds").order_by("created_at", "id"))
    hosted_url, pdf_url = invoice_document_urls(invoice)
    return {
        "id": invoice.id, "number": invoice.number, "status": invoice.status,
        "amount": invoice.amount, "amountRefunded": invoice.amount_refunded,
        "currency": invoice.currency,
        # How the amount was reached (billing.pricing); before these lines, its amount.
        "subtotal": invoice.subtotal if invoice.subtotal is not None else invoice.amount,
        "discount": {"couponCode": invoice.coupon_code or None,
                     "amountOff": invoice.discount_amount} if invoice.discount_amount else None,
        "vat": {"rate": vat_rate_text(invoice.vat_rate), "amount": invoice.vat_amount}
        if invoice.vat_rate is not None else None,
        "hostedUrl": hosted_url, "pdfUrl": pdf_url,
        "description": invoice.description, "periodStart": iso(invoice.period_start),
        "periodEnd": iso(invoice.period_end), "subscriptionId": invoice.subscription_id,
        "customerId": invoice.customer_id, "paidAt": iso(invoice.paid_at),
        "createdAt": iso(invoice.created_at), "payments": [payment_payload(p) for p in payments],
    }


def renewal_payload(*, subscription: Subscription, invoice: Invoice | None = None,
                    payment: PaymentAttempt | None = None,
                    payments: list[PaymentAttempt] | None = None) -> dict:
    """The ``data`` of a subscription event: subscription, customer, invoice, payment, and
    the checkout session's ``metadata`` (the subscription keeps it) at the top, as the
    first pay's events carry it.

    ``payments`` lists the invoice's attempts when the caller knows them all."""
    data = {"subscription": subscription_payload(subscription),
            "customer": customer_payload(subscription.customer),
            "metadata": subscription.metadata}
    if invoice is not None:
        data["invoice"] = invoice_payload(invoice, payments)
    if payment is not None:
        data["payment"] = payment_payload(payment)
    return data


def coupon_payload(coupon: Coupon) -> dict:
    return {"id": coupon.id, "code": coupon.code, "percentOff": coupon.percent_off,
            "amountOff": coupon.amount_off, "currency": coupon.currency or None,
            "duration": coupon.duration, "durationInPeriods": coupon.duration_in_periods,
            "maxRedemptions": coupon.max_redemptions, "timesRedeemed": coupon.times_redeemed,
            "expiresAt": iso(coupon.expires_at), "active": coupon.active,
            "createdAt": iso(coupon.created_at)}
