"""BillingCycle: month ends, leap years, time zones, and properties over many anchors."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.cycle import INTERVALS, MONTHS, BillingCycle, local_date, subscription_start

LAGOS = "Africa/Lagos"


def _days(cycle: BillingCycle, count: int) -> list[date]:
    return [cycle.day_of(n) for n in range(count)]


@pytest.mark.parametrize(("anchor", "interval", "expected"), [
    (date(2025, 1, 31), "monthly",
     [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30),
      date(2025, 5, 31)]),
    (date(2024, 1, 31), "monthly",
     [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]),
    (date(2024, 2, 29), "annually",
     [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
      date(2028, 2, 29)]),
    (date(2025, 8, 31), "quarterly",
     [date(2025, 8, 31), date(2025, 11, 30), date(2026, 2, 28), date(2026, 5, 31)]),
    (date(2025, 8, 31), "biannually",
     [date(2025, 8, 31), date(2026, 2, 28), date(2026, 8, 31), date(2027, 2, 28)]),
    (date(2025, 12, 30), "daily",
     [date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1)]),
    (date(2025, 12, 25), "weekly",
     [date(2025, 12, 25), date(2026, 1, 1), date(2026, 1, 8)]),
])
def test_period_start_dates(anchor, interval, expected):
    assert _days(BillingCycle(interval, 1, anchor), len(expected)) == expected


def test_interval_count_multiplies():
    cycle = BillingCycle("monthly", 2, date(2025, 12, 31))
    assert _days(cycle, 4) == [date(2025, 12, 31), date(2026, 2, 28), date(2026, 4, 30),
                               date(2026, 6, 30)]
    assert BillingCycle("weekly", 2, date(2025, 1, 1)).day_of(1) == date(2025, 1, 15)


def test_periods_start_at_local_midnight_in_utc():
    start, end = BillingCycle("monthly", 1, date(2025, 3, 1), LAGOS).period(0)
    assert start == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)  # Lagos is UTC+1
    assert end == datetime(2025, 3, 31, 23, 0, tzinfo=UTC)


def test_payment_at_half_past_midnight_lagos_anchors_on_the_lagos_date():
    paid_at = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 on Feb 1 in Lagos
    start = subscription_start(interval="monthly", interval_count=1, trial_days=0,
                               paid_at=paid_at, tz=LAGOS)
    assert start.status == "active" and start.period_index == 0
    assert local_date(start.current_period_start, LAGOS) == date(2025, 2, 1)
    assert local_date(start.current_period_end, LAGOS) == date(2025, 3, 1)
    # The same instant in UTC would have anchored on Jan 31.
    utc = subscription_start(interval="monthly", interval_count=1, trial_days=0,
                             paid_at=paid_at, tz="UTC")
    assert utc.current_period_start.date() == date(2025, 1, 31)


def test_other_time_zones_and_dst():
    cycle = BillingCycle("monthly", 1, date(2025, 2, 15), "America/New_York")
    assert cycle.start_of(0) == datetime(2025, 2, 15, 5, tzinfo=UTC)  # EST
    assert cycle.start_of(1) == datetime(2025, 3, 15, 4, tzinfo=UTC)  # EDT
    assert cycle.for_anchor("monthly", 1, cycle.start_of(0), "America/New_York") == cycle


def test_trial_offsets_the_first_period():
    paid_at = datetime(2025, 1, 10, 12, tzinfo=UTC)
    start = subscription_start(interval="monthly", interval_count=1, trial_days=14,
                               paid_at=paid_at, tz=LAGOS)
    assert start.status == "trialing" and start.period_index == -1
    assert start.current_period_start == paid_at
    assert local_date(start.trial_end, LAGOS) == date(2025, 1, 24)
    assert start.current_period_end == start.trial_end == start.anchor
    cycle = BillingCycle.for_anchor("monthly", 1, start.anchor, LAGOS)
    assert cycle.period(0)[0] == start.trial_end
    assert local_date(cycle.start_of(1), LAGOS) == date(2025, 2, 24)


def test_index_at():
    cycle = BillingCycle("monthly", 1, date(2025, 1, 31), LAGOS)
    assert cycle.index_at(cycle.start_of(0) - timedelta(seconds=1)) == -1
    assert cycle.index_at(cycle.start_of(0)) == 0
    assert cycle.index_at(cycle.start_of(5) - timedelta(seconds=1)) == 4
    assert cycle.index_at(cycle.start_of(120)) == 120


def test_unknown_interval_is_refused():
    with pytest.raises(ValueError, match="Unknown interval"):
        BillingCycle("fortnightly", 1, date(2025, 1, 1))
    with pytest.raises(ValueError):
        BillingCycle("monthly", 0, date(2025, 1, 1))


anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31))
zones = st.sampled_from([LAGOS, "UTC", "Africa/Nairobi", "America/New_York", "Asia/Kolkata"])


def _oracle(anchor: date, interval: str, count: int, n: int) -> date:
    if interval in MONTHS:
        return anchor + relativedelta(months=n * count * MONTHS[interval])
    return anchor + timedelta(days=n * count * (7 if interval == "weekly" else 1))


@settings(max_examples=300, deadline=None)
@given(anchor=anchors, interval=st.sampled_from(INTERVALS), count=st.integers(1, 12),
       n=st.integers(0, 150), tz=zones)
def test_period_n_is_anchor_plus_n_intervals_clamped(anchor, interval, count, n, tz):
    cycle = BillingCycle(interval, count, anchor, tz)
    assert cycle.day_of(n) == _oracle(anchor, interval, count, n)
    assert local_date(cycle.start_of(n), tz) == cycle.day_of(n)


@settings(max_examples=200, deadline=None)
@given(anchor=anchors, interval=st.sampled_from(INTERVALS), count=st.integers(1, 6),
       tz=zones, length=st.integers(2, 40))
def test_periods_are_contiguous_and_never_drift(anchor, interval, count, tz, length):
    cycle = BillingCycle(interval, count, anchor, tz)
    periods = [cycle.period(n) for n in range(length)]
    for (_, end), (start, _) in pairwise(periods):
        assert end == start
    for start, end in periods:
        assert start < end
    if interval in MONTHS:
        for n in range(length):
            day = cycle.day_of(n)
            # the anchor's day of month, or the month's last day when shorter: never drifts
            last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            assert day.day == min(anchor.day, last.day)


@settings(max_examples=100, deadline=None)
@given(anchor=anchors, interval=st.sampled_from(INTERVALS), count=st.integers(1, 4),
       n=st.integers(0, 60), offset=st.floats(0, 0.999), tz=zones)
def test_index_at_finds_the_period(anchor, interval, count, n, offset, tz):
    cycle = BillingCycle(interval, count, anchor, tz)
    start, end = cycle.period(n)
    assert cycle.index_at(start + (end - start) * offset) == n
