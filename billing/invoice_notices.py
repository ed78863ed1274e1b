"""The invoice link email and its reminders, branded like receipts (HTML + plain text).

    with mode_context("test"):
        invoice_notice_send(invoice_id="inv_…")   # the pending step: the link or a reminder

An invoice whose renewal waits for the customer carries ``notice_status="pending"``
and ``notice_step`` (0: the link, n: the n-th reminder) from the transaction that
opened it or moved it along its dunning schedule (an outbox, :mod:`billing.invoice_dunning`):
the engine enqueues the send after commit, :func:`notices_due` finds what a broker
that was down lost, and a lost message is only late. Sending locks the invoice, so
two workers never send the same step; a paid or void invoice is not chased any more.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from billing.invoice_links import invoice_link_url
from billing.models import Invoice
from billing.portal import portal_manage_url
from billing.receipts import MAIL_ERRORS, email_branding
from duro.db import atomic
from duro.money import format_amount, format_cadence

logger = logging.getLogger(__name__)


def notice_deliver(invoice: Invoice) -> None:
    """Render and send the pending step's email now. Raises the mail backend's error."""
    sub = invoice.subscription
    branding = email_branding(invoice.merchant_id)
    support = branding["support_contact"]
    context = {
        **branding, "invoice": invoice, "merchant_name": invoice.merchant_name,
        "reminder": invoice.notice_step > 0, "url": invoice_link_url(invoice),
        "amount": format_amount(invoice.amount, invoice.currency),
        "cadence": format_cadence(sub.interval, sub.interval_count) if sub else None,
        "plan_name": sub.plan.name if sub is not None else None,
        "number": f"INV-{invoice.number:06d}",
        "manage_url": portal_manage_url(invoice.customer) if sub is not None else None,
    }
    zone = sub.time_zone if sub is not None else "UTC"
    with timezone.override(ZoneInfo(zone)):
        text = render_to_string("billing/emails/invoice.txt", context)
        html = render_to_string("billing/emails/invoice.html", context)
    what = "Reminder: your invoice" if context["reminder"] else "Your invoice"
    message = EmailMultiAlternatives(
        subject=f"{what} from {invoice.merchant_name} · {context['number']} · {context['amount']}",
        body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[invoice.customer.email],
        reply_to=[support] if "@" in support else None,
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def invoice_notice_send(*, invoice_id: str, final: bool = False) -> str:
    """Send an invoice's pending link or reminder once (mode from the context).

    A mail error is raised for the caller to retry; with ``final`` it is recorded as
    failed. Returns the notice's status afterwards (``skipped``: paid or void meanwhile)."""
    with atomic():
        invoice = (Invoice.objects.select_for_update(of=("self",))
                   .select_related("customer", "subscription__plan")
                   .filter(pk=invoice_id).first())
        if invoice is None or invoice.notice_status != "pending":
            return invoice.notice_status if invoice else "missing"
        if invoice.status != Invoice.Status.OPEN or not invoice.customer.email:
            invoice.notice_status = "skipped"  # paid or void meanwhile, or nobody to ask
            invoice.save(update_fields=["notice_status"])
            return invoice.notice_status
        try:
            notice_deliver(invoice)
        except MAIL_ERRORS:
            if not final:
                raise
            invoice.notice_status = "failed"
            logger.error("invoice email failed; giving up", extra={"invoice": invoice.id})
        else:
            invoice.notice_status = "sent"
        invoice.save(update_fields=["notice_status"])
        return invoice.notice_status


def notice_enqueue(mode: str, invoice_id: str) -> None:
    """Queue a pending notice (after commit); a broker that is down raises here and the
    invoice stays ``pending`` for :func:`notices_due`."""
    from billing.tasks import send_invoice_notice  # tasks import the services, not the reverse

    send_invoice_notice.apply_async(args=(mode, invoice_id), retry=False)


def notices_due(*, now: datetime, older_than: timedelta, limit: int = 500) -> list[str]:
    """Pending invoice emails whose first send should have happened by now (the sweep)."""
    return list(Invoice.objects.filter(notice_status="pending",
                                       notice_at__lte=now - older_than)
                .order_by("notice_at").values_list("id", flat=True)[:limit])
