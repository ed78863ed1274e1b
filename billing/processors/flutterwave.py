"""Flutterwave's v3 API in Duro's terms: charges, their follow-up steps, lookups, refunds,
and the events Flutterwave posts back (API.md §11).

Every call answers with the rails' types. A charge's ``tx_ref`` at Flutterwave is our
payment id itself (Flutterwave allows the underscore: :func:`processor_reference` checks
it is ours and keeps it), so asking again after a time-out finds the first charge instead
of making a second: a refused charge is looked up by its ``tx_ref`` before the refusal is
believed::

    flutterwave = Flutterwave(secret_key, base_url="https://api.flutterwave.com",
                              timeout=15, encryption_key=encryption_key)
    result = flutterwave.charge_card(payment_id="pay_Abc", amount=150_000, currency="NGN",
                                     email="ada@example.com",
                                     card={"number": "5531886652142950", "cvv": "564",
                                           "expiry_month": "09", "expiry_year": "32"})
    result.status        # succeeded | failed | processing | requires_action
    result.extra         # requires_action: {"action": "pin" | "otp" | "redirect" | "address"}
    flutterwave.submit_pin(payment_id="pay_Abc", pin="3310", amount=150_000,
                           currency="NGN", email="ada@example.com", card={…})  # the card again
    flutterwave.submit_otp(payment_id="pay_Abc", otp="12345")
    flutterwave.verify(payment_id="pay_Abc")          # None: Flutterwave never saw it

**Amounts.** Duro counts minor units (kobo, pesewas, cents); Flutterwave's API takes and
answers MAJOR units (``1500.01``). :func:`to_major` and :func:`to_minor` convert with
:class:`~decimal.Decimal` (never a float): amounts go out as exact JSON numbers and
answers are parsed with ``parse_float=Decimal``.

**Cards** go encrypted: the charge payload is JSON, encrypted with 3DES (ECB, PKCS#7
padding) under the merchant's *encryption key* from their Flutterwave dashboard, base64,
sent as ``{"client": …}`` (:func:`encrypt`). Flutterwave's first answer to a card may be
"authorization required" (``meta.authorization.mode``): ``pin`` (send the card again
with the PIN: :meth:`Flutterwave.submit_pin`; Duro never keeps the card, so the page sends
it again with the PIN) or ``avs_noauth`` (the billing address: ``action="address"``, a
step Duro does not offer). After it, ``otp`` (:meth:`Flutterwave.submit_otp`,
``POST /v3/validate-charge``) or ``redirect`` (3-D Secure: ``extra["url"]``; then poll
:meth:`Flutterwave.charge_status`).

Transfer, USSD and M-Pesa answer ``processing`` with ``extra["instructions"]`` shaped as
the sandbox rails' (``transfer``, ``ussd``, ``mobileMoney``); Ghana's mobile money
answers a ``redirect`` (Flutterwave's page takes the payer's authorization).

Failures raise :mod:`billing.processors.errors`' exceptions, as the Paystack client does:
a time-out, refused connection, 5xx or 429 :class:`ProcessorUnavailable`; a 401
:class:`ProcessorAuthError`; any other refusal :class:`ProcessorRejected`. Nothing here
logs a request body: card numbers, the secret and the encryption key never reach a log.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import httpx
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from django.conf import settings

from billing.processors.errors import (
    ProcessorAuthError,
    ProcessorRejected,
    ProcessorUnavailable,
)
from billing.rails.base import CardDetails, ChargeResult, RefundResult
from duro.money import MINOR_UNITS
from duro.timestamps import iso

DEFAULT_BASE_URL = "https://api.flutterwave.com"
DEFAULT_TIMEOUT = 15.0  # well inside gunicorn's 30 s: then the pay answers "processing"
SIGNATURE_HEADER = "verif-hash"

# Our ids are "<prefix>_<base62>": Flutterwave's tx_ref takes them as they are.
# Our ids, and a renewal retry's key ("<invoice id>:<n>"), which goes as "<invoice id>.<n>".
_OUR_ID = re.compile(r"^([a-z]+)_([A-Za-z0-9]+)(?::([0-9]+))?$")
_THEIR_REFERENCE = re.compile(r"^([a-z]+)_([A-Za-z0-9]+)(?:\.([0-9]+))?$")

# Duro's USSD banks (their short codes) → Flutterwave's ``account_bank`` (the bank's CBN
# code): GTBank, UBA, Zenith, First Bank, Access, Sterling.
USSD_BANKS = {"737": "058", "919": "033", "966": "057", "894": "011", "901": "044",
              "822": "232"}
# Duro's mobile-money providers → (Flutterwave's charge type, its ``network``, currency).
MOBILE_MONEY = {"mtn": ("mobile_money_ghana", "MTN", "GHS"),
                "vodafone": ("mobile_money_ghana", "VODAFONE", "GHS"),
                "airteltigo": ("mobile_money_ghana", "TIGO", "GHS"),
                "mpesa": ("mpesa", "", "KES")}
# meta.authorization.mode → the step the payer takes (as Paystack's client names them).
ACTIONS = {"pin": "pin", "otp": "otp", "redirect": "redirect", "avs_noauth": "address"}
REFUND_STATUSES = {"completed": "succeeded", "successful": "succeeded",
                   "failed": "failed"}  # others ("pending", …): not yet
REFUND_NOTE = "Duro refund "  # + our refund id, in the refund's comments: finds it again
_NOT_FOUND = (400, 404)  # Flutterwave answers an unknown transaction with a 400 ("No
                         # transaction was found…"); a 404 is read the same.


# --- amounts ------------------------------------------------------------------------------

def to_major(amount: int, currency: str) -> Decimal:
    """``(1_500_001, "NGN")`` → ``Decimal("15000.01")``: minor units as Flutterwave counts."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"An amount in minor units is an int, not {type(amount).__name__}.")
    digits = MINOR_UNITS.get(currency, 2)
    return Decimal(amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def to_minor(value: Any, currency: str) -> int | None:
    """Flutterwave's major-unit amount (a Decimal, an int, or text such as ``"1500.00"``)
    in minor units; None when there is none. A float is refused: read answers with
    ``parse_float=Decimal``. Beyond the currency's decimals (a fee of ``1.405``) it
    rounds down: Duro never counts more than arrived."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        raise TypeError("Read Flutterwave's amounts as Decimal, never float.")
    try:
        major = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not major.is_finite():
        return None
    digits = MINOR_UNITS.get(currency, 2)
    return int(major.scaleb(digits).to_integral_value(rounding=ROUND_DOWN))


def _dumps(payload: dict) -> str:
    """JSON with each Decimal as an exact number (``1500.01``, never via a float)."""
    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\x00dec{value:f}\x00"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [mark(item) for item in value]
        return value

    return re.sub(r'"\\u0000dec(-?[0-9.]+)\\u0000"', r"\1", json.dumps(mark(payload)))


# --- card encryption --------------------------------------------------------------------

def encrypt(encryption_key: str, payload: dict) -> str:
    """The card charge's ``client`` field as Flutterwave's docs specify: the payload's JSON,
    3DES-encrypted (ECB, PKCS#7 padding) with the merchant's 24-character encryption key,
    base64-encoded."""
    key = encryption_key.encode()
    if len(key) not in (16, 24):
        raise ValueError("A Flutterwave encryption key is 24 characters.")
    padder = padding.PKCS7(64).padder()
    data = padder.update(_dumps(payload).encode()) + padder.finalize()
    encryptor = Cipher(TripleDES(key), modes.ECB()).encryptor()  # noqa: S305 - Flutterwave's
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


# --- references and events ---------------------------------------------------------------

def processor_reference(our_id: str) -> str:
    """Our id as Flutterwave's ``tx_ref``: the same text (``pay_Abc`` → ``pay_Abc``);
    ValueError for anything that is not a Duro id."""
    if not _OUR_ID.match(our_id or ""):
        raise ValueError(f"Not a Duro id: {our_id!r}")
    return our_id.replace(":", ".")


def our_id(tx_ref: str) -> str | None:
    """A ``tx_ref`` as our id; None for a ``tx_ref`` Duro did not make."""
    return tx_ref.replace(".", ":") if _THEIR_REFERENCE.match(tx_ref or "") else None


def verify_signature(secret_hash: str, raw_body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``verif-hash``) is the secret hash the merchant set in their
    Flutterwave dashboard: Flutterwave sends it as it is (it does not sign the body), so
    it is compared in constant time with the stored one. ``raw_body`` is unused; it is
    taken so both processors' checks are called alike."""
    if not header or not secret_hash:
        return False
    # As bytes: compare_digest refuses non-ASCII text, and a header is the sender's choice.
    return hmac.compare_digest(secret_hash.encode(), header.strip().encode())


@dataclass(frozen=True)
class FlutterwaveEvent:
    """What a Flutterwave event says, in our terms. ``payment_id`` is ours (None for a
    ``tx_ref`` Duro did not make); ``transaction_id`` is Flutterwave's, for
    :meth:`Flutterwave.verify_transaction` (its docs ask that an event be verified before
    value is given)."""

    name: str
    payment_id: str | None
    transaction_id: str = ""
    charge: ChargeResult | None = None
    amount: int | None = None


def parse_event(raw_body: bytes) -> FlutterwaveEvent | None:
    """The event of a (verified) webhook body; None for events Duro does not act on."""
    try:
        body = json.loads(raw_body, parse_float=Decimal)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return None
    name, data = str(body.get("event") or ""), body["data"]
    if name != "charge.completed":  # transfers out, subscriptions: not Duro's charges
        return None
    result = charge_result(data)
    return FlutterwaveEvent(name=name, payment_id=our_id(str(data.get("tx_ref") or "")),
                            transaction_id=str(data.get("id") or ""), charge=result,
                            amount=result.amount)


def charge_result(data: dict, *, meta: dict | None = None,
                  instructions: dict | None = None) -> ChargeResult:
    """A Flutterwave transaction (a charge's answer, a lookup, an event) as a ChargeResult.

    ``meta`` is the answer's ``meta`` (its ``authorization`` names the payer's next
    step); ``successful`` is succeeded, ``failed`` failed, anything else processing."""
    status = str(data.get("status") or "").lower()
    reference = str(data.get("tx_ref") or "")
    currency = str(data.get("currency") or "")
    message = str(data.get("processor_response") or data.get("vbvmessage") or "")
    if status == "successful":
        card = data.get("card") if isinstance(data.get("card"), dict) else None
        return ChargeResult(
            status="succeeded", reference=reference,
            amount=to_minor(data.get("amount"), currency),
            card=_card(card) if card else None,
            authorization=str((card or {}).get("token") or ""),
            paid_at=_moment(data.get("created_at")) or "")
    if status in ("failed", "cancelled", "error"):
        return ChargeResult(status="failed", reference=reference,
                            failure_code="declined" if status == "failed" else status,
                            failure_message=message or "The payment was declined.")
    authorization = (meta or {}).get("authorization")
    authorization = authorization if isinstance(authorization, dict) else {}
    mode = str(authorization.get("mode") or "")
    if mode in ACTIONS:
        extra: dict = {"action": ACTIONS[mode], "displayText": message}
        if mode == "redirect":
            extra["url"] = str(authorization.get("redirect") or "")
        if authorization.get("fields"):
            extra["fields"] = list(authorization["fields"])
        return ChargeResult(status="requires_action", reference=reference, extra=extra)
    # pending, and any status Flutterwave adds: not an outcome yet, ask again later.
    return ChargeResult(status="processing", reference=reference,
                        extra={"instructions": instructions} if instructions else {})


def _card(card: dict) -> CardDetails:
    month, _, year = str(card.get("expiry") or "").partition("/")
    year_number = _int(year) or 0
    return CardDetails(
        brand=str(card.get("type") or "").strip().lower() or "unknown",
        last4=str(card.get("last_4digits") or ""), exp_month=_int(month) or 0,
        exp_year=year_number + 2000 if 0 < year_number < 100 else year_number)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> str | None:
    """An ISO 8601 text or epoch milliseconds (the sandbox's ``account_expiration``)."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return iso(datetime.fromtimestamp(int(value) / 1000, tz=UTC))
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


class Flutterwave:
    """One merchant's Flutterwave account: its secret key, and its encryption key for
    card charges."""

    # Its PIN step is the card charged again with the PIN (:meth:`submit_pin`): the
    # gateway asks the page for the card with the PIN (the ``card_pin`` step).
    pin_needs_card = True

    def __init__(self, secret_key: str, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = DEFAULT_TIMEOUT, *, encryption_key: str = ""):
        self._secret = secret_key
        self._encryption_key = encryption_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def configured(cls, secret_key: str, *, encryption_key: str = "") -> Flutterwave:
        """A client for ``DURO_FLUTTERWAVE_BASE_URL`` with ``DURO_PROCESSOR_TIMEOUT``."""
        return cls(secret_key, base_url=settings.DURO_FLUTTERWAVE_BASE_URL,
                   timeout=settings.DURO_PROCESSOR_TIMEOUT, encryption_key=encryption_key)

    def __repr__(self) -> str:  # never the secret nor the encryption key
        return f"Flutterwave(base_url={self.base_url!r})"

    # --- cards ----------------------------------------------------------------------

    def charge_card(self, *, payment_id: str, amount: int, currency: str, email: str,
                    card: dict, pin: str = "", address: dict | None = None,
                    return_url: str = "", metadata: dict | None = None) -> ChargeResult:
        """``card``: ``number``, ``cvv``, ``expiry_month``, ``expiry_year`` (encrypted,
        passed through, never kept). With ``pin`` (or ``address``: ``city``, ``address``,
        ``state``, ``country``, ``zipcode``) the authorization goes with it.
        ``return_url`` (where a 3-D Secure payer comes back) goes where Flutterwave
        documents it, the payload's top-level ``redirect_url``. Answers succeeded, failed,
        requires_action or processing."""
        if not self._encryption_key:
            raise ProcessorRejected("encryption_key_missing",
                                    "Flutterwave card charges need the merchant's "
                                    "encryption key.")
        payload: dict = {
            "card_number": str(card["number"]), "cvv": str(card["cvv"]),
            "expiry_month": str(card["expiry_month"]).zfill(2),
            "expiry_year": str(card["expiry_year"])[-2:],
            "currency": currency, "amount": to_major(amount, currency), "email": email,
            "tx_ref": processor_reference(payment_id),
            "meta": {**(metadata or {}), "duro_payment": payment_id}}
        if return_url:
            payload["redirect_url"] = return_url
        if pin:
            payload["authorization"] = {"mode": "pin", "pin": pin}
        elif address:
            payload["authorization"] = {"mode": "avs_noauth", **address}
        return self._charge("card", payment_id, {
            "client": encrypt(self._encryption_key, payload)})

    def submit_pin(self, *, payment_id: str, pin: str, amount: int, currency: str,
                   email: str, card: dict, return_url: str = "") -> ChargeResult:
        """The PIN Flutterwave asked for. Flutterwave takes it with the whole card again
        (its PIN step is a second charge call), so the page sends the card with it."""
        return self.charge_card(payment_id=payment_id, amount=amount, currency=currency,
                                email=email, card=card, pin=pin, return_url=return_url)

    def submit_otp(self, *, payment_id: str, otp: str, flw_ref: str = "") -> ChargeResult:
        """The OTP (``POST /v3/validate-charge``). Flutterwave validates by its own
        ``flw_ref``; without it, the charge is looked up by our reference first."""
        if not flw_ref:
            body = self._lookup(payment_id)
            if body is None:
                raise ProcessorRejected("processor_rejected",
                                        "Flutterwave has no charge for this payment.",
                                        status=400)
            flw_ref = str(body["data"].get("flw_ref") or "")
        body = self._send("POST", "/v3/validate-charge",
                          {"otp": otp, "flw_ref": flw_ref, "type": "card"})
        return charge_result(body["data"], meta=body.get("meta"))

    def charge_status(self, *, payment_id: str) -> ChargeResult:
        """Where a charge stands (what a pending or 3-D Secure charge is polled with);
        ProcessorRejected when Flutterwave never saw it."""
        body = self._lookup(payment_id)
        if body is None:
            raise ProcessorRejected("processor_rejected",
                                    "Flutterwave has no charge for this payment.", status=400)
        return charge_result(body["data"])

    def charge_authorization(self, *, payment_id: str, amount: int, currency: str,
                             email: str, authorization_code: str,
                             metadata: dict | None = None) -> ChargeResult:
        """Charge a saved card again (a renewal) with its token
        (``POST /v3/tokenized-charges``); ``authorization_code`` is the ``card.token`` a
        successful charge answered (``ChargeResult.authorization``)."""
        return self._charge(None, payment_id, {
            "token": authorization_code, "currency": currency,
            "amount": to_major(amount, currency), "email": email,
            "tx_ref": processor_reference(payment_id),
            "narration": f"Duro payment {payment_id}",
            "meta": {**(metadata or {}), "duro_payment": payment_id}},
            path="/v3/tokenized-charges")

    # --- rails beyond the card --------------------------------------------------------

    def charge_bank_transfer(self, *, payment_id: str, amount: int, currency: str,
                             email: str, expires_at: datetime | None = None) -> ChargeResult:
        """A one-time account for this payment: ``processing`` with the account (what
        Flutterwave answers under ``meta.authorization``; the amount to send is its
        ``transfer_amount``)."""
        def shown(meta: dict) -> dict:
            auth = meta.get("authorization") or {}
            return {"transfer": {
                "bankName": str(auth.get("transfer_bank") or ""),
                "accountNumber": str(auth.get("transfer_account") or ""),
                "accountName": str(auth.get("account_name") or auth.get("transfer_note")
                                   or ""),
                "amount": to_minor(auth.get("transfer_amount"), currency) or amount,
                "currency": currency,
                "expiresAt": _moment(auth.get("account_expiration")) or iso(expires_at)}}

        return self._charge("bank_transfer", payment_id, {
            "tx_ref": processor_reference(payment_id), "amount": to_major(amount, currency),
            "currency": currency, "email": email, "is_permanent": False,
            "meta": {"duro_payment": payment_id}}, shown=shown)

    def charge_ussd(self, *, payment_id: str, amount: int, currency: str, email: str,
                    bank: str, expires_at: datetime | None = None) -> ChargeResult:
        """A code to dial at ``bank`` (its USSD short code, as Duro names banks); the code
        is Flutterwave's ``meta.authorization.note``."""
        if bank not in USSD_BANKS:
            raise ProcessorRejected("ussd_bank_unsupported",
                                    f"Flutterwave takes no USSD payments through bank "
                                    f"{bank!r}.")

        def shown(meta: dict) -> dict:
            code = str((meta.get("authorization") or {}).get("note") or "")
            return {"ussd": {"code": code, "bankCode": bank,
                             "displayText": f"Dial {code} on your phone to pay.",
                             "expiresAt": iso(expires_at)}}

        return self._charge("ussd", payment_id, {
            "tx_ref": processor_reference(payment_id), "account_bank": USSD_BANKS[bank],
            "amount": to_major(amount, currency), "currency": currency, "email": email,
            "meta": {"duro_payment": payment_id}}, shown=shown)

    def charge_mobile_money(self, *, payment_id: str, amount: int, currency: str, email: str,
                            phone: str, provider: str, voucher: str = "",
                            expires_at: datetime | None = None) -> ChargeResult:
        """A wallet charge (``provider`` as Duro names it). Ghana's networks
        (``mobile_money_ghana``) answer ``requires_action`` ``redirect``: Flutterwave's page
        takes the payer's authorization; M-Pesa (``mpesa``) prompts the phone and answers
        ``processing`` with ``mobileMoney`` instructions."""
        if provider not in MOBILE_MONEY:
            raise ProcessorRejected("provider_unsupported",
                                    f"Flutterwave takes no mobile money from {provider!r}.")
        kind, network, _currency = MOBILE_MONEY[provider]
        payload: dict = {"tx_ref": processor_reference(payment_id),
                         "amount": to_major(amount, currency), "currency": currency,
                         "email": email, "phone_number": phone,
                         "meta": {"duro_payment": payment_id}}
        if network:
            payload["network"] = network
        if voucher:
            payload["voucher"] = voucher
        return self._charge(kind, payment_id, payload, shown=lambda meta: {"mobileMoney": {
            "instructions": "Approve the payment prompt on your phone.",
            "provider": provider, "phone": phone, "expiresAt": iso(expires_at)}})

    def check(self) -> None:
        """Prove the secret works with a read that moves nothing (``GET /v3/balances``).
        Raises :class:`ProcessorAuthError` for a key Flutterwave refuses,
        :class:`ProcessorUnavailable` when it cannot be asked."""
        self._send("GET", "/v3/balances")

    # --- lookups ----------------------------------------------------------------------

    def verify(self, *, payment_id: str) -> ChargeResult | None:
        """What became of a payment
        (``GET /v3/transactions/verify_by_reference?tx_ref=``); None when Flutterwave
        never saw it."""
        body = self._lookup(payment_id)
        return charge_result(body["data"]) if body is not None else None

    def verify_transaction(self, *, transaction_id: str) -> ChargeResult | None:
        """A transaction by Flutterwave's id (``GET /v3/transactions/{id}/verify``: what an
        event's ``data.id`` is checked with); None when Flutterwave does not know it."""
        try:
            body = self._send("GET", f"/v3/transactions/{_path(transaction_id)}/verify")
        except ProcessorRejected as exc:
            if exc.status in _NOT_FOUND:
                return None
            raise
        return charge_result(body["data"])

    # --- refunds ----------------------------------------------------------------------

    def refund(self, *, refund_id: str, payment_id: str, amount: int,
               currency: str) -> RefundResult:
        """Give back ``amount`` of a payment (``POST /v3/transactions/{id}/refund``). Asked
        twice with one ``refund_id`` (after a time-out, say), it finds the first refund
        instead of making another."""
        found = self._lookup(payment_id)
        if found is None:
            raise ProcessorRejected("processor_rejected",
                                    "Flutterwave has no charge for this payment.", status=404)
        transaction = str(found["data"].get("id") or "")
        earlier = self._refund_among(transaction, refund_id)
        if earlier is not None:
            return earlier
        body = self._send("POST", f"/v3/transactions/{_path(transaction)}/refund", {
            "amount": to_major(amount, currency), "comments": f"{REFUND_NOTE}{refund_id}"})
        return _refund_result(body["data"])

    def refund_find(self, *, refund_id: str, payment_id: str) -> RefundResult | None:
        """Our refund among the payment's refunds at Flutterwave (by the comment it
        carries); None when there is none (or Flutterwave never saw the payment)."""
        found = self._lookup(payment_id)
        if found is None:
            return None
        return self._refund_among(str(found["data"].get("id") or ""), refund_id)

    def refund_fetch(self, *, refund_reference: str) -> RefundResult | None:
        """A refund by Flutterwave's id (``GET /v3/refunds/{id}``); None when it does not
        know it."""
        try:
            body = self._send("GET", f"/v3/refunds/{_path(refund_reference)}")
        except ProcessorRejected as exc:
            if exc.status in _NOT_FOUND:
                return None
            raise
        return _refund_result(body["data"])

    def _refund_among(self, transaction: str, refund_id: str) -> RefundResult | None:
        body = self._send("GET", "/v3/refunds", params={"id": transaction})
        for refund in body.get("data") or []:
            if (str(refund.get("tx_id")) == transaction
                    and str(refund.get("comments") or "") == f"{REFUND_NOTE}{refund_id}"):
                return _refund_result(refund)
        return None

    # --- the wire -----------------------------------------------------------------------

    def _lookup(self, payment_id: str) -> dict | None:
        try:
            return self._send("GET", "/v3/transactions/verify_by_reference",
                              params={"tx_ref": processor_reference(payment_id)})
        except ProcessorRejected as exc:
            if exc.status in _NOT_FOUND:
                return None
            raise

    def _charge(self, kind: str | None, payment_id: str, payload: dict, *,
                path: str = "/v3/charges", shown: Any = None) -> ChargeResult:
        """Start a charge under the payment's ``tx_ref``. A refusal is checked against a
        lookup first: when the ``tx_ref`` already has a charge (we asked before and lost
        the answer), that charge is the answer, not the refusal."""
        try:
            body = self._send("POST", path, payload,
                              params={"type": kind} if kind else None)
        except ProcessorRejected as exc:
            found = self._lookup(payment_id)
            if found is None:
                raise exc from None
            return charge_result(found["data"])
        data, meta = body.get("data"), body.get("meta")
        data = data if isinstance(data, dict) else {}
        meta = meta if isinstance(meta, dict) else {}
        if not data.get("tx_ref"):  # "authorization required": no transaction made yet
            data = {**data, "tx_ref": processor_reference(payment_id)}
        waiting = str(data.get("status") or "pending").lower() == "pending"
        instructions = shown(meta) if shown and waiting else None
        return charge_result(data, meta=meta, instructions=instructions)

    def _send(self, method: str, path: str, payload: dict | None = None,
              params: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self._secret}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", params=params, timeout=self.timeout,
                content=_dumps(payload).encode() if payload is not None else None,
                follow_redirects=False, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProcessorUnavailable(
                "processor_timeout",
                f"Flutterwave did not answer {method} {path} in time.") from exc
        except httpx.HTTPError as exc:
            raise ProcessorUnavailable(
                "processor_unreachable",
                f"Flutterwave could not be reached ({type(exc).__name__}).") from exc
        try:
            body = response.json(parse_float=Decimal)
        except ValueError:
            body = None
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        # A 5xx, a 429 (try later) or a body that is not Flutterwave's: nothing to act on.
        if response.status_code >= 500 or response.status_code == 429 or (
                response.is_success and not isinstance(body, dict)):
            raise ProcessorUnavailable(
                "processor_error", f"Flutterwave answered {response.status_code} to {path}.",
                status=response.status_code)
        if response.status_code == 401:
            raise ProcessorAuthError("processor_auth", "Flutterwave refused the secret key.",
                                     status=response.status_code)
        if (not response.is_success or not isinstance(body, dict)
                or body.get("status") != "success"):
            raise ProcessorRejected("processor_rejected",
                                    message or f"Flutterwave refused {path}.",
                                    status=response.status_code)
        return body


def _path(segment: str) -> str:
    """An id put in a path: Flutterwave's ids are digits; anything else raises ValueError
    rather than being sent (a ``/`` or ``..`` would reach another endpoint)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", str(segment)):
        raise ValueError(f"Not a Flutterwave id: {segment!r}")
    return str(segment)


def _refund_result(data: dict) -> RefundResult:
    status = REFUND_STATUSES.get(str(data.get("status") or "").lower(), "pending")
    return RefundResult(
        status=status, reference=str(data.get("id") or ""),
        failure_code="refund_failed" if status == "failed" else "",
        failure_message="Flutterwave could not refund this payment."
        if status == "failed" else "")
