"""What each customer email says, and its rendering, branded like receipts (HTML + text).

    notice_deliver(notice, merchant_name="Acme Gym", url="https://…/invoice/in_test_…")

One pair of templates (``billing/emails/notice.{txt,html}``) lays out every
kind: a heading, a few sentences, a table of facts, and at most one button.
The words are chosen here from the notice's ``facts`` (taken when the
subscription changed) and the subscription's plan; dates are the
subscription's own zone's, amounts as receipts print them (``₦15,000.00``),
and a card is only ever its brand and last four. Sending raises the mail
backend's error for :func:`billing.notices.customer_notice_send` to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_datetime

from billing.models import CustomerNotice
from billing.receipts import email_branding
from duro.money import format_amount, format_cadence

K = CustomerNotice.Kind
PAY_NOW = "Pay now"
UPDATE_CARD = "Update card"  # the customer portal (customer_action_url)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass
class Message:
    """The words of one email, before the layout."""

    subject: str
    heading: str
    paragraphs: list[str]
    rows: list[tuple[str, str]] = field(default_factory=list)
    action_text: str = ""


def _day(value: str | None, zone: str) -> str:
    moment = parse_datetime(value) if value else None
    return format_date(moment.astimezone(ZoneInfo(zone)), "j F Y") if moment else ""


def _card(facts: dict) -> str:
    if not facts.get("cardLast4"):
        return ""
    return f"{str(facts.get('cardBrand') or 'Card').title()} •••• {facts['cardLast4']}"


def notice_message(notice: CustomerNotice, *, merchant_name: str) -> Message:
    """The words of a notice (pure: the notice, its subscription and plan in memory)."""
    sub, facts = notice.subscription, notice.facts
    zone = sub.time_zone
    plan = sub.plan.name
    amount = (format_amount(facts["amount"], facts["currency"]) if "amount" in facts
              else format_amount(sub.amount, sub.currency))
    cadence = format_cadence(sub.interval, sub.interval_count)
    card = _card(facts)
    rows = [("Plan", plan), ("Amount", f"{amount} / {cadence}")]
    if notice.kind == K.PAYMENT_FAILED:
        retry = _day(facts.get("retryAt"), zone)
        paragraphs = [f"We could not take your {plan} payment of {amount} for {merchant_name}.",
                      f"Reason: {facts.get('reason') or 'The payment failed.'}"]
        paragraphs.append(f"We will try again on {retry}; pay now to keep your subscription "
                          "without waiting." if retry else
                          "Pay now to keep your subscription.")
        rows += [("Card", card)] if card else []
        rows += [("Next try", retry)] if retry else []
        return Message(subject=f"Your payment to {merchant_name} failed · {amount}",
                       heading="Your payment failed", paragraphs=paragraphs, rows=rows,
                       action_text=PAY_NOW)
    if notice.kind == K.CARD_EXPIRING:
        renews = _day(facts["renewsAt"], zone)
        expiry = f"{MONTHS[facts['expMonth'] - 1]} {facts['expYear']}"
        return Message(
            subject=f"Your card {card} expires before your next {merchant_name} payment",
            heading="Your card expires soon",
            paragraphs=[f"Your {plan} subscription with {merchant_name} renews on {renews} "
                        f"for {amount}, but the card it is charged to, {card}, expires at the "
                        f"end of {expiry}.",
                        f"To keep your subscription, update your card before {renews}."],
            rows=[*rows, ("Card", card), ("Expires", expiry), ("Renews on", renews)],
            action_text=UPDATE_CARD)
    if notice.kind == K.TRIAL_ENDING:
        ends = _day(facts["trialEnd"], zone)
        charged = f" to {card}" if card else ""
        return Message(
            subject=f"Your {plan} trial with {merchant_name} ends on {ends}",
            heading="Your trial ends soon",
            paragraphs=[f"Your free trial of {plan} with {merchant_name} ends on {ends}.",
                        f"Your subscription then starts and {amount} is charged{charged}, "
                        f"then every {cadence}, unless you cancel before."],
            rows=[*rows, ("Trial ends", ends), *([("Card", card)] if card else [])])
    why = facts.get("why")
    ended = _day(facts.get("canceledAt"), zone)
    if why == "unpaid":
        reason = f" ({facts['reason']})" if facts.get("reason") else ""
        paragraphs = [f"Your {plan} subscription with {merchant_name} has been cancelled "
                      f"because its payment of {amount} could not be collected{reason}.",
                      "Nothing more will be charged."]
    elif why == "period_end":
        paragraphs = [f"Your {plan} subscription with {merchant_name} ended on {ended}, at "
                      "the end of its period, as it was set to.",
                      "Nothing more will be charged."]
    else:
        paragraphs = [f"Your {plan} subscription with {merchant_name} was cancelled on "
                      f"{ended}.", "Nothing more will be charged."]
    return Message(subject=f"Your {plan} subscription with {merchant_name} is cancelled",
                   heading="Your subscription is cancelled", paragraphs=paragraphs,
                   rows=[("Plan", plan), ("Cancelled on", ended)])


def notice_deliver(notice: CustomerNotice, *, merchant_name: str, url: str | None,
                   manage_url: str | None = None) -> None:
    """Render and send one notice now to its subscription's customer (``manage_url``: the
    portal's signed "Manage your subscription" link). Raises the mail backend's error on
    failure."""
    message = notice_message(notice, merchant_name=merchant_name)
    branding = email_branding(notice.merchant_id)
    support = branding["support_contact"]
    context = {**branding, "merchant_name": merchant_name, "message": message,
               "url": url if message.action_text else None,
               "manage_url": manage_url}
    text = render_to_string("billing/emails/notice.txt", context)
    html = render_to_string("billing/emails/notice.html", context)
    email = EmailMultiAlternatives(
        subject=message.subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.subscription.customer.email],
        reply_to=[support] if "@" in support else None,
    )
    email.attach_alternative(html, "text/html")
    email.send(fail_silently=False)
