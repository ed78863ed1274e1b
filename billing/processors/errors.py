"""What a processor client raises (API.md §11), the same for every processor, so a live
rail handles Paystack's and Flutterwave's failures alike::

    try:
        result = client.charge_card(...)
    except ProcessorUnavailable:   # no answer to trust: leave the payment processing
        ...
    except ProcessorAuthError:     # the merchant's secret is wrong: never an outcome
        ...
    except ProcessorRejected:      # refused outright: nothing was charged
        ...
"""

from __future__ import annotations


class ProcessorError(Exception):
    """The processor could not be asked, or would not act; ``status`` is the HTTP status
    if any."""

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ProcessorUnavailable(ProcessorError):
    """No answer to trust (time-out, connection refused, 5xx, 429): the outcome is unknown.
    Leave the payment ``processing``; a lookup by reference resolves it."""


class ProcessorAuthError(ProcessorError):
    """The processor refused the merchant's secret (401, Paystack's "Invalid key"): a broken
    connection, never a payment's outcome."""


class ProcessorRejected(ProcessorError):
    """The processor refused the request itself (a 4xx other than 401); nothing was
    charged."""
