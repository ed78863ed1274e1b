"""A stand-in of Flutterwave's v3 API on 127.0.0.1, written by us from Flutterwave's public
documentation (its v3 API reference, direct-charge guides, encryption guide, webhook guide
and test cards).

It speaks what Duro uses: ``POST /v3/charges?type=`` ``card`` (the payload 3DES-encrypted
under the merchant's encryption key, sent as ``{"client": …}``), ``bank_transfer``,
``ussd``, ``mobile_money_ghana`` and ``mpesa``; ``POST /v3/validate-charge``;
``POST /v3/tokenized-charges``; ``GET /v3/transactions/{id}/verify``;
``GET /v3/transactions/verify_by_reference?tx_ref=``; ``POST /v3/transactions/{id}/refund``;
``GET /v3/refunds`` and ``GET /v3/refunds/{id}``; with Flutterwave's envelope
(``{"status": "success", "message", "data"}``), its error bodies
(``{"status": "error", "message", "data": null}``), amounts in MAJOR units, a Bearer
secret (401 otherwise) and one transaction per ``tx_ref``. Webhooks carry the merchant's
secret hash as Flutterwave sends it, in the ``verif-hash`` header::

    standin = FlutterwaveStandin(webhook_url=receiver.url("/flutterwave"))
    client = Flutterwave(standin.secret_key, base_url=standin.url, timeout=1,
                         encryption_key=standin.encryption_key)
    client.charge_bank_transfer(payment_id="pay_A", amount=5000, currency="NGN",
                                email="ada@example.com")          # processing + account
    standin.complete("pay_A")            # money arrived: charge.completed is posted
    standin.hang_next("/v3/charges", 3)  # the next charge is made, its answer comes late
    standin.fail_next("/v3/charges", 503)  # the next charge is refused with a 503, unmade
    standin.unknown_status = 404         # lookups of an unknown transaction: 404 (else 400)

Flutterwave's documented test cards behave as they do there (any future expiry; PIN 3310,
OTP 12345):

=======================  ===  =========================================================
5531 8866 5214 2950      564  asks for the PIN, then the OTP, then succeeds
4187 4274 1556 4246      828  3-D Secure: a redirect until :meth:`complete` (or the bank's page)
5438 8980 1456 0229      564  3-D Secure: a redirect until :meth:`complete` (or the bank's page)
4556 0527 0417 2643      899  address verification (``avs_noauth``), then a redirect
5061 4601 6697 6054 667  564  no authentication: succeeds at once
5258 5859 2266 6506      883  PIN and OTP, then "Insufficient funds"
5143 0105 2233 9965      276  declined ("Do not honour")
=======================  ===  =========================================================

A card's PIN goes as Flutterwave takes it: the whole card charged again with
``authorization: {"mode": "pin", "pin"}``. The bank's 3-D Secure page
(``GET /mockvbvpage?ref=<flw_ref>``, ``&answer=decline`` to decline) answers for the payer
and sends them to the charge's ``redirect_url`` with ``status``, ``tx_ref`` and
``transaction_id`` in the query.

Transfers, USSD and M-Pesa wait (``pending``) for :meth:`complete` (which may say a
different ``amount`` arrived, in major units as Flutterwave says it) or :meth:`fail`;
Ghana's mobile money answers a redirect to Flutterwave's authorization page first.
Refunds are ``pending`` until :meth:`refund_complete` or :meth:`refund_fail`.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes

PIN = "3310"
OTP = "12345"
TX_REF = re.compile(r"^[A-Za-z0-9_.=-]{1,100}$")
CURRENCIES = {"NGN", "GHS", "KES", "ZAR", "USD", "UGX", "RWF"}
USSD_BANKS = {"044": "Access Bank", "050": "Ecobank", "070": "Fidelity Bank",
              "011": "First Bank", "214": "FCMB", "058": "GTBank", "030": "Heritage Bank",
              "082": "Keystone Bank", "221": "Stanbic IBTC", "232": "Sterling Bank",
              "032": "Union Bank", "033": "UBA", "215": "Unity Bank", "035": "Wema Bank",
              "057": "Zenith Bank"}
GHANA_NETWORKS = {"MTN", "VODAFONE", "TIGO"}
AVS_FIELDS = ["city", "address", "state", "country", "zipcode"]


@dataclass(frozen=True)
class DocumentedCard:
    steps: tuple[str, ...] = ()  # "pin", "otp", "redirect", "avs", in order
    outcome: str = "success"  # success | declined
    message: str = ""


TEST_CARDS = {
    "5531886652142950": DocumentedCard(steps=("pin", "otp")),
    "4187427415564246": DocumentedCard(steps=("redirect",)),
    "5438898014560229": DocumentedCard(steps=("redirect",)),
    "4556052704172643": DocumentedCard(steps=("avs", "redirect")),
    "5061460166976054667": DocumentedCard(),
    "5258585922666506": DocumentedCard(steps=("pin", "otp"), outcome="declined",
                                       message="Insufficient funds"),
    "5143010522339965": DocumentedCard(outcome="declined", message="Do not honour"),
}


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _amount(value: object) -> Decimal | None:
    """A positive amount in major units (a number or its text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None


@dataclass
class Transaction:
    id: int
    tx_ref: str
    flw_ref: str
    amount: Decimal
    currency: str
    email: str
    payment_type: str
    status: str = "pending"  # pending | successful | failed
    steps: list[str] = field(default_factory=list)  # what the payer must still do
    card: dict | None = None
    token: str = ""
    outcome: str = "success"
    decline: str = ""  # what the bank says when the outcome is "declined"
    message: str = ""  # processor_response
    paid: Decimal | None = None  # what arrived, when it differs from what was asked
    refunded: Decimal = Decimal(0)
    meta: object = None
    redirect_url: str = ""  # where the bank's page sends the payer back (3-D Secure)
    created_at: str = field(default_factory=_now)


@dataclass
class Refund:
    id: int
    transaction: Transaction
    amount: Decimal
    comments: str
    status: str = "pending"  # pending | completed | failed
    created_at: str = field(default_factory=_now)


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: object
    decrypted: dict | None = None  # a card charge's ``client``, as Flutterwave reads it


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # "error": answer ``status`` without acting; "hang": act, answer late
    status: int = 500
    seconds: float = 0.0
    message: str = ""


class FlutterwaveStandin:
    """Flutterwave on loopback: a threaded HTTP server and the ledger behind it."""

    def __init__(self, *, secret_key: str | None = None, encryption_key: str | None = None,
                 secret_hash: str | None = None, webhook_url: str | None = None):
        self.secret_key = secret_key or f"FLWSECK_TEST-{secrets.token_hex(16)}-X"
        self.encryption_key = encryption_key or f"FLWSECK_TEST{secrets.token_hex(6)}"
        self.secret_hash = secret_hash or secrets.token_urlsafe(24)
        self.webhook_url = webhook_url
        self.unknown_status = 400  # lookups of a transaction never seen: 400 or 404
        self.requests: list[Received] = []
        self.deliveries: list[tuple[str, int]] = []  # (event, receiver's status)
        self.transactions: dict[str, Transaction] = {}  # by tx_ref
        self.refunds: dict[int, Refund] = {}
        self.tokens: dict[str, dict] = {}  # card token → the card it charges
        self.declining: set[str] = set()  # tokens whose next charges fail
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(5_700_001)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- controls for tests ---------------------------------------------------------

    def fail_next(self, path: str, status: int = 500, *, method: str = "POST",
                  message: str = "An error occurred") -> None:
        """The next ``method path…`` is answered ``status`` (with ``message``) and not acted
        on."""
        with self.lock:
            self.faults.append(Fault(method, path, "error", status=status, message=message))

    def hang_next(self, path: str, seconds: float, *, method: str = "POST") -> None:
        """The next ``method path…`` is acted on (the charge is made), then its answer
        waits ``seconds``: past the client's time-out, the client never hears it."""
        with self.lock:
            self.faults.append(Fault(method, path, "hang", seconds=seconds))

    def complete(self, tx_ref: str, *, amount: Decimal | str | None = None) -> int | None:
        """The payer finished (money arrived, the bank approved): the transaction is
        ``successful`` with ``amount`` (major units; default what was asked) and
        ``charge.completed`` is posted. Returns the receiver's status (None without a
        webhook URL)."""
        with self.lock:
            transaction = self.transactions[tx_ref]
            self._succeed(transaction, paid=Decimal(str(amount)) if amount is not None
                          else None)
            payload = self._data(transaction)
        return self.send_event("charge.completed", payload)

    def fail(self, tx_ref: str, message: str = "Declined") -> int | None:
        """The bank said no (or the account expired unpaid): the transaction is ``failed``
        and ``charge.completed`` (status ``failed``) is posted."""
        with self.lock:
            transaction = self.transactions[tx_ref]
            self._fail(transaction, message)
            payload = self._data(transaction)
        return self.send_event("charge.completed", payload)

    def decline_token(self, token: str) -> None:
        """Charges on this card token fail from now on (a renewal declined)."""
        with self.lock:
            self.declining.add(token)

    def refund_complete(self, refund_id: int) -> None:
        with self.lock:
            self.refunds[refund_id].status = "completed"

    def refund_fail(self, refund_id: int) -> None:
        with self.lock:
            refund = self.refunds[refund_id]
            refund.status = "failed"
            refund.transaction.refunded -= refund.amount

    def send_event(self, event: str, data: dict, *, secret_hash: str | None = None) -> int | None:
        """POST ``{"event", "data", "event.type"}`` to the webhook URL with ``verif-hash``
        (the merchant's secret hash, or ``secret_hash`` to forge one)."""
        if not self.webhook_url:
            return None
        kind = {"card": "CARD_TRANSACTION", "bank_transfer": "BANK_TRANSFER_TRANSACTION",
                "ussd": "USSD_TRANSACTION"}.get(str(data.get("payment_type")),
                                                "MOBILEMONEY_TRANSACTION")
        raw = _dumps({"event": event, "data": data, "event.type": kind}).encode()
        status = httpx.post(self.webhook_url, content=raw, timeout=10, headers={
            "content-type": "application/json",
            "verif-hash": self.secret_hash if secret_hash is None else secret_hash,
        }).status_code
        with self.lock:
            self.deliveries.append((event, status))
        return status

    def at(self, method: str, path: str) -> list[Received]:
        """The requests received for ``method path`` (exactly, without the query), oldest
        first."""
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def money_taken(self) -> list[Transaction]:
        """Every transaction that took money: what a double-charge test counts."""
        with self.lock:
            return [t for t in self.transactions.values() if t.status == "successful"]

    # --- the server -------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else {}
        except ValueError:
            body = None
        received = Received(method, parts.path, query, dict(request.headers), body)
        with self.lock:
            self.requests.append(received)
            fault = next((f for f in self.faults
                          if f.method == method and parts.path.startswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if method == "GET" and parts.path == "/mockvbvpage":  # the payer, not Duro
            return self._bank_page(request, query)
        if fault is not None and fault.kind == "error":
            return self._reply(request, fault.status,
                               {"status": "error", "message": fault.message, "data": None})
        status, answer = self._answer(request, method, parts.path, query, body, received)
        if fault is not None:
            time.sleep(fault.seconds)
        self._reply(request, status, answer)

    def _bank_page(self, request: BaseHTTPRequestHandler, query: dict) -> None:
        """The bank's 3-D Secure page as the payer's browser meets it: visiting it answers
        for the payer (``answer=decline`` declines; anything else approves) and sends them
        to the charge's ``redirect_url`` with ``status``, ``tx_ref`` and
        ``transaction_id``, as Flutterwave's redirect does."""
        from urllib.parse import urlencode

        flw_ref = query.get("ref", [""])[0]
        with self.lock:
            transaction = next((t for t in self.transactions.values()
                                if t.flw_ref == flw_ref), None)
            if transaction is None or not transaction.steps or \
                    transaction.steps[0] != "redirect":
                return self._reply(request, 404, {"status": "error",
                                                  "message": "No charge awaits the bank",
                                                  "data": None})
            if query.get("answer", [""])[0] == "decline":
                self._fail(transaction, "Authentication failed")
            else:
                self._succeed(transaction)
            back = transaction.redirect_url
            status = "successful" if transaction.status == "successful" else "failed"
            answer = {"status": status, "tx_ref": transaction.tx_ref,
                      "transaction_id": transaction.id}
        if not back:
            return self._reply(request, 200, {"status": "success",
                                              "message": "Authorized", "data": answer})
        request.send_response(302)
        request.send_header("Location", f"{back}{'&' if '?' in back else '?'}"
                                        f"{urlencode(answer)}")
        request.send_header("Content-Length", "0")
        request.end_headers()
        return None

    def _reply(self, request: BaseHTTPRequestHandler, status: int, answer: dict) -> None:
        raw = _dumps(answer).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(raw)))
            request.end_headers()
            request.wfile.write(raw)
        except OSError:
            pass  # the client gave up first (its time-out)

    def _answer(self, request, method: str, path: str, query: dict, body: object,
                received: Received) -> tuple[int, dict]:
        authorization = request.headers.get("Authorization") or ""
        if not authorization.startswith("Bearer ") or not secrets.compare_digest(
                authorization.removeprefix("Bearer ").encode(), self.secret_key.encode()):
            return 401, {"status": "error", "message": "Invalid authorization key",
                         "data": None}
        if body is None or (method == "POST" and not isinstance(body, dict)):
            return 400, {"status": "error", "message": "Invalid JSON in request body",
                         "data": None}
        routes = [
            ("POST", r"/v3/charges", self._charge),
            ("POST", r"/v3/validate-charge", self._validate),
            ("POST", r"/v3/tokenized-charges", self._tokenized),
            ("GET", r"/v3/transactions/(?P<id>[^/]+)/verify", self._verify),
            ("GET", r"/v3/transactions/verify_by_reference", self._verify_by_reference),
            ("POST", r"/v3/transactions/(?P<id>[^/]+)/refund", self._refund_create),
            ("GET", r"/v3/refunds", self._refund_list),
            ("GET", r"/v3/refunds/(?P<id>[^/]+)", self._refund_fetch),
            ("GET", r"/v3/balances", self._balances),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                try:
                    with self.lock:
                        answer = action(body=body, query=query, received=received,
                                        **match.groupdict())
                except Refused as exc:
                    return exc.status, {"status": "error", "message": exc.message,
                                        "data": None}
                return 200, {"status": "success", **answer}
        return 404, {"status": "error", "message": "Route not found", "data": None}

    # --- charges ----------------------------------------------------------------------

    def _new(self, body: dict, payment_type: str, *, currencies: set[str] | None = None,
             register: bool = True) -> Transaction:
        email, amount = body.get("email"), _amount(body.get("amount"))
        if not isinstance(email, str) or "@" not in email:
            raise Refused(400, "email is required")
        if amount is None:
            raise Refused(400, "amount is required and must be a positive number")
        currency = str(body.get("currency") or "NGN")
        if currency not in (currencies or CURRENCIES):
            raise Refused(400, f"Invalid currency {currency} for {payment_type}")
        tx_ref = body.get("tx_ref")
        if not isinstance(tx_ref, str) or not TX_REF.match(tx_ref):
            raise Refused(400, "tx_ref is required")
        if tx_ref in self.transactions:
            raise Refused(400, "Duplicate transaction reference")
        identifier = next(self._ids)
        transaction = Transaction(
            id=identifier, tx_ref=tx_ref, flw_ref=f"FLW-MOCK-{secrets.token_hex(8)}",
            amount=amount, currency=currency, email=email, payment_type=payment_type,
            meta=body.get("meta"))
        if register:
            self.transactions[tx_ref] = transaction
        return transaction

    def _charge(self, *, body: dict, query: dict, received: Received) -> dict:
        kind = query.get("type", [""])[0]
        charges = {"card": self._charge_card, "bank_transfer": self._charge_transfer,
                   "ussd": self._charge_ussd, "mobile_money_ghana": self._charge_ghana,
                   "mpesa": self._charge_mpesa}
        if kind not in charges:
            raise Refused(400, "Invalid charge type passed")
        return charges[kind](body, received)

    def _charge_card(self, body: dict, received: Received) -> dict:
        client = body.get("client")
        if not isinstance(client, str):
            raise Refused(400, "Please pass the encrypted payload as client")
        try:
            payload = decrypt(self.encryption_key, client)
        except (ValueError, TypeError):
            raise Refused(400, "Unable to decrypt the client payload") from None
        received.decrypted = payload
        if not all(str(payload.get(k) or "").isdigit()
                   for k in ("card_number", "cvv", "expiry_month", "expiry_year")):
            raise Refused(400, "Invalid card details")
        behaviour = TEST_CARDS.get(str(payload["card_number"]),
                                   DocumentedCard(outcome="declined", message="Declined"))
        steps = list(behaviour.steps)
        given = payload.get("authorization") if isinstance(payload.get("authorization"),
                                                           dict) else {}
        # No authorization yet and the card needs one: Flutterwave names it, makes nothing.
        if steps and steps[0] in ("pin", "avs") and not given:
            self._new(payload, "card", register=False)  # the request must still be valid
            mode = "pin" if steps[0] == "pin" else "avs_noauth"
            return {"message": "Charge authorization data required",
                    "meta": {"authorization": {
                        "mode": mode, "fields": ["pin"] if mode == "pin" else AVS_FIELDS}}}
        transaction = self._new(payload, "card")
        transaction.card = {k: str(payload[k]) for k in ("card_number", "expiry_month",
                                                         "expiry_year")}
        transaction.redirect_url = str(payload.get("redirect_url") or "")
        transaction.outcome, transaction.decline = behaviour.outcome, behaviour.message
        if steps and steps[0] == "pin":
            if given.get("mode") != "pin" or given.get("pin") != PIN:
                self._fail(transaction, "Incorrect PIN")
                return {"message": "Charge initiated", "data": self._data(transaction)}
            steps.pop(0)
        elif steps and steps[0] == "avs":
            if given.get("mode") != "avs_noauth" or not all(given.get(f) for f in AVS_FIELDS):
                self._fail(transaction, "Address verification failed")
                return {"message": "Charge initiated", "data": self._data(transaction)}
            steps.pop(0)
        transaction.steps = steps
        return self._next_step(transaction, "Charge initiated")

    def _next_step(self, transaction: Transaction, message: str) -> dict:
        """The transaction's answer: what the payer must do next, or its outcome."""
        if transaction.steps and transaction.steps[0] == "otp":
            transaction.message = ("Kindly enter the OTP sent to 234803***9051 and "
                                   "ada***@example.com")
            return {"message": message, "data": self._data(transaction),
                    "meta": {"authorization": {"mode": "otp",
                                               "endpoint": "/v3/validate-charge"}}}
        if transaction.steps and transaction.steps[0] == "redirect":
            return {"message": message, "data": self._data(transaction),
                    "meta": {"authorization": {"mode": "redirect", "redirect":
                             f"{self.url}/mockvbvpage?ref={transaction.flw_ref}"}}}
        if transaction.outcome == "declined":
            self._fail(transaction, transaction.decline or "Declined")
        else:
            self._succeed(transaction)
        return {"message": message, "data": self._data(transaction)}

    def _validate(self, *, body: dict, query: dict, received: Received) -> dict:
        otp, flw_ref = body.get("otp"), body.get("flw_ref")
        if not isinstance(otp, str) or not otp:
            raise Refused(400, "otp is required")
        transaction = next((t for t in self.transactions.values() if t.flw_ref == flw_ref),
                           None)
        if transaction is None:
            raise Refused(400, "Transaction not found")
        if transaction.status != "pending" or not transaction.steps or \
                transaction.steps[0] != "otp":
            raise Refused(400, "Transaction already validated")
        if otp != OTP:
            raise Refused(400, "Invalid OTP")  # the charge still awaits the right one
        transaction.steps.pop(0)
        return self._next_step(transaction, "Charge validated")

    def _tokenized(self, *, body: dict, query: dict, received: Received) -> dict:
        token = body.get("token")
        if not isinstance(token, str) or token not in self.tokens:
            raise Refused(400, "Token not found")
        transaction = self._new(body, "card")
        transaction.card, transaction.token = self.tokens[token], token
        if token in self.declining:
            self._fail(transaction, "Insufficient funds")
        else:
            self._succeed(transaction)
        return {"message": "Charge successful", "data": self._data(transaction)}

    def _charge_transfer(self, body: dict, received: Received) -> dict:
        transaction = self._new(body, "bank_transfer", currencies={"NGN"})
        transaction.steps = ["transfer"]
        expires = datetime.now(UTC) + timedelta(hours=1)
        return {"message": "Charge initiated", "meta": {"authorization": {
            "transfer_reference": transaction.flw_ref,
            "transfer_account": str(int(secrets.token_hex(5), 16) % 10**10).zfill(10),
            "transfer_bank": "Mock Bank",
            "account_expiration": int(expires.timestamp() * 1000),
            "transfer_note": "Please make a bank transfer to Duro Stand-in FLW",
            "transfer_amount": f"{transaction.amount:.2f}", "mode": "banktransfer"}}}

    def _charge_ussd(self, body: dict, received: Received) -> dict:
        bank = str(body.get("account_bank") or "")
        if bank not in USSD_BANKS:
            raise Refused(400, "Invalid account_bank passed for USSD")
        transaction = self._new(body, "ussd", currencies={"NGN"})
        code = f"*889*767*{transaction.id % 10000}#"
        return {"message": "Charge initiated", "data": {
            **self._data(transaction), "payment_code": str(transaction.id % 10000)},
            "meta": {"authorization": {"mode": "ussd", "note": code}}}

    def _charge_ghana(self, body: dict, received: Received) -> dict:
        if str(body.get("network") or "") not in GHANA_NETWORKS:
            raise Refused(400, "Invalid network passed. Valid networks: MTN, VODAFONE, TIGO")
        if not str(body.get("phone_number") or "").lstrip("+").isdigit():
            raise Refused(400, "phone_number is required")
        transaction = self._new(body, "mobilemoneygh", currencies={"GHS"})
        return {"message": "Charge initiated", "meta": {"authorization": {
            "mode": "redirect",
            "redirect": f"{self.url}/captcha/verify/{transaction.id}:{transaction.flw_ref}"}}}

    def _charge_mpesa(self, body: dict, received: Received) -> dict:
        if not str(body.get("phone_number") or "").lstrip("+").isdigit():
            raise Refused(400, "phone_number is required")
        transaction = self._new(body, "mpesa", currencies={"KES"})
        return {"message": "Charge initiated", "data": {**self._data(transaction),
                                                        "auth_model": "LIPA_MPESA"}}

    def _succeed(self, transaction: Transaction, paid: Decimal | None = None) -> None:
        transaction.status, transaction.steps = "successful", []
        transaction.message = "Approved by Financial Institution"
        transaction.paid = paid if paid is not None and paid != transaction.amount else None
        if transaction.card and not transaction.token:
            transaction.token = f"flw-t1nf-{secrets.token_hex(16)}-m03k"
        if transaction.token and transaction.card:
            self.tokens[transaction.token] = transaction.card

    def _fail(self, transaction: Transaction, message: str) -> None:
        transaction.status, transaction.steps = "failed", []
        transaction.message = message

    # --- lookups ------------------------------------------------------------------------

    def _verify(self, *, body: object, query: dict, received: Received, id: str) -> dict:
        transaction = next((t for t in self.transactions.values() if str(t.id) == id), None)
        if transaction is None:
            raise Refused(self.unknown_status, "No transaction was found for this id")
        return {"message": "Transaction fetched successfully", "data": self._data(transaction)}

    def _verify_by_reference(self, *, body: object, query: dict, received: Received) -> dict:
        tx_ref = query.get("tx_ref", [""])[0]
        transaction = self.transactions.get(tx_ref)
        if transaction is None:
            raise Refused(self.unknown_status, "No transaction was found for this tx_ref")
        return {"message": "Transaction fetched successfully", "data": self._data(transaction)}

    def _balances(self, *, body: object, query: dict, received: Received) -> dict:
        """``GET /v3/balances``: the wallets' balances (a read that moves nothing)."""
        return {"message": "Wallet balances fetched", "data": [
            {"currency": currency, "available_balance": 0, "ledger_balance": 0}
            for currency in ("NGN", "GHS", "KES", "ZAR", "USD")]}

    # --- refunds ----------------------------------------------------------------------

    def _refund_create(self, *, body: dict, query: dict, received: Received, id: str) -> dict:
        transaction = next((t for t in self.transactions.values() if str(t.id) == id), None)
        if transaction is None:
            raise Refused(404, "Transaction not found")
        if transaction.status != "successful":
            raise Refused(400, "Only successful transactions can be refunded")
        left = (transaction.paid or transaction.amount) - transaction.refunded
        amount = _amount(body.get("amount", left))
        if amount is None:
            raise Refused(400, "Invalid amount")
        if amount > left:
            raise Refused(400, "Refund amount cannot be greater than the amount left to "
                               "refund")
        transaction.refunded += amount
        refund = Refund(id=next(self._ids), transaction=transaction, amount=amount,
                        comments=str(body.get("comments") or ""))
        self.refunds[refund.id] = refund
        return {"message": "Transaction refund initiated", "data": self._refund_data(refund)}

    def _refund_list(self, *, body: object, query: dict, received: Received) -> dict:
        named = query.get("id", [None])[0]
        return {"message": "Refunds fetched", "data": [
            self._refund_data(r) for r in self.refunds.values()
            if named is None or str(r.transaction.id) == named],
            "meta": {"page_info": {"total": len(self.refunds), "current_page": 1,
                                   "total_pages": 1}}}

    def _refund_fetch(self, *, body: object, query: dict, received: Received, id: str) -> dict:
        refund = self.refunds.get(int(id)) if id.isdigit() else None
        if refund is None:
            raise Refused(404, "Refund not found")
        return {"message": "Refund fetched", "data": self._refund_data(refund)}

    # --- representations ----------------------------------------------------------------

    def _data(self, transaction: Transaction) -> dict:
        """A transaction as Flutterwave answers it (charge, validate, verify, event)."""
        card = None
        if transaction.card:
            number = transaction.card["card_number"]
            card = {"first_6digits": number[:6], "last_4digits": number[-4:],
                    "issuer": "MASTERCARD CREDIT" if number.startswith("5") else "VISA",
                    "country": "NG",
                    "type": "VISA" if number.startswith("4") else "MASTERCARD",
                    "expiry": f"{transaction.card['expiry_month']}/"
                              f"{transaction.card['expiry_year'][-2:]}"}
            if transaction.status == "successful":
                card["token"] = transaction.token
        amount = transaction.paid if transaction.paid is not None else transaction.amount
        return {
            "id": transaction.id, "tx_ref": transaction.tx_ref,
            "flw_ref": transaction.flw_ref, "device_fingerprint": "N/A",
            "amount": amount, "charged_amount": amount, "app_fee": Decimal("1.4"),
            "merchant_fee": 0, "processor_response": transaction.message or "Pending",
            "auth_model": "PIN" if transaction.payment_type == "card" else "AUTH",
            "currency": transaction.currency, "ip": "127.0.0.1",
            "narration": f"{transaction.payment_type.upper()} Transaction ",
            "status": transaction.status, "payment_type": transaction.payment_type,
            "fraud_status": "ok", "charge_type": "normal",
            "created_at": transaction.created_at, "account_id": 20937,
            "customer": {"id": 216519823, "phone_number": None, "name": "Anonymous customer",
                         "email": transaction.email, "created_at": transaction.created_at},
            **({"card": card} if card else {}), "meta": transaction.meta,
        }

    def _refund_data(self, refund: Refund) -> dict:
        return {"id": refund.id, "account_id": 20937, "tx_id": refund.transaction.id,
                "flw_ref": refund.transaction.flw_ref, "wallet_id": 21240,
                "amount_refunded": refund.amount, "status": refund.status,
                "destination": "payment_source", "comments": refund.comments,
                "meta": {"source": "availablebalance"}, "created_at": refund.created_at}


def decrypt(encryption_key: str, client: str) -> dict:
    """A card charge's ``client`` read as Flutterwave's encryption guide describes it:
    base64 of the JSON payload, 3DES (ECB, PKCS#7) under the 24-character key. Written
    here, not imported from the client, so the two are checked against each other."""
    decryptor = Cipher(TripleDES(encryption_key.encode()), modes.ECB()).decryptor()
    data = decryptor.update(base64.b64decode(client, validate=True)) + decryptor.finalize()
    unpadder = padding.PKCS7(64).unpadder()
    return json.loads(unpadder.update(data) + unpadder.finalize(), parse_float=Decimal)


def _dumps(answer: object) -> str:
    """JSON with Decimal amounts as exact numbers (``15000.01``), as Flutterwave sends."""
    def mark(value: object) -> object:
        if isinstance(value, Decimal):
            return f"\x00dec{value:f}\x00"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    return re.sub(r'"\\u0000dec(-?[0-9.]+)\\u0000"', r"\1", json.dumps(mark(answer)))


@pytest.fixture(name="flutterwave_standin")
def flutterwave_standin_fixture():
    """A Flutterwave stand-in on 127.0.0.1 for this test (``.url``, ``.secret_key``,
    ``.encryption_key``, ``.secret_hash``)."""
    standin = FlutterwaveStandin()
    yield standin
    standin.close()
