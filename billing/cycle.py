"""BillingCycle: the periods of a subscription, computed from its anchor (pure code).

A cycle is an interval (``daily`` … ``annually``) times a count, plus the
local date of the anchor and the merchant's time zone. Period ``n`` starts at
local midnight of ``anchor + n·interval``, computed from the anchor every time
(never by chaining one period to the next), and clamped to the end of shorter
months: an anchor on Jan 31 gives Feb 28/29, Mar 31, Apr 30; an anchor on
Feb 29 gives Feb 28 in common years and Feb 29 in leap years. Period ``n``
ends where period ``n + 1`` starts, so periods are contiguous. A trial only
moves the anchor: the first period starts when the trial ends. No ORM, no
clock: callers pass ``now`` or ``paid_at``.

    cycle = BillingCycle.for_anchor("monthly", 1, anchor_dt, DEFAULT_TIMEZONE)
    start, end = cycle.period(3)
"""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from duro.regions import DEFAULT_TIMEZONE

MONTHS = {"monthly": 1, "quarterly": 3, "biannually": 6, "annually": 12}
DAYS = {"daily": 1, "weekly": 7}
INTERVALS = ("daily", "weekly", "monthly", "quarterly", "biannually", "annually")


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the last day of the target month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of an aware ``moment`` in time zone ``tz``."""
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).date()


def local_midnight(day: date, tz: str) -> datetime:
    """Midnight starting ``day`` in ``tz``, as an aware UTC datetime."""
    return datetime.combine(day, time(), tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True)
class BillingCycle:
    interval: str
    interval_count: int
    anchor: date  # the local date the first period starts on
    tz: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if self.interval not in MONTHS and self.interval not in DAYS:
            raise ValueError(f"Unknown interval {self.interval!r}")
        if self.interval_count < 1:
            raise ValueError("interval_count must be at least 1")

    @classmethod
    def for_anchor(cls, interval: str, interval_count: int, anchor: datetime,
                   tz: str = DEFAULT_TIMEZONE) -> BillingCycle:
        """The cycle of a stored subscription, whose anchor is a local midnight in UTC."""
        return cls(interval, interval_count, local_date(anchor, tz), tz)

    def day_of(self, n: int) -> date:
        """Local date period ``n`` starts on: ``anchor + n·interval``, clamped."""
        step = n * self.interval_count
        if self.interval in MONTHS:
            return add_months(self.anchor, step * MONTHS[self.interval])
        return self.anchor + timedelta(days=step * DAYS[self.interval])

    def start_of(self, n: int) -> datetime:
        """Start of period ``n`` (0-based): local midnight of :meth:`day_of`, in UTC."""
        return local_midnight(self.day_of(n), self.tz)

    def period(self, n: int) -> tuple[datetime, datetime]:
        return self.start_of(n), self.start_of(n + 1)

    def index_at(self, moment: datetime) -> int:
        """The period containing ``moment`` (−1 before the anchor)."""
        if moment < self.start_of(0):
            return -1
        # Estimate from elapsed days, then step to the exact period; still anchor-based.
        days = (moment - self.start_of(0)).days
        per = self.interval_count * (DAYS.get(self.interval) or 30.436875 * MONTHS[self.interval])
        n = max(0, int(days / per) - 1)
        while self.start_of(n + 1) <= moment:
            n += 1
        while n > 0 and self.start_of(n) > moment:
            n -= 1
        return n


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
    """Where a new subscription stands: a trial first when the plan has one.

    The anchor is the local date of ``paid_at`` in the merchant's zone (a
    payment at 00:30 in Lagos anchors on that Lagos date), moved by the trial.
    """
    local_day = local_date(paid_at, tz)
    if trial_days:
        cycle = BillingCycle(interval, interval_count, local_day + timedelta(days=trial_days), tz)
        trial_end = cycle.start_of(0)
        return SubscriptionStart("trialing", trial_end, -1, paid_at, trial_end, trial_end)
    cycle = BillingCycle(interval, interval_count, local_day, tz)
    start, end = cycle.period(0)
    return SubscriptionStart("active", start, 0, start, end, None)
