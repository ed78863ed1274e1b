"""BillingCycle: the periods of a subscription, computed from its anchor (pure code).

Minimal first version for the checkout flow; the billing issue completes it
(all intervals, month-end clamping, property tests). No ORM, no clock.
"""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MONTHS = {"monthly": 1, "quarterly": 3, "biannually": 6, "annually": 12}
DAYS = {"daily": 1, "weekly": 7}


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class BillingCycle:
    interval: str
    interval_count: int
    anchor: date  # the local date the first period starts on
    tz: str = "Africa/Lagos"

    def start_of(self, n: int) -> datetime:
        """Start of period ``n`` (0-based): local midnight of anchor + n·interval, in UTC."""
        step = n * self.interval_count
        if self.interval in MONTHS:
            day = _add_months(self.anchor, step * MONTHS[self.interval])
        else:
            day = self.anchor + timedelta(days=step * DAYS[self.interval])
        local = datetime.combine(day, time(), tzinfo=zoneinfo.ZoneInfo(self.tz))
        return local.astimezone(zoneinfo.ZoneInfo("UTC"))

    def period(self, n: int) -> tuple[datetime, datetime]:
        return self.start_of(n), self.start_of(n + 1)


@dataclass(frozen=True)
class SubscriptionStart:
    status: str  # active | trialing
    anchor: datetime
    period_index: int
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None


def subscription_start(*, interval: str, interval_count: int, trial_days: int,
                       paid_at: datetime, tz: str) -> SubscriptionStart:
    """Where a new subscription stands: a trial first when the plan has one."""
    local_day = paid_at.astimezone(zoneinfo.ZoneInfo(tz)).date()
    if trial_days:
        anchor_day = local_day + timedelta(days=trial_days)
        cycle = BillingCycle(interval, interval_count, anchor_day, tz)
        trial_end = cycle.start_of(0)
        return SubscriptionStart("trialing", trial_end, -1, paid_at, trial_end, trial_end)
    cycle = BillingCycle(interval, interval_count, local_day, tz)
    start, end = cycle.period(0)
    return SubscriptionStart("active", start, 0, start, end, None)
