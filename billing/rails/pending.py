"""What every asynchronous rail shares: a pay that answers ``processing`` with what the payer
must do (an account to transfer to, a code to dial, a prompt to approve), valid for a while,
and the bank's answer later.

A rail says what the payer sees (:meth:`PendingRail.instructions`) and for how long; the
sandbox part — the ledger row, expiry on lookup, and *simulate* — is written once here::

    result = rail.charge(mode="test", amount=1_500_000, currency="NGN",
                         details={"expires_before": "2026-11-24T18:00:00Z"},
                         idempotency_key=attempt.id)                  # "processing"
    result = rail.simulate(mode="test", idempotency_key=attempt.id, outcome="overpaid")
    payment_confirmed(attempt_id=attempt.id, result=result)           # billing decides

What the sandbox's bank says (:data:`SIMULATED`):

* ``paid``, ``underpaid``, ``overpaid`` — money arrived: the whole amount, half of it, or a
  tenth more (``ChargeResult.amount`` says how much); billing decides what to apply;
* ``failed`` — the payment bounced;
* ``expire`` — the account or code expired with nothing received (a lookup after
  ``expiresAt`` says the same);
* ``late`` — money arrived for an account that has expired: asked only after ``expire``.

Asked twice, each answers with what it said first. In live mode the merchant's connected
processor (:mod:`billing.rails.live`) shows the account, code or prompt and confirms the
money; without one a live pay is refused with ``no_processor``, naming what to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.models import SandboxCharge
from billing.rails.base import ChargeResult, PaymentRail, RailError
from billing.rails.live import live_processor
from billing.rails.refunds import Refunds
from billing.rails.sandbox import (
    sandbox_lookup,
    sandbox_record,
)
from duro.db import atomic
from duro.ids import random_base62
from duro.timestamps import iso

SIMULATED = ("paid", "underpaid", "overpaid", "failed", "expire", "late")
ARRIVED = {"paid", "underpaid", "overpaid"}


def received_for(outcome: str, amount: int) -> int:
    """What the sandbox's bank says arrived for ``outcome`` on a pay of ``amount``."""
    if outcome == "underpaid":
        return amount // 2
    if outcome == "overpaid":
        return amount + max(amount // 10, 100)
    return amount


class PendingRail(Refunds, PaymentRail):
    """An asynchronous rail: subclasses say what the payer must do and for how long."""

    asynchronous = True
    ttl = timedelta(minutes=30)
    instructions_key = ""  # where the instructions appear in the pay's answer
    reference_prefix = "sbx"
    code_prefix = ""  # failure codes are <code_prefix>_expired and <code_prefix>_failed

    def instructions(self, *, amount: int, currency: str, details: dict, key: str,
                     expires: datetime) -> dict:
        """What the payer must do, shown by the pay's answer and the page (with ``expiresAt``)."""
        raise NotImplementedError

    @property
    def expired_code(self) -> str:
        return f"{self.code_prefix or self.identifier}_expired"

    expired_message = "The time to pay ran out before any money arrived. Please pay again."
    failed_message = "The payment did not arrive."

    def charge(self, *, mode: str, amount: int, currency: str, details: dict,
               idempotency_key: str, merchant_id: str = "") -> ChargeResult:
        expires = timezone.now() + self.ttl
        before = parse_datetime(str(details.get("expires_before") or ""))
        if before is not None:
            expires = min(expires, before)
        if mode != "test":
            return live_processor(merchant_id).charge_waiting(
                rail=self.identifier, amount=amount, currency=currency,
                details=self.processor_details(details),
                idempotency_key=idempotency_key, expires_at=expires)
        shown = self.instructions(amount=amount, currency=currency, details=details,
                                  key=idempotency_key, expires=expires)
        result = ChargeResult(status="processing",
                              reference=f"{self.reference_prefix}_{random_base62(20)}",
                              extra={"instructions": {self.instructions_key: shown}})
        return sandbox_record(rail=self.identifier, key=idempotency_key, amount=amount,
                              currency=currency, result=result)

    def processor_details(self, details: dict) -> dict:
        """The (valid) details as a processor takes them (a phone in E.164, say)."""
        return details

    def expires_at(self, result: ChargeResult) -> datetime | None:
        shown = result.extra.get("instructions", {}).get(self.instructions_key, {})
        return parse_datetime(str(shown.get("expiresAt") or ""))

    def lookup(self, *, mode: str, idempotency_key: str, now: datetime | None = None,
               merchant_id: str = "") -> ChargeResult | None:
        """What became of the pay; one still awaited past its ``expiresAt`` has failed
        (``<rail>_expired``): the bank will not credit that account or code any more."""
        if mode != "test":
            return live_processor(merchant_id).lookup(idempotency_key=idempotency_key)
        earlier = sandbox_lookup(idempotency_key)
        if earlier is None or earlier.status != "processing":
            return earlier
        expires = self.expires_at(earlier)
        if expires is None or expires > (now or timezone.now()):
            return earlier
        return self._answer(idempotency_key, "expire")

    def simulate(self, *, mode: str, idempotency_key: str, outcome: str) -> ChargeResult:
        """Sandbox only: what the bank says about a pending pay (:data:`SIMULATED`)."""
        if mode != "test":
            raise RailError("not_found", "Simulations exist in test mode only.")
        if outcome not in SIMULATED:
            raise RailError("invalid_outcome", f"outcome must be one of {', '.join(SIMULATED)}.")
        return self._answer(idempotency_key, outcome)

    def _answer(self, key: str, outcome: str) -> ChargeResult:
        with atomic():
            row = SandboxCharge.objects.select_for_update().filter(pk=key).first()
            if row is None:
                raise RailError("unknown_charge", "No payment is waiting for this bank's answer.")
            earlier = ChargeResult.from_dict(row.outcome)
            expired = earlier.failure_code == self.expired_code
            if outcome == "late":
                if earlier.status == "processing":
                    raise RailError("not_expired", "Money can only arrive late once the time "
                                                   "to pay has run out: expire it first.")
                if not expired:
                    return earlier  # settled otherwise (paid, bounced, or arrived late already)
            elif earlier.status != "processing":
                return earlier
            result = self._outcome(earlier, outcome, row.amount)
            row.outcome = result.as_dict()
            row.save(update_fields=["outcome"])
            return result

    def _outcome(self, earlier: ChargeResult, outcome: str, amount: int) -> ChargeResult:
        if outcome in ARRIVED or outcome == "late":
            return ChargeResult(status="succeeded", reference=earlier.reference,
                                amount=received_for(outcome, amount), extra=earlier.extra,
                                paid_at=iso(timezone.now()) or "")
        if outcome == "expire":
            return ChargeResult(status="failed", reference=earlier.reference,
                                failure_code=self.expired_code,
                                failure_message=self.expired_message, extra=earlier.extra)
        return ChargeResult(status="failed", reference=earlier.reference,
                            failure_code=f"{self.code_prefix or self.identifier}_failed",
                            failure_message=self.failed_message, extra=earlier.extra)
