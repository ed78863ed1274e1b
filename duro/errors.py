"""Duro's own exceptions: what services and selectors raise when a request cannot be done.

Each carries a machine ``code``, a human ``message`` (safe to show to the
merchant or customer) and the ``param`` it is about, plus an optional
``fields`` map for forms that show more than one error. Each class stands
for a kind of failure; the edges map it once — ``duro/api/errors.py`` to the
API envelope and its status, the hosted page to form errors::

    raise NotFound(f"No such plan: {plan_id!r}.", param="plan_id")
    raise Invalid("This plan is inactive.", code="plan_inactive", param="plan_id")

No module below the API knows about HTTP or DRF.
"""

from __future__ import annotations


class DuroError(Exception):
    """A request Duro refuses; nothing was changed (and no money moved)."""

    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None,
                 fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code:
            self.code = code
        self.fields = fields if fields is not None else ({param: message} if param else {})


class Invalid(DuroError):
    """The input is wrong, or the object is in a state that does not allow it."""


class NotFound(DuroError):
    """The object does not exist, or belongs to someone else (the two look the same)."""

    code = "resource_missing"


class Conflict(DuroError):
    """A concurrent request holds what this one needs; the same request may succeed later."""

    code = "conflict"


class Gone(DuroError):
    """The object existed but can no longer be used (an expired checkout session)."""

    code = "gone"


class PaymentRefused(DuroError):
    """Duro will not take this payment (a blocked customer); nothing was charged."""

    code = "payment_refused"


class RateLimited(DuroError):
    """Too many attempts in a short time; the caller should wait ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
