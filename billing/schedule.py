"""When the renewal engine should next look at a subscription (pure code, no ORM, no clock).

The engine keeps one indexed column, ``Subscription.next_attempt_at``: the
moment something is due — the trial notice three days before a trial ends
(``DURO_TRIAL_NOTICE_DAYS``), the renewal at the end of the current period, or
the next dunning retry.
Retries are counted from the renewal's due date (the invoice's period
start): with the default ``[1, 3, 5]`` a failed renewal is retried one,
three and five days after it was due, and the subscription is cancelled
when the last retry fails. An attempt that ran late (an engine outage, a
slow queue) never packs the retries after it together: each retry also
waits the schedule's own spacing after the attempt that just failed —
``days[0]`` after the renewal, ``days[n] - days[n-1]`` after retry ``n``.

    next_attempt_for(status="active", current_period_end=end, trial_end=None,
                     trial_will_end_sent=False)                      # → end
    retry_at(due=due, failures=1, days=[1, 3, 5], failed_at=due)     # → due + 1 day
    retry_at(due=due, failures=1, days=[1, 3, 5], failed_at=due + 6 * DAY)  # → due + 7 days
"""

from __future__ import annotations

from datetime import datetime, timedelta

TRIAL_NOTICE = timedelta(days=3)  # the default of settings.DURO_TRIAL_NOTICE_DAYS
DEFAULT_DUNNING_DAYS = (1, 3, 5)
MIN_RETRY_GAP = timedelta(hours=1)  # even a schedule with a 0 never retries back to back
RENEWING = ("trialing", "active", "non_renewing")


def next_attempt_for(*, status: str, current_period_end: datetime, trial_end: datetime | None,
                     trial_will_end_sent: bool,
                     trial_notice: timedelta = TRIAL_NOTICE) -> datetime | None:
    """The first moment the engine must act on a subscription in good standing: a trial's
    notice is ``trial_notice`` before it ends."""
    if status not in RENEWING:
        return None
    if status == "trialing" and trial_end is not None and not trial_will_end_sent:
        return trial_end - trial_notice
    return current_period_end


def retry_at(*, due: datetime, failures: int, days: list[int] | tuple[int, ...],
             failed_at: datetime) -> datetime | None:
    """When to retry after ``failures`` failed attempts, the last one at ``failed_at``;
    None once the schedule is spent.

    The configured day (``due + days[failures - 1]``), or later when the failed attempt
    itself ran late: never sooner after it than the schedule spaces those two attempts.
    """
    if failures > len(days):
        return None
    offsets = (0, *days)  # the renewal itself is attempt 0, on its due date
    spacing = timedelta(days=offsets[failures] - offsets[failures - 1])
    return max(due + timedelta(days=days[failures - 1]),
               failed_at + max(spacing, MIN_RETRY_GAP))


def validate_dunning_days(days: object) -> list[int]:
    """A strictly increasing list of 0–10 whole days between 1 and 60; raises ValueError."""
    if not isinstance(days, list | tuple) or len(days) > 10:
        raise ValueError("Dunning days must be a list of at most 10 integers.")
    clean: list[int] = []
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 60:
            raise ValueError("Each dunning day must be an integer from 1 to 60.")
        if clean and day <= clean[-1]:
            raise ValueError("Dunning days must be strictly increasing.")
        clean.append(day)
    return clean
