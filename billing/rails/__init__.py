"""Payment rails behind one small interface, found by identifier.

    rail = get_rail("card")
    errors = rail.validate(details, now=now, mode=..., currency=...)   # never moves money
    result = rail.charge(mode=..., amount=..., currency=..., details=..., idempotency_key=...)

Rails register themselves in :data:`REGISTRY`, in the order the page shows them
(``card``, ``bank_transfer``, ``ussd``, ``mobile_money``); the hosted page offers
every rail in :func:`enabled_rails` for the session's currency and mode.
"""

from __future__ import annotations

from billing.rails.base import ChargeResult, PaymentRail, RailError, RefundResult
from billing.rails.card import CardRail
from billing.rails.mobile_money import MobileMoneyRail
from billing.rails.transfer import BankTransferRail
from billing.rails.ussd import UssdRail

REGISTRY: dict[str, PaymentRail] = {}


def register(rail: PaymentRail) -> PaymentRail:
    REGISTRY[rail.identifier] = rail
    return rail


register(CardRail())
register(BankTransferRail())
register(UssdRail())
register(MobileMoneyRail())


def get_rail(identifier: str) -> PaymentRail:
    try:
        return REGISTRY[identifier]
    except KeyError:
        raise RailError("unknown_rail", f"Unknown payment rail {identifier!r}.") from None


def enabled_rails(*, currency: str, mode: str) -> list[PaymentRail]:
    """The rails a payer in ``currency`` is offered in ``mode``, in the order they show."""
    return [rail for rail in REGISTRY.values() if rail.offered_for(currency=currency, mode=mode)]


__all__ = ["ChargeResult", "PaymentRail", "RailError", "RefundResult", "enabled_rails", "get_rail",
           "register"]
