"""The card rail. Test mode is the sandbox of API.md §5; live mode needs a processor.

Sandbox cards (any future expiry, any 3-digit CVC):

    4242 4242 4242 4242  Visa, succeeds        5555 5555 5555 4444  Mastercard, succeeds
    4000 0000 0000 0002  declined              4000 0000 0000 9995  insufficient funds
    4000 0000 0000 3220  asks for OTP 123456   4000 0000 0000 0341  pays now, renewals fail
    4000 0000 0000 5126  pays and renews; every refund of its payments fails

The sandbox keeps ledgers (:class:`billing.models.SandboxCharge`,
:class:`billing.models.SandboxRefund`) keyed by idempotency key, as a processor
would: asking twice answers with the first outcome and never charges (or gives
back) twice. Refunds succeed at once unless the charge's outcome says they fail:
a 5126 card's authorization carries that into its renewals.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime

from django.conf import settings

from billing.models import SandboxCharge
from billing.rails.base import CardDetails, ChargeResult, PaymentRail, RailError
from billing.rails.cards import (
    card_brand,
    card_digits,
    card_fingerprint,
    luhn_ok,
    normalise_year,
)
from billing.rails.live import live_processor
from billing.rails.refunds import Refunds
from billing.rails.sandbox import (
    sandbox_lookup,
    sandbox_record,
)
from duro.db import atomic
from duro.ids import random_base62

SANDBOX_CARDS = {
    "4242424242424242": "succeed",
    "5555555555554444": "succeed",
    "4000000000000002": "decline",
    "4000000000009995": "insufficient_funds",
    "4000000000003220": "otp",
    "4000000000000341": "renewals_fail",
    "4000000000005126": "refunds_fail",
}
NO_REFUNDS = "norefund_"  # in an authorization: charges on it cannot be refunded
SANDBOX_OTP = "123456"
SANDBOX_OTP_TRIES = 3  # wrong codes before the bank declines the payment
TEST_CARDS_HINT = (
    "In test mode use a sandbox card: 4242 4242 4242 4242 (succeeds), "
    "4000 0000 0000 0002 (declined) or 4000 0000 0000 3220 (OTP 123456)."
)


def _declined(code: str, message: str, card: CardDetails | None) -> ChargeResult:
    return ChargeResult(status="failed", failure_code=code, failure_message=message, card=card)


def _no_refunds() -> dict:
    return {"refunds": "fail"}


class CardRail(Refunds, PaymentRail):
    identifier = "card"
    label = "Card"

    def validate(self, details: dict, *, now: datetime, mode: str,
                 currency: str = "") -> dict[str, str]:
        errors: dict[str, str] = {}
        digits = card_digits(str(details.get("number", "")))
        if not digits:
            errors["card.number"] = "Enter your card number."
        elif not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
            errors["card.number"] = "That card number is not valid."
        elif mode == "live" and digits in SANDBOX_CARDS:
            errors["card.number"] = "Test cards cannot be used for live payments."
        month, year = details.get("exp_month"), details.get("exp_year")
        if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
            errors["card.exp_month"] = "Enter the expiry month (01–12)."
        elif not isinstance(year, int) or isinstance(year, bool) or year < 0:
            errors["card.exp_year"] = "Enter the expiry year."
        else:
            year = normalise_year(year)
            if (year, month) < (now.year, now.month):
                errors["card.exp_year"] = "This card has expired."
            elif year > now.year + 25:
                errors["card.exp_year"] = "That expiry year is not valid."
        cvc = str(details.get("cvc", ""))
        cvc_length = 4 if card_brand(digits) == "amex" else 3
        if not cvc.isdigit() or len(cvc) != cvc_length:
            errors["card.cvc"] = f"Enter the {cvc_length}-digit security code."
        return errors

    def card_of(self, details: dict) -> CardDetails:
        digits = card_digits(str(details.get("number", "")))
        return CardDetails(brand=card_brand(digits), last4=digits[-4:],
                           exp_month=int(details["exp_month"]),
                           exp_year=normalise_year(int(details["exp_year"])))

    # --- charging -----------------------------------------------------------------
    def charge(self, *, mode: str, amount: int, currency: str, details: dict,
               idempotency_key: str, merchant_id: str = "") -> ChargeResult:
        fingerprint = card_fingerprint(str(details["number"]),
                                       key=settings.DURO_CARD_FINGERPRINT_KEY)
        if mode != "test":
            return self._with_card(live_processor(merchant_id).charge(
                amount=amount, currency=currency, details=details,
                idempotency_key=idempotency_key,
            ), details)
        digits = card_digits(str(details["number"]))
        card = dataclasses.replace(self.card_of(details), fingerprint=fingerprint)
        behaviour = SANDBOX_CARDS.get(digits)
        if behaviour in ("succeed", "renewals_fail", "refunds_fail"):
            result = self._success(card, renewals="fail" if behaviour == "renewals_fail" else "ok",
                                   refunds=behaviour != "refunds_fail")
        elif behaviour == "otp":
            result = ChargeResult(status="requires_otp", reference=self._reference(), card=card)
        elif behaviour == "insufficient_funds":
            result = _declined("insufficient_funds", "The card has insufficient funds.", card)
        elif behaviour == "decline":
            result = _declined("card_declined", "The card was declined.", card)
        else:
            result = _declined("card_declined", f"The card was declined. {TEST_CARDS_HINT}", card)
        return sandbox_record(rail=self.identifier, key=idempotency_key, amount=amount,
                              currency=currency, result=result)

    def submit_otp(self, *, mode: str, idempotency_key: str, otp: str,
                   merchant_id: str = "") -> ChargeResult:
        if mode != "test":
            return live_processor(merchant_id).submit_otp(idempotency_key=idempotency_key, otp=otp)
        with atomic():
            row = SandboxCharge.objects.select_for_update().filter(pk=idempotency_key).first()
            if row is None:
                raise RailError("unknown_charge", "No charge is waiting for an OTP.")
            earlier = ChargeResult.from_dict(row.outcome)
            if earlier.status != "requires_otp":
                return earlier
            tries = int(earlier.extra.get("otp_tries", 0)) + 1
            if hmac.compare_digest(str(otp), SANDBOX_OTP):
                result = self._success(earlier.card, renewals="ok", reference=earlier.reference)
            elif tries < SANDBOX_OTP_TRIES:  # as a bank does: the same code may be re-entered
                result = ChargeResult(
                    status="requires_otp", reference=earlier.reference, card=earlier.card,
                    failure_code="invalid_otp",
                    failure_message="The code was incorrect. Check it and try again.",
                    extra={"otp_tries": tries})
            else:
                result = _declined("invalid_otp", "The code was incorrect too many times. "
                                   "Please pay again.", earlier.card)
            row.outcome = result.as_dict()
            row.save(update_fields=["outcome"])
            return result

    def submit_pin(self, *, mode: str, idempotency_key: str, pin: str,
                   merchant_id: str = "", amount: int = 0, currency: str = "",
                   details: dict | None = None) -> ChargeResult:
        if mode != "test":
            return self._with_card(live_processor(merchant_id).submit_pin(
                idempotency_key=idempotency_key, pin=pin, amount=amount, currency=currency,
                details=details), details)
        raise RailError("unknown_charge", "No sandbox card asks for a PIN.")

    def charge_authorization(self, *, mode: str, amount: int, currency: str, authorization: str,
                             idempotency_key: str, merchant_id: str = "",
                             email: str = "", card: CardDetails | None = None) -> ChargeResult:
        """Charge a saved card's reusable authorization (a renewal, or a customer paying with
        a saved card: then ``card`` is that card, named in the answer so that the pay
        refreshes its row rather than adding one)."""
        if mode != "test":
            result = live_processor(merchant_id).charge_authorization(
                amount=amount, currency=currency, authorization=authorization,
                idempotency_key=idempotency_key, email=email,
            )
            if card is not None:
                result = dataclasses.replace(result, card=card,
                                             authorization=result.authorization or authorization)
            return result
        if authorization.startswith("sbx_fail_"):
            result = _declined("card_declined", "The saved card was declined.", card)
        elif authorization.startswith("sbx_ok_"):
            result = ChargeResult(status="succeeded", reference=self._reference(),
                                  authorization=authorization, card=card,
                                  extra=_no_refunds() if NO_REFUNDS in authorization else {})
        else:
            result = _declined("invalid_authorization", "Unknown card authorization.", card)
        return sandbox_record(rail=self.identifier, key=idempotency_key, amount=amount,
                              currency=currency, result=result)

    def lookup(self, *, mode: str, idempotency_key: str, now: datetime | None = None,
               merchant_id: str = "") -> ChargeResult | None:
        if mode != "test":
            return live_processor(merchant_id).lookup(idempotency_key=idempotency_key)
        return sandbox_lookup(idempotency_key)

    def _with_card(self, result: ChargeResult, details: dict | None) -> ChargeResult:
        """A live answer with what may be kept of the card that was sent: its fingerprint,
        and, when the processor named no card (Flutterwave asks for a PIN before it makes a
        transaction), its brand, last four digits and expiry, so that the step can say which
        card it waits for and a card entered at the ``card_pin`` step is checked against
        it."""
        number = str((details or {}).get("number") or "")
        if not card_digits(number):
            return result
        fingerprint = card_fingerprint(number, key=settings.DURO_CARD_FINGERPRINT_KEY)
        card = result.card
        if card is None and result.status == "requires_otp":
            card = self.card_of(details or {})
        if card is not None and not card.fingerprint:
            return dataclasses.replace(result, card=dataclasses.replace(
                card, fingerprint=fingerprint))
        return result

    # --- sandbox internals ----------------------------------------------------------
    def _reference(self) -> str:
        return f"sbx_ch_{random_base62(20)}"

    def _success(self, card, *, renewals: str, reference: str = "",
                 refunds: bool = True) -> ChargeResult:
        flag = "" if refunds else NO_REFUNDS
        return ChargeResult(
            status="succeeded", reference=reference or self._reference(), card=card,
            authorization=f"sbx_{renewals}_{flag}{random_base62(24)}",
            extra={} if refunds else _no_refunds(),
        )
