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
from duro.modes import LIVE


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


def ussd_banks_offered(*, merchant_id: str, mode: str) -> tuple:
    """The USSD banks a payer may pick: every sandbox bank in test mode; in live mode those
    the merchant's processor takes (Paystack takes fewer than the sandbox lists). Read from
    the shared cache, so hydrate and the page stay at one query on the token's store."""
    from billing.processors.connections import connected_processor
    from billing.rails.ussd import USSD_BANKS

    if mode != LIVE:
        return USSD_BANKS
    processor = connected_processor(merchant_id)
    if processor is None:
        return USSD_BANKS  # the pay is refused anyway: no processor is connected
    return tuple(bank for bank in USSD_BANKS if bank.code in processor.ussd_banks)


def offered_choice_errors(rail, details: dict, *, merchant_id: str, mode: str) -> dict:
    """A choice the page did not offer for this merchant and mode (a USSD bank the live
    processor does not take), as the rail's field errors: refused before anything is
    charged, as the rail's own validation is."""
    if rail.identifier != "ussd":
        return {}
    banks = {bank.code for bank in ussd_banks_offered(merchant_id=merchant_id, mode=mode)}
    if str(details.get("bank") or "") in banks:
        return {}
    return {"ussd.bank": "This bank does not take USSD payments here: choose one of the "
                         "banks listed."}
