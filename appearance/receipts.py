"""Receipt emails, branded with the merchant's published tokens (HTML + plain text).

    with mode_context("test"):
        receipt_send(session_id="cks_…")        # after a checkout pay

    receipt_deliver(receipt=Receipt(...))        # any other paid charge (renewals)

Colours in the HTML come only from :func:`appearance.theme.palette` (validated
tokens); every merchant-typed string is escaped by the templates. Sending
raises the mail backend's error (``OSError``/``SMTPException``) so that the
Celery task (:mod:`appearance.tasks`) can retry it; nothing here touches a pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from appearance.contrast import AA_NORMAL_TEXT, contrast_ratio
from appearance.selectors import Appearance, published_appearance
from checkout.models import CheckoutSession
from duro.models import Merchant
from duro.money import format_amount, format_cadence

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What a receipt says; built from a completed session (or, later, a renewal invoice)."""

    merchant_id: str
    merchant_name: str
    to: str
    amount: int
    currency: str
    reference: str
    plan_name: str | None = None
    cadence: str | None = None
    description: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    paid_at: object = None


def _support_contact(appearance: Appearance, merchant_id: str) -> str:
    """The branded support contact, else the merchant's support email (one core query)."""
    contact = appearance.tokens.get("support_contact")
    if contact:
        return contact
    return (Merchant.objects.filter(pk=merchant_id).values_list("support_email", flat=True)
            .first() or "")


def receipt_deliver(*, receipt: Receipt) -> None:
    """Render and send one receipt now. Raises the mail backend's error on failure."""
    appearance = published_appearance(receipt.merchant_id)
    support = _support_contact(appearance, receipt.merchant_id)
    colours = appearance.palette
    brand, surface = colours["--duro-brand"], colours["--duro-surface"]
    context = {
        "receipt": receipt, "appearance": appearance,
        "muted": colours["--duro-muted"], "border": colours["--duro-border"],
        "font_stack": colours["--duro-font"],
        "link": brand if contrast_ratio(brand, surface) >= AA_NORMAL_TEXT else (
            colours["--duro-text"]),
        "amount": format_amount(receipt.amount, receipt.currency),
        "support_contact": support, "support_is_email": "@" in support,
        "logo_url": appearance.absolute_logo_url(),
        "card": (f"{receipt.card_brand.title()} •••• {receipt.card_last4}"
                 if receipt.card_last4 and receipt.card_brand else None),
        "success_message": appearance.tokens.get("success_message") or "Payment successful",
    }
    message = EmailMultiAlternatives(
        subject=f"Your receipt from {receipt.merchant_name} · {receipt.reference}",
        body=render_to_string("appearance/emails/receipt.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[receipt.to],
        reply_to=[support] if "@" in support else None,
    )
    message.attach_alternative(render_to_string("appearance/emails/receipt.html", context),
                               "text/html")
    message.send(fail_silently=False)


def receipt_send(*, session_id: str) -> bool:
    """Email the receipt of a completed checkout session (mode from the context).

    Returns False, sending nothing, when the session is not completed or has no
    email to send to.
    """
    session = (CheckoutSession.objects.select_related("plan", "payment")
               .filter(pk=session_id).first())
    if session is None or session.status != CheckoutSession.Status.COMPLETED:
        return False
    if not session.customer_email:
        logger.info("receipt skipped: no email", extra={"session": session_id})
        return False
    payment = session.payment
    plan = session.plan
    receipt_deliver(receipt=Receipt(
        merchant_id=session.merchant_id, merchant_name=session.merchant_name,
        to=session.customer_email, amount=session.amount, currency=session.currency,
        reference=session.reference, plan_name=plan.name if plan else None,
        cadence=format_cadence(plan.interval, plan.interval_count) if plan else None,
        description=session.description or None,
        card_brand=payment.card_brand if payment else None,
        card_last4=payment.card_last4 if payment else None,
        paid_at=session.completed_at,
    ))
    return True
