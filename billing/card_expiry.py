"""Cards that expire before the renewal they will be charged for: warn the customer once.

    card_expiry_notices_open(now=now)                        # the daily task, every merchant
    card_expiry_notices_open(now=now, subscription_id="sub_…")   # a test clock just moved

A subscription renews at the end of its current period (in its own zone). Its
saved card is good through the last day of its expiry month, so the renewal
will be declined when the card's month/year is before the renewal's month.
Once the renewal is ``DURO_CARD_EXPIRY_NOTICE_DAYS`` (default 7) days away or
less, the customer gets one email for that card and that period
(:func:`billing.notices.notice_card_expiring`; its key makes a second run, or
a second scan the same day, write nothing). A subscription on a test clock is
judged at its clock, not the wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import ExtractMonth, ExtractYear

from billing.models import Card, CustomerNotice, Subscription
from billing.notices import notice_card_expiring, notices_open
from duro.db import atomic

S = Subscription.Status


def expires_before(card: Card, renews_at: datetime, zone: str) -> bool:
    """The card's last valid month is before the month of the renewal (the subscription's
    zone: a renewal at local midnight on the 1st is in the new month)."""
    local = renews_at.astimezone(ZoneInfo(zone))
    return (card.exp_year, card.exp_month) < (local.year, local.month)


def card_expiry_notices_open(*, now: datetime, subscription_id: str | None = None) -> int:
    """Write the warnings due at ``now`` in the current mode; returns how many are new."""
    window = timedelta(days=settings.DURO_CARD_EXPIRY_NOTICE_DAYS)
    renewing = Subscription.objects.filter(status__in=(S.ACTIVE, S.TRIALING),
                                           card__isnull=False, cancel_at_period_end=False)
    if subscription_id is not None:
        renewing = renewing.filter(pk=subscription_id)
    soon = (Q(clock__isnull=True, current_period_end__gt=now,
              current_period_end__lte=now + window)
            | Q(clock__isnull=False, current_period_end__gt=F("clock"),
                current_period_end__lte=F("clock") + window))
    # A coarse month test in SQL (UTC) keeps the rows read to the likely ones; the exact
    # test, in each subscription's zone, is expires_before. A zone east of UTC can only
    # move the renewal into a later month, and one west into an earlier one, both of which
    # still pass this "card month ≤ renewal's UTC month".
    likely = (renewing.filter(soon).exclude(card__authorization="")
              .annotate(card_months=F("card__exp_year") * 12 + F("card__exp_month"),
                        end_months=ExtractYear("current_period_end") * 12
                        + ExtractMonth("current_period_end"))
              .filter(card_months__lte=F("end_months"))
              .select_related("card").order_by("pk"))
    with atomic():
        notices = [notice_card_expiring(sub, sub.card) for sub in likely
                   if sub.card is not None and expires_before(sub.card, sub.current_period_end,
                                                              sub.time_zone)]
        known = set(CustomerNotice.objects.filter(key__in=[n.key for n in notices])
                    .values_list("key", flat=True)) if notices else set()
        fresh = [n for n in notices if n.key not in known]
        notices_open(fresh)
    return len(fresh)
