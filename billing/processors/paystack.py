"""Paystack's API in Duro's terms: charges, their follow-up steps, lookups, refunds, and the
signed events Paystack posts back (API.md §11).

Every call answers with the rails' types. A charge's reference at Paystack is derived from
our payment id (:func:`processor_reference`: ``pay_Abc`` → ``pay-Abc``), so asking again
after a time-out finds the first charge instead of making a second: Paystack refuses a
reused reference ("Duplicate Transaction Reference") and the client then reads what
became of the first::

    paystack = Paystack(secret_key, base_url="https://api.paystack.co", timeout=15)
    result = paystack.charge_card(payment_id="pay_Abc", amount=150_000, currency="NGN",
                                  email="ada@example.com",
                                  card={"number": "4084084084084081", "cvv": "408",
                                        "expiry_month": "12", "expiry_year": "2030"})
    result.status          # succeeded | failed | processing | requires_action
    result.extra           # requires_action: {"action": "pin" | "otp" | "redirect", …}
    paystack.submit_pin(payment_id="pay_Abc", pin="1111")
    paystack.verify(payment_id="pay_Abc")            # None: Paystack never saw it

A step the payer must take is ``status="requires_action"`` with ``extra["action"]``:
``"pin"`` (``/charge/submit_pin``), ``"otp"`` (``/charge/submit_otp``; also Vodafone
Cash's voucher) or ``"redirect"`` (3-D Secure: ``extra["url"]`` is the bank's page; then
poll :meth:`Paystack.charge_status`); ``"phone"``, ``"birthday"`` and ``"address"`` are
steps Duro does not offer. Transfer, USSD and mobile money answer ``processing`` with
``extra["instructions"]`` shaped as the sandbox rails' (``transfer``, ``ussd``,
``mobileMoney``).

Failures: a time-out, a refused connection or a 5xx raise :class:`ProcessorUnavailable`
(the outcome is unknown: leave the payment ``processing`` and look it up); a 401 raises
:class:`ProcessorAuthError` (the merchant's secret is wrong: never a payment outcome);
any other refusal :class:`ProcessorRejected`. Nothing here logs a request body: card
numbers and the secret never reach a log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings

# The failures are every processor's (errors.py); importable from here as they always were.
from billing.processors.errors import ProcessorAuthError as ProcessorAuthError
from billing.processors.errors import ProcessorError as ProcessorError
from billing.processors.errors import ProcessorRejected as ProcessorRejected
from billing.processors.errors import ProcessorUnavailable as ProcessorUnavailable
from billing.rails.base import CardDetails, ChargeResult, RefundResult
from duro.timestamps import iso

DEFAULT_BASE_URL = "https://api.paystack.co"
DEFAULT_TIMEOUT = 15.0  # well inside gunicorn's 30 s: then the pay answers "processing"
SIGNATURE_HEADER = "x-paystack-signature"

# Paystack allows letters, digits, "-", "." and "=" in a reference; our ids are
# "<prefix>_<base62>", so the one underscore becomes a hyphen and back.
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
# A renewal's retry is keyed "<invoice id>:<n>"; Paystack has no ":", so it becomes ".".
_OUR_ID = re.compile(r"^([a-z]+)_([A-Za-z0-9]+)(?::([0-9]+))?$")
_THEIR_REFERENCE = re.compile(r"^([a-z]+)-([A-Za-z0-9]+)(?:\.([0-9]+))?$")

# Duro's names → Paystack's: a USSD bank's short code → Paystack's ``ussd.type``, a
# mobile-money provider → Paystack's ``mobile_money.provider``.
USSD_TYPES = {"737": "737", "919": "919", "822": "822", "966": "966"}
MOBILE_MONEY_PROVIDERS = {"mtn": "mtn", "vodafone": "vod", "airteltigo": "atl",
                          "mpesa": "mpesa"}

ACTIONS = {"send_pin": "pin", "send_otp": "otp", "open_url": "redirect",
           "send_phone": "phone", "send_birthday": "birthday", "send_address": "address"}
WAITING = {"pending", "ongoing", "processing", "queued", "pay_offline",
           "pending_bank_transfer"}
REFUND_STATUSES = {"processed": "succeeded", "failed": "failed"}  # others: still pending
REFUND_NOTE = "Duro refund "  # + our refund id, in merchant_note: finds the refund again


def processor_reference(our_id: str) -> str:
    """``pay_Abc`` → ``pay-Abc`` (and a renewal's retry ``inv_Abc:2`` → ``inv-Abc.2``): our
    id or key in Paystack's reference characters."""
    match = _OUR_ID.match(our_id)
    if match is None:
        raise ValueError(f"Not a Duro id: {our_id!r}")
    retry = f".{match.group(3)}" if match.group(3) else ""
    return f"{match.group(1)}-{match.group(2)}{retry}"


def our_id(reference: str) -> str | None:
    """``pay-Abc`` → ``pay_Abc`` (``inv-Abc.2`` → ``inv_Abc:2``); None for a reference
    Duro did not make."""
    match = _THEIR_REFERENCE.match(reference or "")
    if match is None:
        return None
    retry = f":{match.group(3)}" if match.group(3) else ""
    return f"{match.group(1)}_{match.group(2)}{retry}"


def verify_signature(secret: str, raw_body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``x-paystack-signature``) is the HMAC-SHA512 hex digest of the
    raw body keyed with the merchant's secret; compared in constant time."""
    if not header or not secret:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha512).hexdigest()
    # As bytes: compare_digest refuses non-ASCII text, and a header is the sender's choice.
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


@dataclass(frozen=True)
class PaystackEvent:
    """What a Paystack event says, in our terms. ``payment_id`` is ours (None for a
    reference Duro did not make); a refund event carries ``refund`` (its ``reference`` is
    Paystack's refund id, when the event names it) and ``refund_id`` when Paystack echoes
    our note (otherwise find it with :meth:`Paystack.refund_find`)."""

    name: str
    payment_id: str | None
    charge: ChargeResult | None = None
    refund: RefundResult | None = None
    refund_id: str | None = None
    amount: int | None = None


def parse_event(raw_body: bytes) -> PaystackEvent | None:
    """The event of a (verified) webhook body; None for events Duro does not act on."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return None
    name, data = str(body.get("event") or ""), body["data"]
    if name == "charge.success":  # Paystack's one charge event; disputes are not charges
        result = charge_result(data)
        return PaystackEvent(name=name, payment_id=our_id(str(data.get("reference") or "")),
                             charge=result, amount=result.amount)
    if name.startswith("refund."):
        refund = RefundResult(
            status=REFUND_STATUSES.get(str(data.get("status")), "pending"),
            reference=str(data.get("id") or ""),
            failure_code="refund_failed" if data.get("status") == "failed" else "",
            failure_message="Paystack could not refund this payment."
            if data.get("status") == "failed" else "",
        )
        note = str(data.get("merchant_note") or "")
        return PaystackEvent(
            name=name, payment_id=our_id(str(data.get("transaction_reference") or "")),
            refund=refund, amount=_int(data.get("amount")),
            refund_id=note.removeprefix(REFUND_NOTE) if note.startswith(REFUND_NOTE) else None)
    return None


def charge_result(data: dict, *, instructions: dict | None = None) -> ChargeResult:
    """A Paystack transaction (a charge's answer, a lookup, an event) as a ChargeResult.

    ``reversed`` (fully refunded) is still a payment that succeeded; what the payer must
    do next is ``requires_action``; anything still awaited is ``processing``."""
    status = str(data.get("status") or "")
    reference = str(data.get("reference") or "")
    if status in ("success", "reversed"):
        auth: dict = data.get("authorization") or {}
        auth = auth if isinstance(auth, dict) else {}
        return ChargeResult(
            status="succeeded", reference=reference, amount=_int(data.get("amount")),
            card=_card(auth) if auth.get("channel") == "card" else None,
            authorization=str(auth.get("authorization_code") or "")
            if auth.get("reusable") else "")
    if status in ("failed", "abandoned"):
        message = str(data.get("message") or data.get("gateway_response") or "")
        return ChargeResult(status="failed", reference=reference,
                            failure_code="abandoned" if status == "abandoned" else "declined",
                            failure_message=message or "The payment was declined.")
    if status in ACTIONS:
        extra = {"action": ACTIONS[status], "displayText": str(data.get("display_text") or "")}
        if status == "open_url":
            extra["url"] = str(data.get("url") or "")
        return ChargeResult(status="requires_action", reference=reference, extra=extra)
    # pending, ongoing, pay_offline, pending_bank_transfer, and any status Paystack adds:
    # not an outcome yet, so ask again later rather than guess.
    return ChargeResult(status="processing", reference=reference,
                        extra={"instructions": instructions} if instructions else {})


def _card(auth: dict) -> CardDetails:
    return CardDetails(brand=str(auth.get("brand") or "").strip().lower() or "unknown",
                       last4=str(auth.get("last4") or ""),
                       exp_month=_int(auth.get("exp_month")) or 0,
                       exp_year=_int(auth.get("exp_year")) or 0)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _expiry(text: Any) -> str | None:
    try:
        return iso(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
    except ValueError:
        return None


class Paystack:
    """One merchant's Paystack account, reached with its secret key."""

    def __init__(self, secret_key: str, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = DEFAULT_TIMEOUT):
        self._secret = secret_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def configured(cls, secret_key: str) -> Paystack:
        """A client for ``DURO_PAYSTACK_BASE_URL`` with ``DURO_PROCESSOR_TIMEOUT``."""
        return cls(secret_key, base_url=settings.DURO_PAYSTACK_BASE_URL,
                   timeout=settings.DURO_PROCESSOR_TIMEOUT)

    def __repr__(self) -> str:  # never the secret
        return f"Paystack(base_url={self.base_url!r})"

    # --- charges ------------------------------------------------------------------

    def charge_card(self, *, payment_id: str, amount: int, currency: str, email: str,
                    card: dict, metadata: dict | None = None,
                    return_url: str = "") -> ChargeResult:
        """``card``: ``number``, ``cvv``, ``expiry_month``, ``expiry_year`` (passed through,
        never kept). ``return_url`` (where a 3-D Secure payer comes back) goes as
        ``metadata.callback_url``. Answers succeeded, failed, requires_action or
        processing."""
        back = {"callback_url": return_url} if return_url else {}
        return self._charge("/charge", payment_id, {
            "email": email, "amount": amount, "currency": currency,
            "card": {key: str(card[key]) for key in ("number", "cvv", "expiry_month",
                                                      "expiry_year")},
            "metadata": {**(metadata or {}), **back, "duro_payment": payment_id}})

    def submit_pin(self, *, payment_id: str, pin: str) -> ChargeResult:
        return self._follow_up("/charge/submit_pin", payment_id, {"pin": pin})

    def submit_otp(self, *, payment_id: str, otp: str) -> ChargeResult:
        return self._follow_up("/charge/submit_otp", payment_id, {"otp": otp})

    def charge_status(self, *, payment_id: str) -> ChargeResult:
        """Where a charge stands (``GET /charge/{reference}``): what a pending or 3-D Secure
        charge is polled with."""
        body = self._send("GET", f"/charge/{processor_reference(payment_id)}")
        return charge_result(body["data"])

    def charge_authorization(self, *, payment_id: str, amount: int, currency: str, email: str,
                             authorization_code: str,
                             metadata: dict | None = None) -> ChargeResult:
        """Charge a saved card again (a renewal) with its reusable authorization code."""
        return self._charge("/transaction/charge_authorization", payment_id, {
            "email": email, "amount": amount, "currency": currency,
            "authorization_code": authorization_code,
            "metadata": {**(metadata or {}), "duro_payment": payment_id}})

    def charge_bank_transfer(self, *, payment_id: str, amount: int, currency: str, email: str,
                             expires_at: datetime | None = None) -> ChargeResult:
        """A one-time account for this payment: ``processing`` with the account."""
        transfer: dict = {}
        if expires_at is not None:
            transfer["account_expires_at"] = iso(expires_at)
        return self._charge("/charge", payment_id, {
            "email": email, "amount": amount, "currency": currency, "bank_transfer": transfer,
            "metadata": {"duro_payment": payment_id}},
            shown=lambda data: {"transfer": {
                "bankName": str((data.get("bank") or {}).get("name") or ""),
                "accountNumber": str(data.get("account_number") or ""),
                "accountName": str(data.get("account_name") or ""),
                "amount": amount, "currency": currency,
                "expiresAt": _expiry(data.get("account_expires_at")) or iso(expires_at)}})

    def charge_ussd(self, *, payment_id: str, amount: int, currency: str, email: str,
                    bank: str, expires_at: datetime | None = None) -> ChargeResult:
        """A code to dial at ``bank`` (its USSD short code, as Duro names banks)."""
        if bank not in USSD_TYPES:
            raise ProcessorRejected("ussd_bank_unsupported",
                                    f"Paystack takes no USSD payments through bank {bank!r}.")
        return self._charge("/charge", payment_id, {
            "email": email, "amount": amount, "currency": currency,
            "ussd": {"type": USSD_TYPES[bank]}, "metadata": {"duro_payment": payment_id}},
            shown=lambda data: {"ussd": {
                "code": str(data.get("ussd_code") or ""), "bankCode": bank,
                "displayText": str(data.get("display_text") or ""),
                "expiresAt": iso(expires_at)}})

    def charge_mobile_money(self, *, payment_id: str, amount: int, currency: str, email: str,
                            phone: str, provider: str,
                            expires_at: datetime | None = None) -> ChargeResult:
        """A prompt on the wallet's phone (``provider`` as Duro names it). Vodafone first
        answers ``requires_action`` (``otp``): the payer's voucher, sent with
        :meth:`submit_otp`."""
        if provider not in MOBILE_MONEY_PROVIDERS:
            raise ProcessorRejected("provider_unsupported",
                                    f"Paystack takes no mobile money from {provider!r}.")
        return self._charge("/charge", payment_id, {
            "email": email, "amount": amount, "currency": currency,
            "mobile_money": {"phone": phone, "provider": MOBILE_MONEY_PROVIDERS[provider]},
            "metadata": {"duro_payment": payment_id}},
            shown=lambda data: {"mobileMoney": {
                "instructions": str(data.get("display_text") or ""), "provider": provider,
                "phone": phone, "expiresAt": iso(expires_at)}})

    def verify(self, *, payment_id: str) -> ChargeResult | None:
        """What became of a payment (``GET /transaction/verify/{reference}``); None when
        Paystack never saw it (it answers 400 or 404 for that)."""
        try:
            body = self._send("GET", f"/transaction/verify/{processor_reference(payment_id)}")
        except ProcessorRejected as exc:
            if exc.status in (400, 404):
                return None
            raise
        return charge_result(body["data"])

    # --- the connection -------------------------------------------------------------

    def check(self) -> None:
        """Prove the secret works with Paystack's cheapest authenticated read
        (``GET /balance``, which moves nothing). Raises :class:`ProcessorAuthError` for a key
        Paystack refuses, :class:`ProcessorUnavailable` when it cannot be asked."""
        self._send("GET", "/balance")

    # --- refunds ------------------------------------------------------------------

    def refund(self, *, refund_id: str, payment_id: str, amount: int,
               currency: str) -> RefundResult:
        """Give back ``amount`` of a payment. Asked twice with one ``refund_id`` (after a
        time-out, say), it finds the first refund instead of making another."""
        earlier = self.refund_find(refund_id=refund_id, payment_id=payment_id)
        if earlier is not None:
            return earlier
        body = self._send("POST", "/refund", {
            "transaction": processor_reference(payment_id), "amount": amount,
            "currency": currency, "merchant_note": f"{REFUND_NOTE}{refund_id}"})
        return _refund_result(body["data"])

    def refund_find(self, *, refund_id: str, payment_id: str) -> RefundResult | None:
        """Our refund among the payment's refunds at Paystack (by the note it carries);
        None when there is none (or Paystack never saw the payment)."""
        try:
            found = self._send("GET", f"/transaction/verify/{processor_reference(payment_id)}")
        except ProcessorRejected as exc:
            if exc.status in (400, 404):
                return None
            raise
        # Paystack lists refunds by the transaction's numeric id.
        transaction = found["data"].get("id")
        body = self._send("GET", "/refund", params={"transaction": transaction, "perPage": 100})
        for refund in body.get("data") or []:
            if (str(refund.get("transaction")) == str(transaction)
                    and refund.get("merchant_note") == f"{REFUND_NOTE}{refund_id}"):
                return _refund_result(refund)
        return None

    def refund_fetch(self, *, refund_reference: str) -> RefundResult | None:
        """A refund by Paystack's id (``GET /refund/{id}``); None when it does not know it."""
        try:
            body = self._send("GET", f"/refund/{refund_reference}")
        except ProcessorRejected as exc:
            if exc.status in (400, 404):
                return None
            raise
        return _refund_result(body["data"])

    # --- the wire -----------------------------------------------------------------

    def _charge(self, path: str, payment_id: str, payload: dict,
                shown: Any = None) -> ChargeResult:
        """Start a charge under the payment's reference; a reused reference (we asked
        before and lost the answer) reads the first charge instead of making a second."""
        reference = processor_reference(payment_id)
        try:
            body = self._send("POST", path, {**payload, "reference": reference})
        except ProcessorRejected as exc:
            if "duplicate" not in exc.message.lower():
                raise
            body = self._send("GET", f"/charge/{reference}")
        data = body["data"]
        waiting = str(data.get("status")) in ("pay_offline", "pending_bank_transfer")
        return charge_result(data, instructions=shown(data) if shown and waiting else None)

    def _follow_up(self, path: str, payment_id: str, payload: dict) -> ChargeResult:
        body = self._send("POST", path, {**payload, "reference": processor_reference(payment_id)})
        return charge_result(body["data"])

    def _send(self, method: str, path: str, payload: dict | None = None,
              params: dict | None = None) -> dict:
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", json=payload, params=params,
                timeout=self.timeout, follow_redirects=False,
                headers={"Authorization": f"Bearer {self._secret}",
                         "Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise ProcessorUnavailable("processor_timeout",
                                       f"Paystack did not answer {method} {path} in time.") from exc
        except httpx.HTTPError as exc:
            raise ProcessorUnavailable("processor_unreachable",
                                       f"Paystack could not be reached ({type(exc).__name__}).") \
                from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        # A 5xx, a 429 (try later) or a body that is not Paystack's: no answer to act on.
        if response.status_code >= 500 or response.status_code == 429 or (
                response.is_success and not isinstance(body, dict)):
            raise ProcessorUnavailable("processor_error",
                                       f"Paystack answered {response.status_code} to {path}.",
                                       status=response.status_code)
        if response.status_code == 401 or message.lower() == "invalid key":
            raise ProcessorAuthError("processor_auth", "Paystack refused the secret key.",
                                     status=response.status_code)
        if not response.is_success or not isinstance(body, dict) or body.get("status") is not True:
            raise ProcessorRejected("processor_rejected",
                                    message or f"Paystack refused {path}.",
                                    status=response.status_code)
        return body


def _refund_result(data: dict) -> RefundResult:
    status = REFUND_STATUSES.get(str(data.get("status")), "pending")
    return RefundResult(
        status=status, reference=str(data.get("id") or ""),
        failure_code="refund_failed" if status == "failed" else "",
        failure_message="Paystack could not refund this payment." if status == "failed" else "")
