"""Plan changes with proration: month ends, leap years, the period's first and last second,
half a kobo, credit carried and never refunded, and properties against an independent
calculation (Decimal, ROUND_HALF_UP over whole seconds; dateutil for the new anchor)."""

import calendar
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.cycle import INTERVALS, MONTHS, BillingCycle
from billing.proration import change_preview, round_half_up

LAGOS = "Africa/Lagos"
NEW_YORK = "America/New_York"
SECOND = timedelta(seconds=1)


def _lagos(*args) -> datetime:
    return datetime(*args, tzinfo=zoneinfo.ZoneInfo(LAGOS)).astimezone(UTC)


def _preview(period, old, new, changed_at, *, old_interval="monthly", old_count=1,
             new_interval=None, new_count=None, at=None, tz=LAGOS):
    start, end = period
    return change_preview(period_start=start, period_end=end, old_amount=old,
                          old_interval=old_interval, old_interval_count=old_count,
                          new_amount=new, new_interval=new_interval or old_interval,
                          new_interval_count=new_count or old_count, changed_at=changed_at,
                          tz=tz, at=at)


# January 31st's monthly period ends on the last day of February: 28 days in 2025.
JAN31_2025 = BillingCycle("monthly", 1, date(2025, 1, 31), LAGOS).period(0)


def test_upgrade_halfway_through_february_charges_half_the_difference():
    start, end = JAN31_2025
    assert end - start == timedelta(days=28)
    preview = _preview(JAN31_2025, 1_000_000, 2_500_000, _lagos(2025, 2, 14))
    assert preview.direction == "upgrade" and preview.at == "now"
    assert preview.amount_due_now == 750_000
    assert (preview.credit, preview.charge, preview.carried_credit) == (500_000, 1_250_000, 0)
    assert preview.effective_at == _lagos(2025, 2, 14)
    assert not preview.anchor_changes and preview.new_period_start is None
    assert preview.next_invoice_at == end == _lagos(2025, 2, 28)  # the billing day is kept
    assert preview.next_invoice_amount == 2_500_000


def test_leap_february_has_29_days():
    period = BillingCycle("monthly", 1, date(2024, 1, 31), LAGOS).period(0)
    assert period[1] == _lagos(2024, 2, 29)
    # one day in: 28 of 29 days unused; 1,000,000 × 28/29 = 965,517.24…
    assert _preview(period, 0, 1_000_000, _lagos(2024, 2, 1)).amount_due_now == 965_517
    # the same day of 2025 leaves 27 of 28 days: 964,285.71…
    assert _preview(JAN31_2025, 0, 1_000_000, _lagos(2025, 2, 1)).amount_due_now == 964_286


def test_annual_plan_anchored_on_29_february():
    cycle = BillingCycle("annually", 1, date(2024, 2, 29), LAGOS)
    common = cycle.period(1)  # 28 Feb 2025 → 28 Feb 2026: 365 days
    leap = cycle.period(3)  # 28 Feb 2027 → 29 Feb 2028: 366 days
    assert leap[1] == _lagos(2028, 2, 29) and leap[1] - leap[0] == timedelta(days=366)
    assert _preview(common, 0, 3_650_000, common[0] + timedelta(days=1),
                    old_interval="annually").amount_due_now == 3_640_000
    assert _preview(leap, 0, 3_660_000, leap[0] + timedelta(days=1),
                    old_interval="annually").amount_due_now == 3_650_000


def test_a_change_at_the_very_start_charges_the_full_difference():
    start, _ = JAN31_2025
    preview = _preview(JAN31_2025, 1_000_000, 2_500_000, start)
    assert preview.amount_due_now == 1_500_000
    assert (preview.credit, preview.charge) == (1_000_000, 2_500_000)


def test_a_change_in_the_last_second_charges_almost_nothing():
    _, end = JAN31_2025  # 2,419,200 seconds
    assert _preview(JAN31_2025, 1_000_000, 2_000_000, end - SECOND).amount_due_now == 0
    # a difference of exactly 1,209,600 kobo leaves half a kobo for the last second: 1
    assert _preview(JAN31_2025, 0, 1_209_600, end - SECOND).amount_due_now == 1
    assert _preview(JAN31_2025, 0, 1_209_599, end - SECOND).amount_due_now == 0


def test_half_a_kobo_rounds_up_once():
    start, _ = JAN31_2025
    halfway = start + timedelta(days=14)
    # 3 kobo × ½ = 1.5 → 2; 1 kobo × ½ = 0.5 → 1 (rounding the old plan's credit and the
    # new plan's charge separately would give round(1) − round(0.5) = 0)
    assert _preview(JAN31_2025, 1, 4, halfway).amount_due_now == 2
    assert _preview(JAN31_2025, 1, 2, halfway).amount_due_now == 1
    # one second later than half: just under half a kobo is 0
    assert _preview(JAN31_2025, 1, 2, halfway + SECOND).amount_due_now == 0
    # a downgrade's credit rounds the same way, away from zero: 0.5 → 1 carried
    down = _preview(JAN31_2025, 2, 1, halfway, at="now")
    assert (down.amount_due_now, down.carried_credit, down.next_invoice_amount) == (0, 1, 0)
    assert [round_half_up(Fraction(n, 10)) for n in (4, 5, 15, 25, -5, -15, -4)] == [
        0, 1, 2, 3, -1, -2, 0]


def test_downgrade_waits_for_the_period_end_by_default():
    _, end = JAN31_2025
    preview = _preview(JAN31_2025, 2_500_000, 1_000_000, _lagos(2025, 2, 14))
    assert preview.direction == "downgrade" and preview.at == "period_end"
    assert (preview.amount_due_now, preview.credit, preview.charge) == (0, 0, 0)
    assert preview.effective_at == preview.next_invoice_at == end
    assert preview.next_invoice_amount == 1_000_000 and not preview.anchor_changes


def test_downgrade_now_carries_the_credit_to_the_next_invoice():
    preview = _preview(JAN31_2025, 2_500_000, 1_000_000, _lagos(2025, 2, 14), at="now")
    assert preview.amount_due_now == 0 and preview.carried_credit == 750_000
    assert (preview.credit, preview.charge) == (1_250_000, 500_000)
    assert preview.next_invoice_amount == 250_000 and preview.credit_left == 0
    assert preview.effective_at == _lagos(2025, 2, 14) and not preview.anchor_changes
    # a credit larger than the next invoice is kept for the ones after it, never refunded
    start, _ = JAN31_2025
    big = _preview(JAN31_2025, 2_500_000, 500_000, start, at="now")
    assert (big.carried_credit, big.next_invoice_amount, big.credit_left) == (2_000_000, 0,
                                                                               1_500_000)


def test_interval_change_charges_the_new_price_less_the_unused_credit_and_reanchors():
    changed_at = _lagos(2025, 2, 14, 10)  # 326 of the period's 672 hours are unused
    preview = _preview(JAN31_2025, 1_000_000, 10_000_000, changed_at,
                       new_interval="annually", at="now")
    assert preview.credit == 485_119  # 1,000,000 × 326/672 = 485,119.05
    assert preview.charge == 10_000_000 and preview.amount_due_now == 9_514_881
    assert preview.anchor_changes and preview.effective_at == changed_at
    # a new anchor as a first pay would set it: local midnight of the change's date
    assert preview.new_period_start == _lagos(2025, 2, 14)
    assert preview.new_period_end == preview.next_invoice_at == _lagos(2026, 2, 14)
    assert preview.next_invoice_amount == 10_000_000


def test_interval_change_credit_beyond_the_new_price_is_carried():
    period = BillingCycle("annually", 1, date(2025, 1, 1), "UTC").period(0)
    preview = _preview(period, 12_000_000, 100_000, period[0], old_interval="annually",
                       new_interval="weekly", at="now", tz="UTC")
    assert preview.amount_due_now == 0 and preview.credit == 12_000_000
    assert preview.carried_credit == 11_900_000 and preview.next_invoice_amount == 0
    assert preview.credit_left == 11_800_000
    assert preview.new_period_end == preview.next_invoice_at == datetime(2025, 1, 8, tzinfo=UTC)


def test_interval_change_at_half_past_midnight_anchors_on_the_lagos_date():
    changed_at = datetime(2025, 2, 13, 23, 30, tzinfo=UTC)  # 00:30 on 14 Feb in Lagos
    preview = _preview(JAN31_2025, 1_000_000, 100_000, changed_at, new_interval="weekly",
                       at="now")
    assert preview.new_period_start == _lagos(2025, 2, 14)
    assert preview.new_period_end == _lagos(2025, 2, 21)


def test_interval_change_at_period_end_anchors_there():
    _, end = JAN31_2025
    preview = _preview(JAN31_2025, 1_000_000, 10_000_000, _lagos(2025, 2, 14),
                       new_interval="annually", at="period_end")
    assert preview.amount_due_now == 0 and preview.effective_at == end
    assert preview.anchor_changes and preview.new_period_start == end
    assert preview.new_period_end == _lagos(2026, 2, 28)
    assert preview.next_invoice_amount == 10_000_000 and preview.next_invoice_at == end


def test_direction_compares_the_price_per_day_across_cycles():
    when = _lagos(2025, 2, 14)
    # 3,000 a week is more than 10,000 a month: an upgrade, now by default
    assert _preview(JAN31_2025, 10_000, 3_000, when, new_interval="weekly").direction == "upgrade"
    # 100,000 a year is less than 10,000 a month: a downgrade, at the period end by default
    yearly = _preview(JAN31_2025, 10_000, 100_000, when, new_interval="annually")
    assert (yearly.direction, yearly.at) == ("downgrade", "period_end")
    same = _preview(JAN31_2025, 10_000, 120_000, when, new_interval="monthly", new_count=12)
    assert same.direction == "lateral" and same.at == "now" and same.anchor_changes


def test_equal_period_lengths_keep_the_anchor():
    when = _lagos(2025, 2, 14)
    annual = BillingCycle("annually", 1, date(2025, 1, 31), LAGOS).period(0)
    preview = _preview(annual, 1_000_000, 2_000_000, when, old_interval="annually",
                       new_interval="monthly", new_count=12)
    assert not preview.anchor_changes and preview.next_invoice_at == annual[1]
    weekly = BillingCycle("weekly", 1, date(2025, 2, 10), LAGOS).period(0)
    assert not _preview(weekly, 1, 2, when, old_interval="weekly", new_interval="daily",
                        new_count=7).anchor_changes


def test_durations_are_measured_in_utc_across_dst():
    ny = zoneinfo.ZoneInfo(NEW_YORK)
    # 1 Mar → 1 Apr in New York is 743 hours (clocks go forward on 9 Mar); wall-clock
    # subtraction in one zone would count 744
    period = (datetime(2025, 3, 1, tzinfo=ny), datetime(2025, 4, 1, tzinfo=ny))
    preview = _preview(period, 0, 743_000, datetime(2025, 3, 16, tzinfo=ny), tz=NEW_YORK)
    assert preview.amount_due_now == 384_000  # 16 days = 384 of 743 hours


@pytest.mark.parametrize(("changes", "message"), [
    ({"changed_at": JAN31_2025[1]}, "outside the current period"),
    ({"changed_at": JAN31_2025[0] - SECOND}, "outside the current period"),
    ({"changed_at": datetime(2025, 2, 14)}, "aware"),
    ({"period_end": JAN31_2025[0]}, "end after it starts"),
    ({"new_amount": -1}, "negative"),
    ({"at": "tomorrow"}, "at must be"),
    ({"new_interval": "fortnightly"}, "Unknown interval"),
    ({"old_interval_count": 0}, "at least 1"),
])
def test_bad_changes_are_refused(changes, message):
    start, end = JAN31_2025
    arguments = {"period_start": start, "period_end": end, "old_amount": 1_000,
                 "old_interval": "monthly", "old_interval_count": 1, "new_amount": 2_000,
                 "new_interval": "monthly", "new_interval_count": 1,
                 "changed_at": _lagos(2025, 2, 14), "tz": LAGOS} | changes
    with pytest.raises(ValueError, match=message):
        change_preview(**arguments)


# ---- properties, against a calculation written differently ----------------------------

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)
ZONES = [LAGOS, "UTC", "Africa/Nairobi", NEW_YORK, "Asia/Kolkata"]
NOMINAL_DAYS = {"daily": Decimal(1), "weekly": Decimal(7)}
MONTH = Decimal("365.2425") / 12  # 30.436875 exactly


def _month_end(year: int, month: int, back: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1] - back)


anchors = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    st.builds(_month_end, st.integers(2000, 2060), st.integers(1, 12), st.integers(0, 3)),
    st.sampled_from([date(year, 2, 29) for year in range(2000, 2061, 4)]),
)
prices = st.integers(0, 10**10)
cycles = st.tuples(st.sampled_from(INTERVALS), st.integers(1, 12))


@st.composite
def changes(draw, *, same_cycle=False, zones=ZONES, anchors=anchors, cycles=cycles,
            periods=st.integers(0, 24), local=st.booleans()):
    """A subscription period and a change inside it, to whole seconds, given in UTC or in
    the subscription's own zone (whose wall clock jumps at DST)."""
    tz = draw(st.sampled_from(zones))
    old = draw(cycles)
    new = old if same_cycle else draw(cycles)
    cycle = BillingCycle(old[0], old[1], draw(anchors), tz)
    start, end = cycle.period(draw(periods))
    seconds = (end - start) // SECOND
    changed_at = start + draw(st.integers(0, seconds - 1)) * SECOND
    if draw(local):
        zone = zoneinfo.ZoneInfo(tz)
        start, end, changed_at = (moment.astimezone(zone) for moment in (start, end, changed_at))
    return {"period_start": start, "period_end": end, "old_amount": draw(prices),
            "old_interval": old[0], "old_interval_count": old[1], "new_amount": draw(prices),
            "new_interval": new[0], "new_interval_count": new[1], "changed_at": changed_at,
            "tz": tz}


def _decimal_round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _prorate(amount: int, change: dict) -> int:
    """``amount`` × unused seconds / period seconds, in Decimal, rounded half-up; seconds
    from the Unix timestamps, so a zone's wall clock cannot bend them."""
    end = int(change["period_end"].timestamp())
    unused = end - int(change["changed_at"].timestamp())
    period = end - int(change["period_start"].timestamp())
    with localcontext() as ctx:
        ctx.prec = 60
        return _decimal_round(Decimal(amount) * Decimal(unused) / Decimal(period))


def _days_of(interval: str, count: int) -> Decimal:
    return count * (NOMINAL_DAYS.get(interval) or MONTH * MONTHS[interval])


def _months_or_days(interval: str, count: int) -> relativedelta:
    if interval in MONTHS:
        return relativedelta(months=count * MONTHS[interval])
    return relativedelta(days=count * int(NOMINAL_DAYS[interval]))


def _expected(change: dict, at: str | None) -> dict:
    old, new = change["old_amount"], change["new_amount"]
    old_days = _days_of(change["old_interval"], change["old_interval_count"])
    new_days = _days_of(change["new_interval"], change["new_interval_count"])
    with localcontext() as ctx:
        ctx.prec = 60
        sign = (Decimal(new) * old_days).compare(Decimal(old) * new_days)
    direction = {1: "upgrade", -1: "downgrade", 0: "lateral"}[int(sign)]
    at = at or ("period_end" if direction == "downgrade" else "now")
    zone = zoneinfo.ZoneInfo(change["tz"])
    end = change["period_end"]
    step = _months_or_days(change["new_interval"], change["new_interval_count"])
    # relativedelta normalises months to years: 12 months == 1 year, but a month is never days
    same = _months_or_days(change["old_interval"], change["old_interval_count"]) == step
    expected = {"direction": direction, "at": at, "anchor_changes": not same}
    if at == "period_end":
        new_start = None if same else end
        new_end = None if same else datetime.combine(
            end.astimezone(zone).date() + step, time(), zone).astimezone(UTC)
        return expected | {"amount_due_now": 0, "carried_credit": 0, "next_invoice_amount": new,
                           "effective_at": end, "next_invoice_at": end,
                           "new_period_start": new_start, "new_period_end": new_end}
    if same:
        difference = _prorate(new - old, change)
        due, carried, next_at = max(difference, 0), max(-difference, 0), end
        new_start = new_end = None
    else:
        credit = _prorate(old, change)
        due, carried = max(new - credit, 0), max(credit - new, 0)
        day = change["changed_at"].astimezone(zone).date()
        new_start = datetime.combine(day, time(), zone).astimezone(UTC)
        new_end = next_at = datetime.combine(day + step, time(), zone).astimezone(UTC)
    return expected | {"amount_due_now": due, "carried_credit": carried,
                       "next_invoice_amount": max(new - carried, 0),
                       "effective_at": change["changed_at"], "next_invoice_at": next_at,
                       "new_period_start": new_start, "new_period_end": new_end}


@PROPERTY
@given(change=changes(), at=st.sampled_from([None, "now", "period_end"]))
def test_preview_matches_the_decimal_calculation(change, at):
    preview = change_preview(**change, at=at)
    assert {key: getattr(preview, key) for key in _expected(change, at)} == _expected(change, at)


@PROPERTY
@given(change=changes(same_cycle=True), at=st.sampled_from([None, "now", "period_end"]))
def test_same_cycle_preview_matches_the_decimal_calculation(change, at):
    preview = change_preview(**change, at=at)
    assert {key: getattr(preview, key) for key in _expected(change, at)} == _expected(change, at)


# Periods of a few weeks that start before the clocks change in spring or autumn, given in
# local time, where a zone's wall clock would count an hour too many or too few.
dst_changes = changes(
    zones=[NEW_YORK, "Europe/London"], local=st.just(True), periods=st.just(0),
    anchors=st.builds(lambda year, month, day: date(year, month, 1) + timedelta(days=day),
                      st.integers(2000, 2060), st.sampled_from([2, 3, 9, 10]),
                      st.integers(0, 27)),
    cycles=st.tuples(st.sampled_from(["weekly", "monthly"]), st.integers(1, 4)))


@PROPERTY
@given(change=dst_changes, at=st.sampled_from([None, "now"]))
def test_periods_across_dst_match_the_decimal_calculation(change, at):
    preview = change_preview(**change, at=at)
    assert {key: getattr(preview, key) for key in _expected(change, at)} == _expected(change, at)


@PROPERTY
@given(change=changes(), at=st.sampled_from([None, "now", "period_end"]))
def test_amounts_are_never_negative_and_credit_and_charge_agree(change, at):
    preview = change_preview(**change, at=at)
    amounts = (preview.amount_due_now, preview.credit, preview.charge, preview.carried_credit,
               preview.next_invoice_amount, preview.credit_left)
    assert min(amounts) >= 0
    assert preview.charge - preview.credit == preview.amount_due_now - preview.carried_credit
    assert preview.amount_due_now == 0 or preview.carried_credit == 0  # never both
    assert (preview.next_invoice_amount - preview.credit_left
            == change["new_amount"] - preview.carried_credit)
    assert preview.credit <= change["old_amount"]


@PROPERTY
@given(change=changes(same_cycle=True))
def test_upgrade_at_the_start_charges_the_full_difference_and_at_the_end_about_nothing(change):
    start, end = (change[key].astimezone(UTC) for key in ("period_start", "period_end"))
    difference = change["new_amount"] - change["old_amount"]
    first = change_preview(**change | {"changed_at": start}, at="now")
    assert first.amount_due_now - first.carried_credit == difference
    last = change_preview(**change | {"changed_at": end - SECOND}, at="now")
    period = (end - start) // SECOND
    # a difference of D over P seconds leaves D/P for the last second, rounded: at most 1
    # kobo more than D/P, and nothing while D is under half the period's seconds
    assert (last.amount_due_now + last.carried_credit) * period <= abs(difference) + period
    if 2 * abs(difference) < period:
        assert last.amount_due_now == last.carried_credit == 0


@PROPERTY
@given(change=changes(same_cycle=True), difference=st.integers(-10**9, 10**9))
def test_exact_halves_round_up_away_from_zero(change, difference):
    # periods are whole local days, so their seconds are even: the midpoint leaves half
    start, end = (change[key].astimezone(UTC) for key in ("period_start", "period_end"))
    middle = start + (end - start) / 2
    odd = 2 * difference + 1
    preview = change_preview(**change | {"old_amount": 3 * 10**9, "new_amount": 3 * 10**9 + odd,
                                         "changed_at": middle}, at="now")
    assert preview.amount_due_now - preview.carried_credit == odd // 2 + (1 if odd > 0 else 0)
    assert preview.amount_due_now + preview.carried_credit == (abs(odd) + 1) // 2


@PROPERTY
@given(change=changes(same_cycle=True), data=st.data())
def test_a_later_upgrade_never_costs_more(change, data):
    changed_at, end = (change[key].astimezone(UTC) for key in ("changed_at", "period_end"))
    later = changed_at + data.draw(st.integers(0, (end - changed_at) // SECOND - 1)) * SECOND
    early = change_preview(**change, at="now")
    late = change_preview(**change | {"changed_at": later}, at="now")
    assert late.amount_due_now <= early.amount_due_now
    assert late.carried_credit <= early.carried_credit
