"""A merchant's payment methods per mode: what the dashboard lists, and switching them.

    methods = payment_methods(merchant_id="mer_…", mode="live")
    [(m.rail.label, m.currencies, m.on) for m in methods]   # ("Card", ["NGN", …], True), …
    payment_methods_set(merchant_id="mer_…", mode="live", switched_off={"bank_transfer"},
                        user=request.user)

Every rail in :data:`billing.rails.REGISTRY` that Duro offers in the mode is listed, with
the currencies it serves; rails registered later appear by themselves, switched on. A change
that would leave a currency with no rail is refused: a customer paying in it could not pay
at all (card is the only rail for ZAR and USD, so card stays on). The write locks the row,
and refreshes the cache hydrate and the hosted page read (:mod:`billing.rails.switches`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from billing.models import RailSettings
from billing.rails import REGISTRY, PaymentRail, offered_rails
from billing.rails.switches import CACHE_TTL, cache_key, rails_switched_off
from duro.errors import Invalid
from duro.models import CURRENCIES
from duro.modes import mode_context


@dataclass(frozen=True)
class PaymentMethod:
    rail: PaymentRail
    currencies: list[str]
    on: bool


def _currencies_of(rail: PaymentRail, mode: str) -> list[str]:
    return [c for c in CURRENCIES if rail.offered_for(currency=c, mode=mode)]


def payment_methods(*, merchant_id: str, mode: str) -> list[PaymentMethod]:
    """Each rail Duro offers in ``mode`` (in the page's order), its currencies, on or off."""
    off = rails_switched_off(merchant_id=merchant_id, mode=mode, fresh=True)
    methods = [PaymentMethod(rail=rail, currencies=_currencies_of(rail, mode),
                             on=rail.identifier not in off) for rail in REGISTRY.values()]
    return [m for m in methods if m.currencies]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def payment_methods_set(*, merchant_id: str, mode: str, switched_off: Iterable[str],
                        user=None) -> RailSettings:
    """Switch off exactly ``switched_off`` (rail identifiers) for this merchant in ``mode``;
    every other rail is on. Raises :class:`~duro.errors.Invalid` and changes nothing for an
    unknown rail or a change that leaves a currency with no way to pay."""
    off = set(switched_off)
    unknown = sorted(off - REGISTRY.keys())
    if unknown:
        raise Invalid(f"Unknown payment method: {_join(unknown)}.", code="unknown_rail",
                      param="switched_off")
    stranded = [c for c in CURRENCIES
                if (offered := offered_rails(currency=c, mode=mode))
                and all(r.identifier in off for r in offered)]
    if stranded:
        them = "it" if len(stranded) == 1 else "them"
        raise Invalid(f"Customers paying in {_join(stranded)} would have no way to pay: keep "
                      f"at least one payment method on for {them}.", code="rail_required",
                      param="switched_off")
    key = cache_key(merchant_id=merchant_id, mode=mode)
    value = sorted(off)
    with mode_context(mode), transaction.atomic(using=mode):
        row, _ = RailSettings.objects.select_for_update().get_or_create(merchant_id=merchant_id)
        row.switched_off = value
        row.updated_by = user.get_username() if user is not None else ""
        row.save()
        # Drop the old value now and write the new one once committed: a reader in between
        # refills from the database (still the old row) with ``add``, which this set replaces.
        cache.delete(key)
        transaction.on_commit(lambda: cache.set(key, value, CACHE_TTL), using=mode)
    return row
