"""The USSD rail (NGN): the payer picks their bank and dials a one-time code from the phone
registered with it, then approves on the phone; the bank confirms later.

A pay answers ``processing`` with the code to dial (valid 15 minutes, never past the
session); the answer arrives as for every asynchronous rail (:mod:`billing.rails.pending`)::

    rail.validate({"bank": "737"}, now=now, mode="test")        # {} — a bank we list
    result = rail.charge(mode="test", amount=1_500_000, currency="NGN",
                         details={"bank": "737", "expires_before": "…"},
                         idempotency_key=attempt.id)             # "processing"
    result.extra["instructions"]["ussd"]    # {"code": "*737*000*…#", "bank": "GTBank", …}

The banks are the sandbox's own list (:data:`USSD_BANKS`): each bank's USSD short code
and the name payers know it by. Hydrate lists them (``ussdBanks``) for the page's picker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.rails.pending import PendingRail
from duro.timestamps import iso


@dataclass(frozen=True)
class UssdBank:
    code: str  # the bank's USSD short code: what is dialled first (*737*…#)
    name: str


USSD_BANKS: tuple[UssdBank, ...] = (
    UssdBank("737", "GTBank"),
    UssdBank("919", "UBA"),
    UssdBank("966", "Zenith Bank"),
    UssdBank("894", "First Bank"),
    UssdBank("901", "Access Bank"),
    UssdBank("822", "Sterling Bank"),
)
BANK_OF = {bank.code: bank for bank in USSD_BANKS}


class UssdRail(PendingRail):
    identifier = "ussd"
    label = "USSD"
    currencies = ("NGN",)
    ttl = timedelta(minutes=15)
    instructions_key = "ussd"
    reference_prefix = "sbx_ussd"
    code_prefix = "ussd"
    banks = USSD_BANKS
    expired_message = "The USSD code expired before the payment was approved. Please pay again."
    failed_message = "The bank did not approve the USSD payment."

    def validate(self, details: dict, *, now: datetime, mode: str,
                 currency: str = "") -> dict[str, str]:
        bank = details.get("bank")
        if bank in (None, ""):
            return {"ussd.bank": "Choose your bank."}
        if not isinstance(bank, str) or bank not in BANK_OF:
            return {"ussd.bank": "Choose one of the banks listed."}
        return {}

    def instructions(self, *, amount: int, currency: str, details: dict, key: str,
                     expires: datetime) -> dict:
        bank = BANK_OF[str(details["bank"])]
        # The code's last part names this payment at the bank: derived from the attempt,
        # so asking twice shows the same code.
        digits = str(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))[-6:].rjust(6, "0")
        return {"code": f"*{bank.code}*000*{digits}#", "bank": bank.name, "bankCode": bank.code,
                "expiresAt": iso(expires)}
