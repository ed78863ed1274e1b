"""A merchant's tax details (legal name, address, tax id, VAT rate), cached per merchant.

    tax_details_validate(vat_rate="7.5", ...)        # -> TaxDetails, or Invalid naming tax.*
    tax_details(merchant_id="mer_…")                 # cache hit: no query
    tax_details_many(["mer_a", "mer_b"])             # one cache read, one query for misses
    tax_details_set(merchant_id="mer_…", details=TaxDetails(...))

Every new invoice reads them: its VAT line (``vat_rate`` percent on top of the price, see
billing.pricing) and the seller it prints (``seller()``, snapshot on the invoice). The
rate lives on the merchant's core row; like the checkout origins (duro.origins) the hosted
page and the renewal engine read it from the Django cache so that a pay or a renewal run
costs no extra query per invoice. A change drops the cached value in its transaction and
writes the new one after commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.db import transaction

from duro.cache import cache_get_many
from duro.errors import Invalid
from duro.models import Merchant

CACHE_TTL = 24 * 3600
FIELDS = ("legal_name", "address", "tax_id", "vat_rate")
MAX_LENGTHS = {"legal_name": 200, "address": 500, "tax_id": 64}
# 0–100 with at most 2 decimals, written plainly ("7.5", "100.00"; not "1e1", not " 7.5").
VAT_RATE_PATTERN = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"


@dataclass(frozen=True)
class TaxDetails:
    legal_name: str = ""
    address: str = ""
    tax_id: str = ""
    vat_rate: Decimal | None = None  # percent, e.g. Decimal("7.5"); None: no VAT

    def seller(self) -> dict:
        """What an invoice keeps of its seller when it is issued (``Invoice.seller``)."""
        return {"legal_name": self.legal_name, "address": self.address,
                "tax_id": self.tax_id}

    def as_payload(self) -> dict:
        return {"legal_name": self.legal_name, "address": self.address,
                "tax_id": self.tax_id,
                "vat_rate": vat_rate_text(self.vat_rate)}


def vat_rate_text(rate: Decimal | None) -> str | None:
    """``Decimal("7.50")`` -> ``"7.5"``; ``None`` stays ``None``."""
    if rate is None:
        return None
    return format(rate.normalize(), "f")


def vat_rate_clean(value: object, *, param: str = "tax.vatRate") -> Decimal | None:
    """A rate given as a string (``"7.5"``), 0–100 with at most 2 decimals; ``None``
    clears it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid('Give vatRate as a string, like "7.5".', param=param)
    if not re.match(VAT_RATE_PATTERN, value):
        try:
            rate = Decimal(value)
        except InvalidOperation:
            raise Invalid(f"{value[:20]!r} is not a number, like 7.5.", param=param) from None
        if rate.is_finite() and 0 <= rate <= 100:
            raise Invalid("vatRate has at most 2 decimals, written like 7.5.", param=param)
        raise Invalid("vatRate is a percentage between 0 and 100.", param=param)
    return Decimal(value).quantize(Decimal("0.01"))


def _text(value: object, name: str, param: str) -> str:
    if not isinstance(value, str):  # null too: give "" to clear
        raise Invalid("Give a string.", param=param)
    if "\x00" in value:
        raise Invalid("NUL characters are not allowed.", param=param)
    if len(value) > MAX_LENGTHS[name]:
        raise Invalid(f"At most {MAX_LENGTHS[name]} characters.", param=param)
    return value.strip()


def tax_details_validate(*, current: TaxDetails, changes: dict,
                         params: dict[str, str]) -> TaxDetails:
    """``current`` with ``changes`` (snake_case names; absent: unchanged), validated;
    ``params`` names each field in errors (``tax.vatRate``)."""
    values = {name: getattr(current, name) for name in FIELDS}
    for name, value in changes.items():
        if name == "vat_rate":
            values[name] = vat_rate_clean(value, param=params[name])
        else:
            values[name] = _text(value, name, params[name])
    return TaxDetails(**values)


def cache_key(merchant_id: str) -> str:
    return f"duro:tax:{merchant_id}"


def _of(merchant: Merchant) -> TaxDetails:
    return TaxDetails(legal_name=merchant.legal_name, address=merchant.address,
                      tax_id=merchant.tax_id, vat_rate=merchant.vat_rate)


def _stored(ids: list[str]) -> dict[str, TaxDetails]:
    rows = Merchant.objects.filter(pk__in=ids).only("id", *FIELDS)
    found = {m.pk: _of(m) for m in rows}
    return {mid: found.get(mid, TaxDetails()) for mid in ids}


def tax_details(merchant_id: str) -> TaxDetails:
    """The merchant's tax details (from the cache; one query on a miss)."""
    return tax_details_many([merchant_id])[merchant_id]


def tax_details_many(merchant_ids) -> dict[str, TaxDetails]:
    """Each merchant's tax details: one cache read, one query for those not cached."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return {}
    cached = cache_get_many([cache_key(mid) for mid in ids])
    found: dict[str, TaxDetails] = {}
    missing = []
    for mid in ids:
        value = cached.get(cache_key(mid))
        if isinstance(value, TaxDetails):
            found[mid] = value
        else:
            missing.append(mid)
    if missing:
        stored = _stored(missing)
        for mid, details in stored.items():
            cache.add(cache_key(mid), details, CACHE_TTL)
        found.update(stored)
    return found


def tax_details_set(*, merchant_id: str, details: TaxDetails) -> TaxDetails:
    """Store the merchant's tax details (validated by the caller); new invoices use them."""
    key = cache_key(merchant_id)
    with transaction.atomic(using="default"):
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        merchant.legal_name, merchant.address = details.legal_name, details.address
        merchant.tax_id, merchant.vat_rate = details.tax_id, details.vat_rate
        merchant.save(update_fields=list(FIELDS))
        cache.delete(key)
        transaction.on_commit(lambda: cache.set(key, details, CACHE_TTL), using="default")
    return details
