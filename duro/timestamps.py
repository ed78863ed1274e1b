"""Timestamps as Duro writes them on the wire: ISO 8601 in UTC with a ``Z``.

One spelling for API answers and webhook bodies alike, the one DRF's
``DateTimeField`` uses (microseconds when there are any)::

    iso(datetime(2025, 1, 15, 9, 0, tzinfo=UTC))  → "2025-01-15T09:00:00Z"
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
