"""The bank-transfer rail: a one-time account for the exact amount, confirmed later.

A pay answers ``processing`` with the account to transfer to (valid 30 minutes at
most, never past the ``expires_before`` the caller passes: the session's expiry).
The money arrives asynchronously: a processor's webhook in live mode, the
sandbox's *simulate* in test mode. Either way the answer reaches billing through
:func:`billing.confirmations.payment_confirmed`, the one door for late answers::

    result = rail.charge(mode="test", amount=1_500_000, currency="NGN",
                         details={"expires_before": "2026-11-24T18:00:00Z"},
                         idempotency_key=attempt.id)        # status "processing"
    result = rail.simulate(mode="test", idempotency_key=attempt.id, outcome="paid")

Live mode needs a processor (issue: live processors); until one is connected a
live transfer is refused with ``no_processor`` before anything is recorded.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.models import SandboxCharge
from billing.rails.base import ChargeResult, PaymentRail, RailError
from billing.rails.sandbox import sandbox_lookup, sandbox_record
from duro.db import atomic
from duro.ids import random_base62
from duro.timestamps import iso

ACCOUNT_TTL = timedelta(minutes=30)
SANDBOX_BANK = "Duro Sandbox Bank"
SIMULATED = ("paid", "failed")


class BankTransferRail(PaymentRail):
    identifier = "bank_transfer"
    label = "Bank transfer"
    currencies = ("NGN",)
    asynchronous = True

    def validate(self, details: dict, *, now: datetime, mode: str) -> dict[str, str]:
        return {}  # nothing to type: the payer gets an account number

    def charge(self, *, mode: str, amount: int, currency: str, details: dict,
               idempotency_key: str) -> ChargeResult:
        if mode != "test":
            raise RailError("no_processor", "Bank transfers need a connected processor in "
                                            "live mode.")
        now = timezone.now()
        expires = now + ACCOUNT_TTL
        before = parse_datetime(str(details.get("expires_before") or ""))
        if before is not None:
            expires = min(expires, before)
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        account = "99" + str(int(digest[:12], 16))[-8:].rjust(8, "0")
        transfer = {"bankName": SANDBOX_BANK, "accountNumber": account,
                    "accountName": "Duro Checkout", "amount": amount, "currency": currency,
                    "expiresAt": iso(expires)}
        result = ChargeResult(status="processing", reference=f"sbx_tr_{random_base62(20)}",
                              extra={"instructions": {"transfer": transfer}})
        return sandbox_record(rail=self.identifier, key=idempotency_key, amount=amount,
                              currency=currency, result=result)

    def lookup(self, *, mode: str, idempotency_key: str,
               now: datetime | None = None) -> ChargeResult | None:
        """What became of the transfer; one still awaited when its account has expired has
        failed (``transfer_expired``): the bank will not credit that account any more."""
        if mode != "test":
            raise RailError("no_processor", "Bank transfers need a connected processor.")
        earlier = sandbox_lookup(idempotency_key)
        if earlier is None or earlier.status != "processing":
            return earlier
        transfer = earlier.extra.get("instructions", {}).get("transfer", {})
        expires = parse_datetime(str(transfer.get("expiresAt") or ""))
        if expires is None or expires > (now or timezone.now()):
            return earlier
        with atomic():
            row = SandboxCharge.objects.select_for_update().get(pk=idempotency_key)
            current = ChargeResult.from_dict(row.outcome)
            if current.status != "processing":
                return current  # the money arrived (or bounced) just before
            expired = ChargeResult(status="failed", reference=current.reference,
                                   failure_code="transfer_expired",
                                   failure_message="The transfer account expired before any "
                                                   "money arrived. Please pay again.",
                                   extra=current.extra)
            row.outcome = expired.as_dict()
            row.save(update_fields=["outcome"])
            return expired

    def simulate(self, *, mode: str, idempotency_key: str, outcome: str) -> ChargeResult:
        """Sandbox only: the bank tells us the transfer arrived (``paid``) or bounced
        (``failed``). Asked twice, it answers with what it said first."""
        if mode != "test":
            raise RailError("not_found", "Simulations exist in test mode only.")
        if outcome not in SIMULATED:
            raise RailError("invalid_outcome", f"outcome must be one of {', '.join(SIMULATED)}.")
        with atomic():
            row = SandboxCharge.objects.select_for_update().filter(pk=idempotency_key).first()
            if row is None:
                raise RailError("unknown_charge", "No transfer is waiting for this payment.")
            earlier = ChargeResult.from_dict(row.outcome)
            if earlier.status != "processing":
                return earlier
            if outcome == "paid":
                result = ChargeResult(status="succeeded", reference=earlier.reference,
                                      extra=earlier.extra)
            else:
                result = ChargeResult(status="failed", reference=earlier.reference,
                                      failure_code="transfer_failed",
                                      failure_message="The bank transfer did not arrive.",
                                      extra=earlier.extra)
            row.outcome = result.as_dict()
            row.save(update_fields=["outcome"])
            return result
