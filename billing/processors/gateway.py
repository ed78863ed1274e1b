"""A processor client in the rails' terms: what a live card pay, its OTP, a transfer, a
USSD code, a mobile-money prompt, a lookup and a refund ask of whichever processor the
merchant connected.

The card rail asks ``charge``, ``submit_otp``, ``charge_authorization``, ``lookup``,
``refund`` and ``refund_lookup`` with Duro's names (the attempt's id as the idempotency
key, the card as the hosted page took it); :class:`Gateway` turns each into the
processor client's own call (:mod:`billing.processors.paystack`,
:mod:`billing.processors.flutterwave`) and its answer into the rail's::

    gateway = Gateway(Paystack.configured(secret))
    result = gateway.charge(amount=150_000, currency="NGN", idempotency_key="pay_Abc",
                            details={"number": "4084…", "cvc": "408", "exp_month": 12,
                                     "exp_year": 2030, "email": "ada@example.com"})

A processor that cannot be reached (a time-out, a 5xx) leaves the payment ``processing``:
the answer is unknown, so nothing is declined and the recovery sweep's lookup settles it
later; the processor's own reference (our id) means asking again never charges twice. A
refused secret is a ``RailError`` naming what to do, never a decline of the payer's card.
The processor's steps become the hosted page's (``requires_otp`` with ``extra["step"]``):
``"otp"``, ``"pin"`` (then :meth:`Gateway.submit_pin`; the PIN is passed through, never
kept), ``"card_pin"`` (a processor that takes the PIN only with the whole card again,
as Flutterwave does: Duro keeps no card, so the page asks the payer for the card with
its PIN and :meth:`Gateway.submit_pin` gets both) and ``"redirect"`` (3-D Secure:
``extra["url"]`` is the bank's page, which returns the payer to ``details["return_url"]``,
handed to the client as ``return_url``, which places it where its processor documents it;
:meth:`Gateway.lookup` then says what the bank decided). Steps the page does not offer
(a phone, a birthday, an address) are declined before any money moves
(``step_unsupported``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from billing.processors.errors import (
    ProcessorAuthError,
    ProcessorRejected,
    ProcessorUnavailable,
)
from billing.rails.base import ChargeResult, RailError, RefundResult
from billing.rails.cards import card_digits, normalise_year

UNREACHABLE = ChargeResult(status="processing")  # outcome unknown: the sweep looks it up
CARD_AGAIN = ("For your security we don't keep card details: enter your card again with "
              "its PIN.")


class Gateway:
    def __init__(self, client: Any):
        self.client = client

    def __repr__(self) -> str:
        return f"Gateway({self.client!r})"

    # --- charges ------------------------------------------------------------------
    @property
    def pin_needs_card(self) -> bool:
        """Whether the processor takes a PIN only with the whole card again (Flutterwave)."""
        return bool(getattr(self.client, "pin_needs_card", False))

    def charge(self, *, amount: int, currency: str, details: dict,
               idempotency_key: str) -> ChargeResult:
        return self._ask(lambda: self.client.charge_card(
            payment_id=idempotency_key, amount=amount, currency=currency,
            email=str(details.get("email", "")), card=_card(details),
            return_url=str(details.get("return_url") or "")))

    def charge_waiting(self, *, rail: str, amount: int, currency: str, details: dict,
                       idempotency_key: str, expires_at: datetime) -> ChargeResult:
        """An asynchronous rail's pay: ``processing`` with what the payer must do (the
        processor's account, code or prompt), valid until ``expires_at``."""
        common = {"payment_id": idempotency_key, "amount": amount, "currency": currency,
                  "email": str(details.get("email", "")), "expires_at": expires_at}
        if rail == "bank_transfer":
            return self._ask(lambda: self.client.charge_bank_transfer(**common))
        if rail == "ussd":
            return self._ask(lambda: self.client.charge_ussd(
                **common, bank=str(details.get("bank", ""))))
        if rail == "mobile_money":
            return self._ask(lambda: self.client.charge_mobile_money(
                **common, phone=str(details.get("phone", "")),
                provider=str(details.get("provider", ""))))
        raise RailError("rail_unavailable", f"No live processor rail {rail!r}.")

    def submit_otp(self, *, idempotency_key: str, otp: str) -> ChargeResult:
        return self._ask(lambda: self.client.submit_otp(payment_id=idempotency_key, otp=otp))

    def submit_pin(self, *, idempotency_key: str, pin: str, amount: int = 0,
                   currency: str = "", details: dict | None = None) -> ChargeResult:
        """The PIN the processor asked for. A processor that takes it only with the card
        (its ``card_pin`` step) gets ``details`` (the card as the page took it again, the
        payer's ``email``, the ``return_url`` of a 3-D Secure step that may follow) with
        ``amount`` and ``currency``: the charge is asked again, whole. Passed through,
        never kept: neither the PIN nor the card is stored or logged here."""
        if not self.pin_needs_card:
            return self._ask(lambda: self.client.submit_pin(payment_id=idempotency_key,
                                                            pin=pin))
        details = details or {}
        if not card_digits(str(details.get("number", ""))):
            raise RailError("card_required", CARD_AGAIN)
        return self._ask(lambda: self.client.submit_pin(
            payment_id=idempotency_key, pin=pin, amount=amount, currency=currency,
            email=str(details.get("email", "")), card=_card(details),
            return_url=str(details.get("return_url") or "")))

    def charge_authorization(self, *, amount: int, currency: str, authorization: str,
                             idempotency_key: str, email: str = "") -> ChargeResult:
        return self._ask(lambda: self.client.charge_authorization(
            payment_id=idempotency_key, amount=amount, currency=currency, email=email,
            authorization_code=authorization))

    def lookup(self, *, idempotency_key: str) -> ChargeResult | None:
        try:
            found = self.client.verify(payment_id=idempotency_key)
        except ProcessorUnavailable:
            return UNREACHABLE
        except ProcessorAuthError as exc:
            raise _secret_refused(exc) from None
        return _ours(found, pin_needs_card=self.pin_needs_card) if found is not None else None

    # --- refunds ------------------------------------------------------------------
    def refund(self, *, charge_key: str, charge_reference: str, amount: int, currency: str,
               idempotency_key: str) -> RefundResult:
        try:
            return self.client.refund(refund_id=idempotency_key, payment_id=charge_key,
                                      amount=amount, currency=currency)
        except ProcessorUnavailable:
            return RefundResult(status="pending")  # asked again by the refund sweep
        except ProcessorAuthError as exc:
            raise _secret_refused(exc) from None
        except ProcessorRejected as exc:
            return RefundResult(status="failed", failure_code="refund_refused",
                                failure_message=exc.message[:300])

    def refund_lookup(self, *, idempotency_key: str) -> RefundResult | None:
        return None  # a refund asked again is found by its note (``refund`` looks first)

    # --- answers --------------------------------------------------------------------
    def _ask(self, call) -> ChargeResult:
        try:
            result = call()
        except ProcessorUnavailable:
            return UNREACHABLE
        except ProcessorAuthError as exc:
            raise _secret_refused(exc) from None
        except ProcessorRejected as exc:
            return ChargeResult(status="failed", failure_code="processor_declined",
                                failure_message=exc.message[:300])
        return _ours(result, pin_needs_card=self.pin_needs_card)


def _card(details: dict) -> dict:
    """The card as the page took it, in the processors' names (passed on, never kept)."""
    return {"number": card_digits(str(details.get("number", ""))),
            "cvv": str(details.get("cvc", "")),
            "expiry_month": f"{int(details['exp_month']):02d}",
            "expiry_year": str(normalise_year(int(details["exp_year"])))}


def _ours(result: ChargeResult, *, pin_needs_card: bool = False) -> ChargeResult:
    """The processor's answer as the card rail's: its OTP, PIN and 3-D Secure steps are
    the page's steps (``requires_otp`` with ``extra["step"]``). A PIN the processor takes
    only with the card again is the ``card_pin`` step: the page asks for both."""
    if result.status != "requires_action":
        return result
    action = result.extra.get("action")
    if action == "pin" and pin_needs_card:
        return replace(result, status="requires_otp", extra={"step": "card_pin"})
    if action in ("otp", "pin"):
        return replace(result, status="requires_otp", extra={"step": action})
    if action == "redirect" and result.extra.get("url"):
        return replace(result, status="requires_otp",
                       extra={"step": "redirect", "url": result.extra["url"]})
    return replace(result, status="failed", failure_code="step_unsupported",
                   failure_message="This card needs a step this page cannot show yet "
                                   f"({result.extra.get('action', 'unknown')}). Please use "
                                   "another card or another way to pay.")


def _secret_refused(exc: Exception) -> RailError:
    return RailError("processor_auth", "The merchant's processor refused its secret key: "
                                       "reconnect the processor in the dashboard "
                                       "(Developers → Processor).")
