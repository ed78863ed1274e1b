"""``python manage.py customer_emails_preview --merchant mer_… [--to you@example.com]``.

Sends one sample of each customer email (a failed renewal, an expiring card, a trial
ending, a cancellation) in the merchant's published branding to ``--to``, through the
configured mail backend: without ``EMAIL_URL`` they are files under the data folder's
``mail/``. Nothing is read from or written to a mode's store: the subscription, card
and invoice they speak of are made up (the "Pay now" link goes to a page that does not
exist), so a merchant's look can be checked before any customer gets one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.models import Customer, CustomerNotice, Plan, Subscription
from billing.notice_emails import notice_deliver
from duro.models import Merchant
from duro.modes import mode_context
from duro.money import format_amount
from duro.timestamps import iso

K = CustomerNotice.Kind


def _samples(merchant: Merchant, to: str) -> list[CustomerNotice]:
    renews = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    plan = Plan(merchant_id=merchant.pk, name="Gold Membership", amount=1_500_000,
                currency="NGN", interval="monthly")
    sub = Subscription(merchant_id=merchant.pk, plan=plan, customer=Customer(email=to),
                       time_zone=merchant.timezone, amount=plan.amount, currency="NGN",
                       interval="monthly", interval_count=1, current_period_end=renews)
    card = {"cardBrand": "visa", "cardLast4": "4242"}
    money = {"amount": plan.amount, "currency": plan.currency}
    facts = {
        K.PAYMENT_FAILED: {**money, **card, "reason": "The saved card was declined.",
                           "retryAt": iso(renews + timedelta(days=1))},
        K.CARD_EXPIRING: {**money, **card, "cardId": "card_preview", "renewsAt": iso(renews),
                          "expMonth": (renews - timedelta(days=31)).month,
                          "expYear": (renews - timedelta(days=31)).year},
        K.TRIAL_ENDING: {**money, **card, "trialEnd": iso(renews)},
        K.SUBSCRIPTION_CANCELED: {**money, "why": "unpaid", "canceledAt": iso(renews),
                                  "reason": "The saved card was declined."},
    }
    return [CustomerNotice(merchant_id=merchant.pk, kind=kind, subscription=sub, facts=f)
            for kind, f in facts.items()]


class Command(BaseCommand):
    help = "Send a sample of each customer email in a merchant's branding."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="the merchant's id (mer_…)")
        parser.add_argument("--to", help="where to send them (default: the merchant's "
                                         "support email)")

    def handle(self, *args, **options):
        merchant = Merchant.objects.filter(pk=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant']!r}.")
        to = options["to"] or merchant.support_email
        url = f"{settings.DURO_PUBLIC_URL}/invoice/in_test_preview"
        with mode_context("test"):  # made-up rows, never saved: test mode's, to be safe
            samples = _samples(merchant, to)
        for notice in samples:
            notice_deliver(notice, merchant_name=merchant.name,
                           url=url if notice.kind == K.PAYMENT_FAILED else None)
            self.stdout.write(f"{notice.kind}: sent to {to} "
                              f"({format_amount(notice.facts['amount'], 'NGN')})")
