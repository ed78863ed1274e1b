"""Payment rails behind one small interface, found by identifier.

    rail = get_rail("card")
    errors = rail.validate(details, now=now, mode=..., currency=...)   # never moves money
    result = rail.charge(mode=..., amount=..., currency=..., details=..., idempotency_key=...)

Rails register themselves in :data:`REGISTRY`. Duro offers a rail for a currency
and mode (:func:`offered_rails`); the hosted page, hydrate and the pay offer what the
merchant has not switched off among those (:func:`enabled_rails`, see
:mod:`billing.rails.switches`), so a rail registered here appears everywhere by itself.
"""

from __future__ import annotations

from billing.rails.base import ChargeResult, PaymentRail, RailError, RefundResult
from billing.rails.card import CardRail
from billing.rails.mobile_money import MobileMoneyRail
from billing.rails.switches import rails_switched_off
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


def offered_rails(*, currency: str, mode: str) -> list[PaymentRail]:
    """The rails Duro offers a payer in ``currency`` in ``mode``, before any merchant's
    switches, in the order they show."""
    return [rail for rail in REGISTRY.values() if rail.offered_for(currency=currency, mode=mode)]


def enabled_rails(*, merchant_id: str, currency: str, mode: str,
                  fresh: bool = False) -> list[PaymentRail]:
    """The rails this merchant's payer in ``currency`` is offered in ``mode``: those Duro
    offers that the merchant has not switched off. ``fresh`` reads the switches from the
    database instead of the cache (the pay decides from what is stored)."""
    off = rails_switched_off(merchant_id=merchant_id, mode=mode, fresh=fresh)
    return [rail for rail in offered_rails(currency=currency, mode=mode)
            if rail.identifier not in off]


__all__ = ["ChargeResult", "PaymentRail", "RailError", "RefundResult", "enabled_rails", "get_rail",
           "offered_rails", "register"]
