"""The mode (test or live) of the work in hand, carried in a context variable.

The mode is set once at the edge — the API key prefix, the checkout token
prefix, the admin switch, a Celery task argument — and read by the database
router. Code that needs a mode and has none fails loudly::

    with mode_context("test"):
        CheckoutSession.objects.get(...)   # runs on the ``test`` store
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

TEST = "test"
LIVE = "live"
MODES = (TEST, LIVE)

_current: ContextVar[str | None] = ContextVar("duro_mode", default=None)


class NoModeError(RuntimeError):
    """A mode-scoped model was touched with no mode set."""


def current_mode() -> str:
    mode = _current.get()
    if mode is None:
        raise NoModeError(
            "No mode is set: mode-scoped data (checkout, billing, webhooks) needs "
            "mode_context('test'|'live') at the edge. Refusing to guess a store."
        )
    return mode


def peek_mode() -> str | None:
    """The current mode, or None; for code that can act without one."""
    return _current.get()


def set_mode(mode: str | None) -> Token:
    if mode is not None and mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}")
    return _current.set(mode)


def reset_mode(token: Token) -> None:
    _current.reset(token)


@contextmanager
def mode_context(mode: str) -> Iterator[str]:
    token = set_mode(mode)
    try:
        yield mode
    finally:
        _current.reset(token)


def mode_from_prefix(value: str, prefixes: tuple[str, ...]) -> str | None:
    """``mode_from_prefix("sk_test_abc", ("sk",))`` → ``"test"``; unknown → None."""
    for prefix in prefixes:
        for mode in MODES:
            if value.startswith(f"{prefix}_{mode}_"):
                return mode
    return None
