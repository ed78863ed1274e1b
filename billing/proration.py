"""Plan changes with proration: what a change costs now and what the next invoice will be
(pure code, no ORM, no clock: callers pass the period, the prices and ``changed_at``).

The rules are API.md §13's. Money is measured on the unused share of the current period,
``unused = (period_end − changed_at) / (period_end − period_start)``, exactly (as a
:class:`~fractions.Fraction` of the durations, to the microsecond datetimes carry), and
each amount is rounded **once**, half-up (half a kobo goes away from zero), to the minor
unit.

- **Same cycle** (the same period length: ``monthly × 3`` is ``quarterly × 1``), ``at="now"``:
  the billing day is kept and ``round((new − old) × unused)`` is charged now when
  positive; when negative (a downgrade switched at once) its size is carried as credit
  to the next invoice, which bills the new price at the old period's end.
- **Another cycle**, ``at="now"``: a new anchor at the change, exactly as a first pay would
  set it (:func:`billing.cycle.subscription_start`: the new period starts at local
  midnight of the change's date in the merchant's zone). Charged now: the new price minus
  ``round(old × unused)``, the old plan's unused credit; credit larger than the new price
  is carried to the next invoice, never refunded.
- ``at="period_end"`` (a downgrade's default): nothing now; the new plan takes over at
  ``period_end``, whose invoice bills the new price (a new cycle is anchored there).

A change is an **upgrade** when the new plan costs more per day (on the same cycle: more
per period), a **downgrade** when it costs less, **lateral** when the same; ``at``
defaults to ``"period_end"`` for a downgrade and ``"now"`` otherwise (so a cheaper-per-day
yearly plan waits for the monthly period to end unless asked ``at="now"``).
Credit is never paid out: what the next invoice does not use keeps carrying
(``credit_left``, for the caller to keep on the subscription). In every case ``charge −
credit == amount_due_now − carried_credit``: ``credit`` is ``round(old × unused)``, the old
plan's unused time, and ``charge`` what the new plan costs from the change to its next
invoice (same cycle: ``credit`` plus the one-rounded difference, so within a kobo of
``round(new × unused)``; another cycle: the new price).
A change must fall inside the current period, ``period_start <= changed_at <
period_end`` (periods are half-open, as :class:`~billing.cycle.BillingCycle`'s are);
outside it, or with a bad price, interval or ``at``, :class:`ValueError`.

    preview = change_preview(period_start=s, period_end=e, old_amount=1_000_000,
                             old_interval="monthly", old_interval_count=1,
                             new_amount=2_500_000, new_interval="monthly",
                             new_interval_count=1, changed_at=now, tz="Africa/Lagos")
    preview.amount_due_now, preview.next_invoice_amount, preview.effective_at
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

from billing.cycle import DAYS, MONTHS, subscription_start

At = Literal["now", "period_end"]
Direction = Literal["upgrade", "downgrade", "lateral"]
AT_CHOICES: tuple[At, ...] = ("now", "period_end")
# The average Gregorian month (146,097 days every 400 years), only to compare the cost
# per day of plans on different cycles; no amount is ever computed from it.
MONTH_DAYS = Fraction(146_097, 400 * 12)


@dataclass(frozen=True)
class ChangePreview:
    """What a plan change does; amounts are integers in the subscription's minor unit."""

    direction: Direction
    at: At
    amount_due_now: int  # charged at the change (0 unless ``at`` is "now")
    credit: int  # the old plan's unused time, round(old × unused)
    charge: int  # the new plan's cost from the change to its next invoice
    carried_credit: int  # credit the next invoices take off, never refunded
    next_invoice_amount: int  # the new price less the carried credit, never below 0
    credit_left: int  # carried credit that invoice does not use, kept for the ones after it
    next_invoice_at: datetime  # when that invoice is charged
    effective_at: datetime  # when the new plan takes over
    anchor_changes: bool  # another cycle: a new anchor and period (below)
    new_period_start: datetime | None
    new_period_end: datetime | None


def round_half_up(value: Fraction) -> int:
    """``value`` rounded to an integer, half away from zero (Decimal's ``ROUND_HALF_UP``)."""
    magnitude = abs(value)
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return rounded if value >= 0 else -rounded


def cycle_length(interval: str, interval_count: int) -> tuple[str, int]:
    """A cycle's period length as ``("months" | "days", count)``, so equal lengths compare
    equal: ``monthly × 12`` is ``annually × 1``, ``daily × 7`` is ``weekly × 1``."""
    if interval_count < 1:
        raise ValueError("interval_count must be at least 1")
    if interval in MONTHS:
        return "months", MONTHS[interval] * interval_count
    if interval in DAYS:
        return "days", DAYS[interval] * interval_count
    raise ValueError(f"Unknown interval {interval!r}")


def change_direction(*, old_amount: int, old_interval: str, old_interval_count: int,
                     new_amount: int, new_interval: str, new_interval_count: int) -> Direction:
    """Upgrade when the new plan costs more per day (on the same cycle: more per period),
    downgrade when less, lateral when the same. A downgrade waits for the period end
    unless asked otherwise; see :func:`default_at`."""
    old_unit, old_count = cycle_length(old_interval, old_interval_count)
    new_unit, new_count = cycle_length(new_interval, new_interval_count)
    old_days = old_count * (MONTH_DAYS if old_unit == "months" else 1)
    new_days = new_count * (MONTH_DAYS if new_unit == "months" else 1)
    old_rate, new_rate = Fraction(old_amount) / old_days, Fraction(new_amount) / new_days
    if new_rate > old_rate:
        return "upgrade"
    return "downgrade" if new_rate < old_rate else "lateral"


def default_at(direction: Direction) -> At:
    """API.md §13: an upgrade (or lateral move) takes effect now, a downgrade at period end."""
    return "period_end" if direction == "downgrade" else "now"


def _microseconds(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    # Subtracting two datetimes of one zone ignores DST; in UTC the difference is exact.
    return moment.astimezone(UTC)


def change_preview(*, period_start: datetime, period_end: datetime, old_amount: int,
                   old_interval: str, old_interval_count: int, new_amount: int,
                   new_interval: str, new_interval_count: int, changed_at: datetime,
                   tz: str, at: At | None = None) -> ChangePreview:
    """The preview of moving a subscription from its current plan to another at
    ``changed_at``; ``at=None`` takes :func:`default_at` of the change's direction.

    ``old_amount`` is the price billed for the current period, ``tz`` the subscription's
    zone (it places a new anchor); both cycles are validated as
    :class:`~billing.cycle.BillingCycle` validates them.
    """
    start, end = _utc(period_start, "period_start"), _utc(period_end, "period_end")
    now = _utc(changed_at, "changed_at")
    if old_amount < 0 or new_amount < 0:
        raise ValueError("Prices cannot be negative")
    if start >= end:
        raise ValueError("The period must end after it starts")
    if not start <= now < end:
        raise ValueError(f"The change at {now.isoformat()} is outside the current period "
                         f"[{start.isoformat()}, {end.isoformat()})")
    direction = change_direction(old_amount=old_amount, old_interval=old_interval,
                                 old_interval_count=old_interval_count, new_amount=new_amount,
                                 new_interval=new_interval,
                                 new_interval_count=new_interval_count)
    at = default_at(direction) if at is None else at
    if at not in AT_CHOICES:
        raise ValueError(f"at must be 'now' or 'period_end', not {at!r}")
    same_cycle = (cycle_length(old_interval, old_interval_count)
                  == cycle_length(new_interval, new_interval_count))

    if at == "period_end":
        new_start = new_end = None
        if not same_cycle:
            first = subscription_start(interval=new_interval, interval_count=new_interval_count,
                                       trial_days=0, paid_at=end, tz=tz)
            new_start, new_end = first.current_period_start, first.current_period_end
        return ChangePreview(direction, at, amount_due_now=0, credit=0, charge=0,
                             carried_credit=0, next_invoice_amount=new_amount, credit_left=0,
                             next_invoice_at=end, effective_at=end, anchor_changes=not same_cycle,
                             new_period_start=new_start, new_period_end=new_end)

    unused = Fraction(_microseconds(end - now), _microseconds(end - start))
    credit = round_half_up(old_amount * unused)
    if same_cycle:
        prorated = round_half_up((new_amount - old_amount) * unused)  # the one rounding
        due, carried = max(prorated, 0), max(-prorated, 0)
        return ChangePreview(direction, at, amount_due_now=due, credit=credit,
                             charge=credit + prorated, carried_credit=carried,
                             next_invoice_amount=max(0, new_amount - carried),
                             credit_left=max(0, carried - new_amount), next_invoice_at=end,
                             effective_at=now, anchor_changes=False, new_period_start=None,
                             new_period_end=None)

    first = subscription_start(interval=new_interval, interval_count=new_interval_count,
                               trial_days=0, paid_at=now, tz=tz)
    carried = max(0, credit - new_amount)
    return ChangePreview(direction, at, amount_due_now=max(0, new_amount - credit),
                         credit=credit, charge=new_amount, carried_credit=carried,
                         next_invoice_amount=max(0, new_amount - carried),
                         credit_left=max(0, carried - new_amount),
                         next_invoice_at=first.current_period_end, effective_at=now,
                         anchor_changes=True, new_period_start=first.current_period_start,
                         new_period_end=first.current_period_end)
