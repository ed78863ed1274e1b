"""Cursor lists: ``?limit=`` (1–100, default 20) and ``?startingAfter=<id>``.

Lists run newest first on ``(created_at, id)``; the cursor is the id of the
last item seen, so pages stay stable while new rows arrive.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter

from duro.errors import Invalid, NotFound

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid("limit must be an integer from 1 to 100.", param="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("limit must be an integer from 1 to 100.", param="limit")
    return limit


def paginate(queryset: QuerySet, query_params) -> tuple[list, bool]:
    limit = parse_limit(query_params.get("limit"))
    queryset = queryset.order_by("-created_at", "-id")
    after = query_params.get("startingAfter") or query_params.get("starting_after")
    if after:
        anchor = queryset.filter(pk=after).values("created_at").first()
        if anchor is None:
            raise NotFound("startingAfter names no object in this list.", param="startingAfter")
        queryset = queryset.filter(
            Q(created_at__lt=anchor["created_at"])
            | Q(created_at=anchor["created_at"], id__lt=after)
        )
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def list_parameters(*filters: OpenApiParameter) -> list[OpenApiParameter]:
    """A list operation's documented query: its filters, then ``limit`` and ``startingAfter``."""
    return [
        *filters,
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                         required=False, description=f"1–{MAX_LIMIT}, default {DEFAULT_LIMIT}."),
        OpenApiParameter("startingAfter", str, required=False,
                         description="The id of the last object of the previous page."),
    ]
