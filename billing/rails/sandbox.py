"""The sandbox's charge ledger, shared by every test-mode rail: one row per idempotency key.

It stands where a processor would: a charge asked twice answers with its first
outcome and is never taken twice, and an earlier charge can be looked up::

    result = sandbox_record(rail="card", key=attempt.id, amount=1_500_000,
                            currency="NGN", result=result)
    earlier = sandbox_lookup(attempt.id)       # None when the sandbox never saw it
"""

from __future__ import annotations

from django.db import IntegrityError

from billing.models import SandboxCharge
from billing.rails.base import ChargeResult
from duro.db import atomic


def sandbox_record(*, rail: str, key: str, amount: int, currency: str,
                   result: ChargeResult) -> ChargeResult:
    """Write the outcome once per key; a second ask returns the first outcome."""
    try:
        with atomic():
            SandboxCharge.objects.create(idempotency_key=key, rail=rail, amount=amount,
                                         currency=currency, outcome=result.as_dict())
        return result
    except IntegrityError:
        return ChargeResult.from_dict(SandboxCharge.objects.get(pk=key).outcome)


def sandbox_lookup(key: str) -> ChargeResult | None:
    row = SandboxCharge.objects.filter(pk=key).first()
    return ChargeResult.from_dict(row.outcome) if row else None
