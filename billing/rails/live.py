"""Where a live rail's call goes: the processor that takes the merchant's real money.

Every rail method takes ``merchant_id``; in test mode the sandbox answers and ignores it,
in live mode the rail asks :func:`live_processor` for that merchant's processor::

    processor = live_processor(merchant_id)     # RailError("no_processor") when none
    result = processor.charge(amount=…, currency=…, details=…, idempotency_key=…)

Today the processor is the one operator-wide ``DURO_CARD_PROCESSOR`` (a dotted path); the
merchant's own connected processor (issue #15: Paystack, Flutterwave) takes its place here,
behind the same two functions.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from billing.rails.base import RailError


def live_processor(merchant_id: str):
    """The processor that takes ``merchant_id``'s live payments."""
    path = getattr(settings, "DURO_CARD_PROCESSOR", "")
    if not path:
        raise RailError(
            "no_processor",
            "Live card payments are not available: no card processor is configured "
            "(set DURO_CARD_PROCESSOR).",
        )
    return import_string(path)()


def refunding_processor(merchant_id: str):
    """The live processor, if it can refund (an older one may only charge)."""
    processor = live_processor(merchant_id)
    if not all(hasattr(processor, name) for name in ("refund", "refund_lookup")):
        raise RailError("refund_unsupported", "The configured card processor cannot "
                                              "refund; refund from its own dashboard.")
    return processor
