"""Checkout tokens carry the mode: ``cs_test_…`` / ``cs_live_…`` (≥ 128 bits of randomness).

The public endpoints are hit by a browser with no key, so the mode comes from
the token: :func:`mode_of_token` parses the prefix without touching any store.
"""

from __future__ import annotations

import re

from duro.ids import random_base62
from duro.modes import mode_from_prefix

TOKEN_RANDOM_LENGTH = 32  # base62: ~190 bits
_SHAPE = re.compile(r"^cs_(test|live)_[A-Za-z0-9]{32}$")


def new_token(mode: str) -> str:
    return f"cs_{mode}_{random_base62(TOKEN_RANDOM_LENGTH)}"


def new_reference() -> str:
    """URL-safe and unique per mode (the unique index makes sure)."""
    return f"DURO-{random_base62(16).upper()}"


def mode_of_token(token: str) -> str | None:
    if not _SHAPE.match(token or ""):
        return None
    return mode_from_prefix(token, ("cs",))
