"""The sandbox's charge ledger, shared by every test-mode rail: one row per idempotency key.

It stands where a processor would: a charge asked twice answers with its first
outcome and is never taken twice, and an earlier charge can be looked up::

    result = sandbox_record(rail="card", key=attempt.id, amount=1_500_000,
                            currency="NGN", result=result)
    earlier = sandbox_lookup(attempt.id)       # None when the sandbox never saw it
    refund = sandbox_refund(charge_key=attempt.id, amount=50_000, currency="NGN",
                            idempotency_key=refund.id)

Refunds have their own ledger (:class:`~billing.models.SandboxRefund`) and answer as a
processor would: the charge must exist and have succeeded, never more than it took is
given back, and a charge flagged ``extra["refunds"] == "fail"`` (a sandbox card that
refuses refunds) has every refund declined.
"""

from __future__ import annotations

from typing import cast

from django.db import IntegrityError, connections
from django.db.models import Sum

from billing.models import SandboxCharge, SandboxRefund
from billing.rails.base import ChargeResult, RefundResult
from duro.db import atomic
from duro.ids import random_base62
from duro.modes import current_mode


def sandbox_record(*, rail: str, key: str, amount: int, currency: str,
                   result: ChargeResult) -> ChargeResult:
    """Write the outcome once per key; a second ask returns the first outcome.

    One ``INSERT … ON CONFLICT DO NOTHING``: outside a transaction it is its own (no
    ``BEGIN``/``COMMIT`` round trips, as a processor's ledger costs the pay nothing
    more), inside one it needs no savepoint; a key already written inserts nothing."""
    row = SandboxCharge(idempotency_key=key, rail=rail, amount=amount, currency=currency,
                        outcome=result.as_dict())
    connection = connections[current_mode()]
    quote, meta = connection.ops.quote_name, SandboxCharge._meta
    fields = meta.concrete_fields
    sql = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING".format(  # noqa: S608
        quote(meta.db_table), ", ".join(quote(cast(str, f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)), quote(cast(str, meta.pk.column)))  # names from _meta only
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(row, True), connection)
                             for f in fields])
        if cursor.rowcount == 1:
            return result
    return ChargeResult.from_dict(SandboxCharge.objects.get(pk=key).outcome)


def sandbox_lookup(key: str) -> ChargeResult | None:
    row = SandboxCharge.objects.filter(pk=key).first()
    return ChargeResult.from_dict(row.outcome) if row else None


def sandbox_refund(*, charge_key: str, amount: int, currency: str,
                   idempotency_key: str) -> RefundResult:
    """Give back ``amount`` of a sandbox charge, once per key; asked again, the first answer."""
    earlier = sandbox_refund_lookup(idempotency_key)
    if earlier is not None:
        return earlier
    result = _refund_outcome(charge_key, amount)
    try:
        with atomic():
            SandboxRefund.objects.create(idempotency_key=idempotency_key, charge_key=charge_key,
                                         amount=amount, currency=currency,
                                         outcome=result.as_dict())
        return result
    except IntegrityError:  # a concurrent ask with the same key: its outcome stands
        return RefundResult.from_dict(SandboxRefund.objects.get(pk=idempotency_key).outcome)


def sandbox_refund_lookup(key: str) -> RefundResult | None:
    row = SandboxRefund.objects.filter(pk=key).first()
    return RefundResult.from_dict(row.outcome) if row else None


def _refund_failed(code: str, message: str) -> RefundResult:
    return RefundResult(status="failed", failure_code=code, failure_message=message)


def _refund_outcome(charge_key: str, amount: int) -> RefundResult:
    charge = SandboxCharge.objects.filter(pk=charge_key).first()
    taken = ChargeResult.from_dict(charge.outcome) if charge is not None else None
    if charge is None or taken is None or not taken.succeeded:
        return _refund_failed("charge_not_found",
                              "The sandbox holds no successful charge to refund.")
    if taken.extra.get("refunds") == "fail":
        return _refund_failed("refund_declined", "The card issuer declined the refund.")
    given_back = SandboxRefund.objects.filter(
        charge_key=charge_key, outcome__status="succeeded").aggregate(n=Sum("amount"))["n"]
    received = taken.amount if taken.amount is not None else charge.amount
    if amount + (given_back or 0) > received:
        return _refund_failed("amount_exceeds_charge", "Refunds would exceed the charge.")
    return RefundResult(status="succeeded", reference=f"sbx_re_{random_base62(20)}")
