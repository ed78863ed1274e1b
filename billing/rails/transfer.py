"""The bank-transfer rail: a one-time account for the exact amount, confirmed later.

A pay answers ``processing`` with the account to transfer to (valid 30 minutes at
most, never past the ``expires_before`` the caller passes: the session's expiry).
The money arrives asynchronously: a processor's webhook in live mode, the
sandbox's *simulate* in test mode (:mod:`billing.rails.pending`). Either way the
answer reaches billing through :func:`billing.confirmations.payment_confirmed`, the
one door for late answers::

    result = rail.charge(mode="test", amount=1_500_000, currency="NGN",
                         details={"expires_before": "2026-11-24T18:00:00Z"},
                         idempotency_key=attempt.id)        # status "processing"
    result["extra"]["instructions"]["transfer"]             # {"bankName", "accountNumber", …}
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from billing.rails.pending import PendingRail
from duro.timestamps import iso

SANDBOX_BANK = "Duro Sandbox Bank"


class BankTransferRail(PendingRail):
    identifier = "bank_transfer"
    label = "Bank transfer"
    currencies = ("NGN",)
    ttl = timedelta(minutes=30)
    instructions_key = "transfer"
    reference_prefix = "sbx_tr"
    code_prefix = "transfer"
    expired_message = "The transfer account expired before any money arrived. Please pay again."
    failed_message = "The bank transfer did not arrive."

    def validate(self, details: dict, *, now: datetime, mode: str,
                 currency: str = "") -> dict[str, str]:
        return {}  # nothing to type: the payer gets an account number

    def instructions(self, *, amount: int, currency: str, details: dict, key: str,
                     expires: datetime) -> dict:
        digest = hashlib.sha256(key.encode()).hexdigest()
        account = "99" + str(int(digest[:12], 16))[-8:].rjust(8, "0")
        return {"bankName": SANDBOX_BANK, "accountNumber": account,
                "accountName": "Duro Checkout", "amount": amount, "currency": currency,
                "expiresAt": iso(expires)}
