"""Where a live rail's call goes: the processor the merchant connected (API.md §11).

Every rail method takes ``merchant_id``; in test mode the sandbox answers and ignores it,
in live mode the rail asks :func:`live_processor` for that merchant's processor, in the
rails' own terms (:class:`billing.processors.gateway.Gateway`)::

    gateway = live_processor(merchant_id)     # RailError("no_processor") when none
    result = gateway.charge(amount=…, currency=…, details=…, idempotency_key=…)

Without a connection a live pay is refused before anything is recorded, with the message
that says what to do (connect Paystack or Flutterwave under Developers → Processor).
"""

from __future__ import annotations

from billing.rails.base import RailError


def live_processor(merchant_id: str):
    """The gateway to ``merchant_id``'s connected processor."""
    # Imported here: the processors build on the rails' types, the rails call them.
    from billing.processors.connections import processor_for, processor_required_message
    from billing.processors.gateway import Gateway

    client = processor_for(merchant_id) if merchant_id else None
    if client is None:
        raise RailError("no_processor", processor_required_message())
    return Gateway(client)


def refunding_processor(merchant_id: str):
    """The gateway that refunds ``merchant_id``'s live payments (the one that took them)."""
    return live_processor(merchant_id)
