"""The dunning schedule (pure): on time it is the configured days; late, never denser."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.schedule import MIN_RETRY_GAP, retry_at

DUE = datetime(2025, 2, 14, 23, tzinfo=UTC)
DAY = timedelta(days=1)


def _attempts(days: list[int], delays: list[timedelta]) -> list[datetime]:
    """When each attempt runs: the renewal at its due time, then every retry at the time
    the schedule gives, each one ``delays[i]`` late (an outage, a slow queue)."""
    at = DUE + delays[0]
    attempts = [at]
    for failures in range(1, len(days) + 1):
        nxt = retry_at(due=DUE, failures=failures, days=days, failed_at=at)
        assert nxt is not None
        at = nxt + delays[failures]
        attempts.append(at)
    assert retry_at(due=DUE, failures=len(days) + 1, days=days, failed_at=at) is None
    return attempts


@pytest.mark.parametrize(("days", "late", "expected"), [
    # On time: the configured days after the renewal was due.
    ([1, 3, 5], [0, 0, 0, 0], [0, 1, 3, 5]),
    ([2], [0, 0], [0, 2]),
    # The engine was down six days: the renewal runs late, the retries keep their spacing.
    ([1, 3, 5], [6, 0, 0, 0], [6, 7, 9, 11]),
    # Late in the middle: only what follows moves.
    ([1, 3, 5], [0, 0, 4, 0], [0, 1, 7, 9]),
    # A little late (a batch that ran ten minutes after its time) stays on the spacing.
    ([1, 3, 5], [0, 0.25, 0, 0], [0, 1.25, 3.25, 5.25]),
    ([3, 10], [20, 0, 0], [20, 23, 30]),
])
def test_retry_times(days, late, expected):
    delays = [timedelta(days=d) for d in late]
    assert _attempts(days, delays) == [DUE + timedelta(days=d) for d in expected]


def test_spent_schedule_is_none():
    assert retry_at(due=DUE, failures=4, days=[1, 3, 5], failed_at=DUE) is None
    assert retry_at(due=DUE, failures=1, days=[], failed_at=DUE) is None


def test_a_zero_day_schedule_still_waits_the_minimum_gap():
    # DURO_DUNNING_DAYS is an operator setting; even "0" never fires back to back.
    assert retry_at(due=DUE, failures=1, days=[0], failed_at=DUE) == DUE + MIN_RETRY_GAP


schedules = st.lists(st.integers(1, 60), min_size=1, max_size=10, unique=True).map(sorted)
delay = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))


@settings(max_examples=300, deadline=None)
@given(days=schedules, data=st.data())
def test_retries_keep_the_configured_spacing_however_late(days, data):
    delays = data.draw(st.lists(delay, min_size=len(days) + 1, max_size=len(days) + 1))
    attempts = _attempts(days, delays)
    offsets = [0, *days]
    for n, (before, after) in enumerate(pairwise(attempts), start=1):
        # Never closer to the attempt that failed than the schedule's own spacing...
        assert after - before >= timedelta(days=offsets[n] - offsets[n - 1])
        # ...and never earlier than the configured day.
        assert after >= DUE + timedelta(days=days[n - 1])


@settings(max_examples=200, deadline=None)
@given(days=schedules)
def test_on_time_retries_are_exactly_the_configured_days(days):
    attempts = _attempts(days, [timedelta(0)] * (len(days) + 1))
    assert attempts == [DUE] + [DUE + d * DAY for d in days]
