"""Receipt emails, branded with the merchant's published tokens (HTML + plain text).

    with mode_context("test"):
        invoice_receipt_send(invoice_id="inv_…")   # a paid invoice: checkout or renewal

    receipt_deliver(receipt=Receipt(...))           # render and send, no bookkeeping

A paid invoice carries ``receipt_status="pending"`` from the transaction that
paid it (an outbox): the pay enqueues its send after commit, renewals leave it
to the sweep (:func:`receipts_due`, every minute), and a lost message is only late.
A receipt reads billing rows only: what a checkout's receipt quotes (its
reference, the address the payer gave) is copied onto the invoice by the pay.

Colours in the HTML come only from :func:`appearance.theme.palette` (validated
tokens); every merchant-typed string is escaped by the templates. Sending
raises the mail backend's error (``OSError``/``SMTPException``) so that the
Celery task (:mod:`billing.tasks`) can retry it; nothing here touches a pay.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from appearance.contrast import AA_NORMAL_TEXT, contrast_ratio
from appearance.selectors import Appearance, published_appearance
from billing.models import Invoice
from billing.portal import portal_manage_url
from billing.pricing import invoice_lines
from duro.db import atomic
from duro.models import Merchant
from duro.money import format_amount, format_cadence
from duro.regions import DEFAULT_TIMEZONE

logger = logging.getLogger(__name__)

MAIL_ERRORS = (OSError, smtplib.SMTPException)


@dataclass(frozen=True)
class Receipt:
    """What a receipt says; built from a paid invoice (a checkout's or a renewal's)."""

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
    time_zone: str = DEFAULT_TIMEZONE  # the merchant's: the receipt's date is theirs
    manage_url: str | None = None  # a subscription's "Manage your subscription" link
    # How the amount was reached, when anything changed it: the price, a coupon's discount,
    # VAT and a plan change's credit (label, formatted amount), in that order.
    lines: tuple[tuple[str, str], ...] = ()


def price_rows(invoice: Invoice) -> tuple[tuple[str, str], ...]:
    """The invoice's lines (billing.pricing) formatted for a receipt; none when the amount
    is the price alone."""
    if not (invoice.discount_amount or invoice.vat_amount or invoice.credit_applied):
        return ()
    return tuple((label, ("−" if amount < 0 else "") + format_amount(abs(amount),
                                                                   invoice.currency))
                 for label, amount in invoice_lines(invoice))


def _support_contact(appearance: Appearance, merchant_id: str) -> str:
    """The branded support contact, else the merchant's support email (one core query)."""
    contact = appearance.tokens.get("support_contact")
    if contact:
        return contact
    return (Merchant.objects.filter(pk=merchant_id).values_list("support_email", flat=True)
            .first() or "")


def email_branding(merchant_id: str) -> dict:
    """What every branded email of a merchant reads (receipts, invoice links): the
    published tokens, colours derived from them, the logo and the support contact."""
    appearance = published_appearance(merchant_id)
    support = _support_contact(appearance, merchant_id)
    colours = appearance.palette
    brand, surface = colours["--duro-brand"], colours["--duro-surface"]
    return {
        "appearance": appearance,
        "muted": colours["--duro-muted"], "border": colours["--duro-border"],
        "font_stack": colours["--duro-font"],
        "link": brand if contrast_ratio(brand, surface) >= AA_NORMAL_TEXT else (
            colours["--duro-text"]),
        "support_contact": support, "support_is_email": "@" in support,
        "logo_url": appearance.absolute_logo_url(),
    }


def receipt_deliver(*, receipt: Receipt) -> None:
    """Render and send one receipt now. Raises the mail backend's error on failure."""
    branding = email_branding(receipt.merchant_id)
    appearance, support = branding["appearance"], branding["support_contact"]
    context = {
        **branding, "receipt": receipt,
        "amount": format_amount(receipt.amount, receipt.currency),
        "card": (f"{receipt.card_brand.title()} •••• {receipt.card_last4}"
                 if receipt.card_last4 and receipt.card_brand else None),
        "success_message": appearance.tokens.get("success_message") or "Payment successful",
    }
    with timezone.override(ZoneInfo(receipt.time_zone)):
        text = render_to_string("billing/emails/receipt.txt", context)
        html = render_to_string("billing/emails/receipt.html", context)
    message = EmailMultiAlternatives(
        subject=f"Your receipt from {receipt.merchant_name} · {receipt.reference}",
        body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[receipt.to],
        reply_to=[support] if "@" in support else None,
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def receipt_for_invoice(invoice: Invoice) -> Receipt | None:
    """What the receipt of a paid invoice says: a checkout's (with its reference) or a
    renewal's. None when there is nobody to send it to."""
    customer = invoice.customer
    if not customer.email:
        return None
    payment = (invoice.payments.filter(status="succeeded").order_by("-created_at").first())
    sub = invoice.subscription
    plan = sub.plan if sub is not None else None
    merchant_name, time_zone = (Merchant.objects.filter(pk=invoice.merchant_id)
                                .values_list("name", "timezone").first()
                                or ("", DEFAULT_TIMEZONE))
    return Receipt(
        merchant_id=invoice.merchant_id, merchant_name=merchant_name,
        to=invoice.receipt_email or customer.email,
        amount=invoice.amount, currency=invoice.currency,
        reference=invoice.checkout_reference or f"INV-{invoice.number:06d}",
        plan_name=plan.name if plan else None,
        cadence=format_cadence(sub.interval, sub.interval_count) if sub else None,
        description=invoice.description or None,
        card_brand=payment.card_brand if payment else None,
        card_last4=payment.card_last4 if payment else None,
        paid_at=invoice.paid_at, time_zone=time_zone,
        manage_url=portal_manage_url(customer) if sub is not None else None,
        lines=price_rows(invoice),
    )


def invoice_receipt_send(*, invoice_id: str, final: bool = False) -> str:
    """Send the receipt of a paid invoice once (mode from the context).

    The invoice row is locked while sending, so two workers never send the same
    receipt; a sent, skipped or failed receipt is never sent again. A mail error
    is raised for the caller to retry; with ``final`` it is recorded as failed.
    Returns the receipt's status afterwards.
    """
    with atomic():
        invoice = (Invoice.objects.select_for_update(of=("self",))
                   .select_related("customer", "subscription__plan")
                   .filter(pk=invoice_id).first())
        if invoice is None or invoice.receipt_status != "pending":
            return invoice.receipt_status if invoice else "missing"
        receipt = receipt_for_invoice(invoice)
        invoice.receipt_attempts += 1
        if receipt is None:
            invoice.receipt_status = "skipped"
        else:
            try:
                receipt_deliver(receipt=receipt)
            except MAIL_ERRORS:
                if not final:
                    Invoice.objects.filter(pk=invoice.pk).update(
                        receipt_attempts=invoice.receipt_attempts)
                    raise
                invoice.receipt_status = "failed"
                logger.error("receipt email failed; giving up",
                             extra={"invoice": invoice.id, "attempts": invoice.receipt_attempts})
            else:
                invoice.receipt_status = "sent"
        invoice.save(update_fields=["receipt_status", "receipt_attempts"])
        return invoice.receipt_status


def receipt_enqueue(mode: str, invoice_id: str) -> None:
    """Queue the receipt of an invoice just paid (called after commit); a broker that is
    down raises here, and the invoice stays ``pending`` for :func:`receipts_due`."""
    from billing.tasks import send_receipt  # tasks import the services, not the reverse

    send_receipt.apply_async(args=(mode, invoice_id), retry=False)


def receipts_due(*, now: datetime, older_than: timedelta, limit: int = 500) -> list[str]:
    """Pending receipts whose first send should have happened by now (for the sweep)."""
    return list(Invoice.objects.filter(receipt_status="pending",
                                       paid_at__lte=now - older_than)
                .order_by("paid_at").values_list("id", flat=True)[:limit])
