"""A stand-in of Paystack's API on 127.0.0.1, written by us from Paystack's public
documentation (its API reference, charge and webhook examples, and test cards).

It speaks what Duro uses: ``POST /charge`` (card, ``bank_transfer``, ``ussd``,
``mobile_money``), ``POST /charge/submit_pin``, ``POST /charge/submit_otp``,
``GET /charge/{reference}``, ``POST /transaction/charge_authorization``,
``GET /transaction/verify/{reference}``, ``POST /refund``, ``GET /refund``,
``GET /refund/{id}`` and ``GET /balance``; with Paystack's envelope (``{"status": true,
"message", "data"}``), its error bodies (``{"status": false, "message"}``) and status
codes, a Bearer secret (401 "Invalid key" otherwise), and one charge per reference
("Duplicate Transaction Reference"). Webhooks are signed as Paystack signs them:
``x-paystack-signature`` is the HMAC-SHA512 hex of the raw body keyed with the secret::

    standin = PaystackStandin(webhook_url=receiver.url("/paystack"))
    client = Paystack(standin.secret_key, base_url=standin.url, timeout=1)
    client.charge_bank_transfer(payment_id="pay_A", amount=5000, currency="NGN",
                                email="ada@example.com")          # processing + account
    standin.complete("pay-A")          # money arrived: charge.success is posted, signed
    standin.hang_next("/charge", 3)    # the next charge is made, its answer comes late
    standin.fail_next("/charge", 503)  # the next charge is refused with a 503, unmade
    standin.unknown_status = 404       # verify of an unknown reference: 404 (default 400)
    standin.events_for_answered_charges = True  # charge.success after a successful answer too

Paystack's documented test cards behave as they do there (any future expiry):

=====================  ====  ======================================================
4084 0840 8408 4081    408   succeeds; reusable authorization
5078 5078 5078 5078 12 081   asks for the PIN (1111), then succeeds; reusable
5060 6666 6666 6666 666 123  asks for the PIN (1234), then the OTP (123456)
4084 0800 0000 0409    000   bank authorization (3-D Secure): ``open_url`` until the
                             payer answers the bank's page at its ``url`` (or the test
                             calls :meth:`PaystackStandin.complete`)
4084 0800 0000 5408    001   declined
5060 6650 6066 5060 67 060   the bank times out: ``pending`` until completed or failed
5060 6600 0000 0064    606   Paystack answers 500 (nothing is charged)
=====================  ====  ======================================================

The bank's page (``GET /bank/authorize/{reference}``, no secret: the payer's browser opens
it) is a form; its "Authorize" (or "Decline") marks the charge successful (or failed)
and sends the payer back with a 303 to the ``metadata.callback_url`` the charge was made
with, ``?trxref=…&reference=…`` appended as Paystack does.

USSD and mobile money answer ``pay_offline`` (Vodafone first ``send_otp`` for its
voucher), transfers ``pending_bank_transfer``; all wait for :meth:`complete` (which may say
a different ``amount`` arrived) or :meth:`fail`. Refunds are ``pending`` until
:meth:`refund_process` or :meth:`refund_fail` (each posts its ``refund.*`` event).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
OTP = "123456"


@dataclass(frozen=True)
class DocumentedCard:
    steps: tuple[str, ...] = ()  # "pin", "otp", "redirect", "pending", in order
    pin: str = ""
    outcome: str = "success"  # success | declined | error
    reusable: bool = True


TEST_CARDS = {
    "4084084084084081": DocumentedCard(),
    "507850785078507812": DocumentedCard(steps=("pin",), pin="1111"),
    "5060666666666666666": DocumentedCard(steps=("pin", "otp"), pin="1234", reusable=False),
    "4084080000000409": DocumentedCard(steps=("redirect",)),
    "4084080000005408": DocumentedCard(outcome="declined"),
    "506066506066506067": DocumentedCard(steps=("pending",)),
    "5060660000000064": DocumentedCard(outcome="error"),
}
USSD_TYPES = {"737": "Guaranty Trust Bank", "919": "United Bank of Africa",
              "822": "Sterling Bank", "966": "Zenith Bank"}
MOMO_PROVIDERS = {"mtn": "GHS", "vod": "GHS", "atl": "GHS", "mpesa": "KES"}
CURRENCIES = {"NGN", "GHS", "KES", "ZAR", "USD"}
# What each waiting charge status reads as on GET /transaction/verify.
VERIFY_STATUS = {"send_pin": "ongoing", "send_otp": "ongoing", "open_url": "ongoing",
                 "pay_offline": "ongoing", "pending_bank_transfer": "ongoing",
                 "pending": "pending", "success": "success", "failed": "failed"}


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Charge:
    id: int
    reference: str
    amount: int
    currency: str
    email: str
    channel: str
    status: str
    metadata: object = None
    steps: list[str] = field(default_factory=list)
    pin: str = ""
    card: dict | None = None
    reusable: bool = False
    message: str | None = None
    gateway_response: str = ""
    paid: int | None = None  # what arrived, when it differs from what was asked
    refunded: int = 0
    shown: dict = field(default_factory=dict)  # display_text, ussd_code, account, url
    authorization_code: str = ""
    announced: bool = False  # its charge.success was posted (or is being posted)
    created_at: str = field(default_factory=_now)
    paid_at: str | None = None


@dataclass
class Refund:
    id: int
    charge: Charge
    amount: int
    currency: str
    merchant_note: str
    customer_note: str
    status: str = "pending"
    created_at: str = field(default_factory=_now)


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # "error": answer ``status`` without acting; "hang": act, answer late
    status: int = 500
    seconds: float = 0.0
    message: str = ""


class PaystackStandin:
    """Paystack on loopback: a threaded HTTP server and the ledger behind it."""

    def __init__(self, *, secret_key: str | None = None, webhook_url: str | None = None):
        self.secret_key = secret_key or f"sk_test_{secrets.token_hex(20)}"
        self.webhook_url = webhook_url
        self.unknown_status = 400  # verify of a reference never seen: 400 or 404
        # Paystack posts charge.success for every charge that succeeds, also when the API's
        # answer (a card, a PIN, an OTP, a saved authorization) already said so. Off by
        # default, so that a test counting deliveries sees only the events it provoked.
        self.events_for_answered_charges = False
        self.requests: list[Received] = []
        self.deliveries: list[tuple[str, int]] = []  # (event, receiver's status)
        self.charges: dict[str, Charge] = {}
        self.refunds: dict[int, Refund] = {}
        self.declining: set[str] = set()  # authorization codes whose next charges fail
        self.authorizations: dict[str, dict] = {}  # reusable code → the card it charges
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(4_100_000_001)
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

    def complete(self, reference: str, *, amount: int | None = None) -> int | None:
        """The payer finished (money arrived, the bank approved): the charge succeeds with
        ``amount`` (default: what was asked) and ``charge.success`` is posted. Returns the
        receiver's status (None without a webhook URL)."""
        with self.lock:
            charge = self.charges[reference]
            self._succeed(charge, paid=amount)
            charge.announced = True
            payload = self._transaction(charge)
        return self.send_event("charge.success", payload)

    def fail(self, reference: str, message: str = "Declined") -> None:
        """The bank said no (or the account expired unpaid): verify says ``failed``."""
        with self.lock:
            charge = self.charges[reference]
            charge.status, charge.steps = "failed", []
            charge.message = charge.gateway_response = message

    def decline_authorization(self, code: str) -> None:
        """Charges on this authorization code fail from now on (a renewal declined)."""
        with self.lock:
            self.declining.add(code)

    def refund_process(self, refund_id: int) -> int | None:
        return self._refund_settle(refund_id, "processed")

    def refund_fail(self, refund_id: int) -> int | None:
        return self._refund_settle(refund_id, "failed")

    def send_event(self, event: str, data: dict) -> int | None:
        """POST ``{"event", "data"}`` to the webhook URL, signed with the secret."""
        if not self.webhook_url:
            return None
        raw = json.dumps({"event": event, "data": data}).encode()
        signature = hmac.new(self.secret_key.encode(), raw, hashlib.sha512).hexdigest()
        status = httpx.post(self.webhook_url, content=raw, timeout=10, headers={
            "content-type": "application/json", "x-paystack-signature": signature}).status_code
        with self.lock:
            self.deliveries.append((event, status))
        return status

    def at(self, method: str, path: str) -> list[Received]:
        """The requests received for ``method path`` (exactly), oldest first."""
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def money_taken(self) -> list[Charge]:
        """Every charge that took money: what a double-charge test counts."""
        with self.lock:
            return [c for c in self.charges.values() if c.status == "success"]

    # --- the server -------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        bank = re.fullmatch(r"/bank/authorize/([A-Za-z0-9.=-]+)", parts.path)
        if bank is not None:
            return self._bank_page(request, method, bank.group(1),
                                   parse_qs(raw.decode("utf-8", "replace")))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        with self.lock:
            self.requests.append(Received(method, parts.path, parse_qs(parts.query),
                                          dict(request.headers), body))
            fault = next((f for f in self.faults
                          if f.method == method and parts.path.startswith(f.path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None and fault.kind == "error":
            return self._reply(request, fault.status,
                               {"status": False, "message": fault.message})
        status, answer = self._answer(request, method, parts.path, parse_qs(parts.query), body)
        if fault is not None:
            time.sleep(fault.seconds)
        self._reply(request, status, answer)
        self._announce()

    def _announce(self) -> None:
        """After the answer, as Paystack does: charge.success for each charge that
        succeeded in it (when :attr:`events_for_answered_charges` is on)."""
        if not self.events_for_answered_charges:
            return
        with self.lock:
            settled = [c for c in self.charges.values()
                       if c.status == "success" and not c.announced]
            for charge in settled:
                charge.announced = True
            payloads = [self._transaction(c) for c in settled]
        for payload in payloads:
            self.send_event("charge.success", payload)

    def _bank_page(self, request: BaseHTTPRequestHandler, method: str, reference: str,
                   form: dict) -> None:
        """The issuing bank's 3-D Secure page: a form the payer answers."""
        event = None
        with self.lock:
            charge = self.charges.get(reference)
            if charge is None:
                return self._html(request, 404, "<p>Unknown transaction.</p>")
            if method == "GET":
                return self._html(request, 200, (
                    f"<h1>Test Bank: authorize {charge.currency} {charge.amount / 100:.2f}</h1>"
                    f'<form method="post" action="/bank/authorize/{reference}">'
                    '<button name="answer" value="approve" id="bank-approve">Authorize</button>'
                    '<button name="answer" value="decline" id="bank-decline">Decline</button>'
                    "</form>"))
            if charge.status == "open_url":
                if form.get("answer") == ["approve"]:
                    charge.steps.pop(0)
                    self._advance(charge)
                    if charge.status == "success":
                        charge.announced = True
                        event = self._transaction(charge)
                else:
                    self.fail(reference, "Authentication failed")
            back = (charge.metadata or {}).get("callback_url") if isinstance(
                charge.metadata, dict) else None
        if event is not None:
            self.send_event("charge.success", event)
        if not back:
            return self._html(request, 200, "<p>Done. You may close this page.</p>")
        joiner = "&" if "?" in back else "?"
        request.send_response(303)
        request.send_header("Location", f"{back}{joiner}trxref={reference}&reference={reference}")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _html(self, request: BaseHTTPRequestHandler, status: int, body: str) -> None:
        raw = f"<!doctype html><title>Test Bank</title>{body}".encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(raw)))
        request.end_headers()
        request.wfile.write(raw)

    def _reply(self, request: BaseHTTPRequestHandler, status: int, answer: dict) -> None:
        raw = json.dumps(answer).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(raw)))
            request.end_headers()
            request.wfile.write(raw)
        except OSError:
            pass  # the client gave up first (its time-out)

    def _answer(self, request, method: str, path: str, query: dict,
                body: object) -> tuple[int, dict]:
        authorization = request.headers.get("Authorization") or ""
        if not authorization.startswith("Bearer "):
            return 401, {"status": False,
                         "message": "Format is Authorization: Bearer [secret key]"}
        if not hmac.compare_digest(authorization.removeprefix("Bearer "), self.secret_key):
            return 401, {"status": False, "message": "Invalid key"}
        if body is None or (method == "POST" and not isinstance(body, dict)):
            return 400, {"status": False, "message": "Invalid JSON in request body"}
        routes = [
            ("POST", r"/charge", self._charge),
            ("POST", r"/charge/submit_pin", self._submit_pin),
            ("POST", r"/charge/submit_otp", self._submit_otp),
            ("GET", r"/charge/(?P<reference>[^/]+)", self._charge_check),
            ("POST", r"/transaction/charge_authorization", self._charge_authorization),
            ("GET", r"/transaction/verify/(?P<reference>[^/]+)", self._verify),
            ("POST", r"/refund", self._refund_create),
            ("GET", r"/refund", self._refund_list),
            ("GET", r"/refund/(?P<id>[^/]+)", self._refund_fetch),
            ("GET", r"/balance", self._balance),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                try:
                    with self.lock:
                        message, data = action(body=body, query=query, **match.groupdict())
                except Refused as exc:
                    return exc.status, {"status": False, "message": exc.message}
                return 200, {"status": True, "message": message, "data": data}
        return 404, {"status": False, "message": "Route not found"}

    # --- the account --------------------------------------------------------------------

    def _balance(self, *, body: object, query: dict) -> tuple[str, list]:
        """What settled charges left in the account, per currency (less refunds)."""
        totals: dict[str, int] = {}
        for charge in self.charges.values():
            if charge.status in ("success", "reversed"):
                paid = charge.amount if charge.paid is None else charge.paid
                totals[charge.currency] = totals.get(charge.currency, 0) + paid
        for refund in self.refunds.values():
            if refund.status == "processed":
                totals[refund.currency] = totals.get(refund.currency, 0) - refund.amount
        return "Balances retrieved", [{"currency": c, "balance": b}
                                      for c, b in sorted((totals or {"NGN": 0}).items())]

    # --- charges ----------------------------------------------------------------------

    def _new_charge(self, body: dict, channel: str, status: str) -> Charge:
        email, amount = body.get("email"), body.get("amount")
        if not isinstance(email, str) or "@" not in email:
            raise Refused(400, "Email address is required")
        if isinstance(amount, bool) or not str(amount or "").isdigit() or int(amount) <= 0:
            raise Refused(400, "Invalid amount sent")
        currency = body.get("currency") or "NGN"
        if currency not in CURRENCIES:
            raise Refused(400, "Currency not supported by merchant")
        reference = body.get("reference") or f"T{secrets.token_hex(7)}"
        if not isinstance(reference, str) or not REFERENCE.match(reference):
            raise Refused(400, "Invalid transaction reference: only -, ., = and "
                               "alphanumeric characters allowed")
        if reference in self.charges:
            raise Refused(400, "Duplicate Transaction Reference")
        charge = Charge(id=next(self._ids), reference=reference, amount=int(amount),
                        currency=currency, email=email, channel=channel, status=status,
                        metadata=body.get("metadata"))
        self.charges[reference] = charge
        return charge

    def _charge(self, *, body: dict, query: dict) -> tuple[str, dict]:
        if isinstance(body.get("card"), dict):
            return self._charge_card(body)
        if isinstance(body.get("bank_transfer"), dict):
            return self._charge_transfer(body)
        if isinstance(body.get("ussd"), dict):
            return self._charge_ussd(body)
        if isinstance(body.get("mobile_money"), dict):
            return self._charge_mobile_money(body)
        raise Refused(400, "Please provide a payment channel: card, bank_transfer, ussd or "
                           "mobile_money")

    def _charge_card(self, body: dict) -> tuple[str, dict]:
        card = body["card"]
        if not all(str(card.get(k) or "").isdigit()
                   for k in ("number", "cvv", "expiry_month", "expiry_year")):
            raise Refused(400, "Invalid card details")
        behaviour = TEST_CARDS.get(card["number"], DocumentedCard(outcome="declined"))
        if behaviour.outcome == "error":
            raise Refused(500, "An error occurred while processing this charge")
        charge = self._new_charge(body, "card", "pending")
        charge.card = {k: str(card[k]) for k in ("number", "expiry_month", "expiry_year")}
        charge.reusable, charge.pin = behaviour.reusable, behaviour.pin
        charge.steps = list(behaviour.steps)
        if behaviour.outcome == "declined":
            charge.steps = []
            self.fail(charge.reference, "Declined")
        else:
            self._advance(charge)
        return "Charge attempted", self._charge_data(charge)

    def _advance(self, charge: Charge) -> None:
        """Move a card charge to its next step, or succeed when none is left."""
        if not charge.steps:
            self._succeed(charge)
            return
        step = charge.steps[0]
        if step == "pin":
            charge.status = "send_pin"
        elif step == "otp":
            charge.status = "send_otp"
            charge.shown = {"display_text": "Please enter the OTP sent to your phone"}
        elif step == "redirect":
            charge.status = "open_url"
            charge.shown = {"url": f"{self.url}/bank/authorize/{charge.reference}"}
        else:
            charge.status = "pending"

    def _succeed(self, charge: Charge, paid: int | None = None) -> None:
        charge.status, charge.steps = "success", []
        charge.message, charge.gateway_response = None, "Approved"
        charge.paid = paid if paid is not None and paid != charge.amount else None
        charge.paid_at = _now()
        charge.announced = not self.events_for_answered_charges  # else after the answer
        if charge.channel == "card" and not charge.authorization_code:
            charge.authorization_code = f"AUTH_{secrets.token_hex(5)}"
        if charge.reusable and charge.card:
            self.authorizations[charge.authorization_code] = charge.card

    def _followed(self, body: dict, key: str) -> Charge:
        if not isinstance(body.get(key), str) or not body[key]:
            raise Refused(400, f"{key.upper()} is required")
        charge = self.charges.get(str(body.get("reference") or ""))
        if charge is None:
            raise Refused(400, "Transaction reference is invalid")
        return charge

    def _submit_pin(self, *, body: dict, query: dict) -> tuple[str, dict]:
        charge = self._followed(body, "pin")
        if charge.status != "send_pin":
            raise Refused(400, "Transaction is not awaiting a PIN")
        if body["pin"] != charge.pin:
            self.fail(charge.reference, "Incorrect PIN")
        else:
            charge.steps.pop(0)
            self._advance(charge)
        return "Charge attempted", self._charge_data(charge)

    def _submit_otp(self, *, body: dict, query: dict) -> tuple[str, dict]:
        charge = self._followed(body, "otp")
        if charge.status != "send_otp":
            raise Refused(400, "Transaction is not awaiting an OTP")
        if charge.channel == "mobile_money":  # Vodafone's voucher: now approve on the phone
            charge.status, charge.steps = "pay_offline", []
            charge.shown = {"display_text": "Please complete authorization process on your "
                                            "mobile phone"}
        elif body["otp"] != OTP:
            self.fail(charge.reference, "Token Authentication Failed")
        else:
            charge.steps.pop(0)
            self._advance(charge)
        return "Charge attempted", self._charge_data(charge)

    def _charge_check(self, *, body: object, query: dict, reference: str) -> tuple[str, dict]:
        charge = self.charges.get(reference)
        if charge is None:
            raise Refused(400, "Transaction reference is invalid")
        return "Reference check successful", self._charge_data(charge)

    def _charge_authorization(self, *, body: dict, query: dict) -> tuple[str, dict]:
        code = body.get("authorization_code")
        if not isinstance(code, str) or code not in self.authorizations:
            raise Refused(400, "Invalid Authorization code")
        charge = self._new_charge(body, "card", "pending")
        charge.card, charge.reusable = self.authorizations[code], True
        charge.authorization_code = code
        if code in self.declining:
            self.fail(charge.reference, "Insufficient Funds")
        else:
            self._succeed(charge)
        return "Charge attempted", self._transaction(charge)

    def _charge_transfer(self, body: dict) -> tuple[str, dict]:
        expires = body["bank_transfer"].get("account_expires_at")
        charge = self._new_charge(body, "bank_transfer", "pending_bank_transfer")
        digest = hashlib.sha256(charge.reference.encode()).hexdigest()
        charge.shown = {
            "display_text": "Please make a transfer to the account specified",
            "account_name": "PAYSTACK STAND-IN", "account_number": str(int(digest[:10], 16))[:10],
            "bank": {"slug": "test-bank", "name": "Test Bank", "id": 24},
            "account_expires_at": expires or (datetime.now(UTC) + timedelta(minutes=30))
            .isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        return "Charge attempted", self._charge_data(charge)

    def _charge_ussd(self, body: dict) -> tuple[str, dict]:
        kind = str(body["ussd"].get("type") or "")
        if kind not in USSD_TYPES:
            raise Refused(400, "Invalid USSD type")
        if (body.get("currency") or "NGN") != "NGN":
            raise Refused(400, "USSD payments are only available in NGN")
        charge = self._new_charge(body, "ussd", "pay_offline")
        code = f"*{kind}*33*4*{charge.id % 100000}#"
        charge.shown = {"ussd_code": code, "display_text": f"Please dial {code} on your "
                                                            "mobile phone to complete the "
                                                            "transaction"}
        return "Charge attempted", self._charge_data(charge)

    def _charge_mobile_money(self, body: dict) -> tuple[str, dict]:
        wallet = body["mobile_money"]
        provider = str(wallet.get("provider") or "")
        if provider not in MOMO_PROVIDERS:
            raise Refused(400, "Invalid mobile money provider")
        if not str(wallet.get("phone") or "").lstrip("+").isdigit():
            raise Refused(400, "Phone number is required")
        if body.get("currency") != MOMO_PROVIDERS[provider]:
            raise Refused(400, f"Mobile money from {provider} is only available in "
                               f"{MOMO_PROVIDERS[provider]}")
        if provider == "vod":
            charge = self._new_charge(body, "mobile_money", "send_otp")
            charge.shown = {"display_text": "Please dial *110# to generate a voucher code. "
                                            "Then input the voucher"}
        else:
            charge = self._new_charge(body, "mobile_money", "pay_offline")
            charge.shown = {"display_text": "Please complete authorization process on your "
                                            "mobile phone"}
        return "Charge attempted", self._charge_data(charge)

    def _verify(self, *, body: object, query: dict, reference: str) -> tuple[str, dict]:
        charge = self.charges.get(reference)
        if charge is None:
            raise Refused(self.unknown_status, "Transaction reference not found")
        return "Verification successful", self._transaction(charge, verify=True)

    # --- refunds ----------------------------------------------------------------------

    def _refund_create(self, *, body: dict, query: dict) -> tuple[str, dict]:
        charge = self._charge_named(body.get("transaction"))
        if charge is None:
            raise Refused(404, "Transaction not found")
        if charge.status != "success":
            raise Refused(400, "Cannot refund a transaction that did not succeed")
        left = (charge.paid or charge.amount) - charge.refunded
        amount = body.get("amount", left)
        if isinstance(amount, bool) or not str(amount).isdigit() or int(amount) <= 0:
            raise Refused(400, "Invalid amount")
        if int(amount) > left:
            raise Refused(400, "Refund amount cannot be more than the transaction amount "
                               "left to refund")
        charge.refunded += int(amount)
        refund = Refund(id=next(self._ids), charge=charge, amount=int(amount),
                        currency=str(body.get("currency") or charge.currency),
                        merchant_note=str(body.get("merchant_note") or
                                          f"Refund for transaction {charge.reference}"),
                        customer_note=str(body.get("customer_note") or
                                          f"Refund for transaction {charge.reference}"))
        self.refunds[refund.id] = refund
        return "Refund has been queued for processing", {
            **self._refund_data(refund), "transaction": self._transaction(refund.charge)}

    def _refund_list(self, *, body: object, query: dict) -> tuple[str, list]:
        named = query.get("transaction", [None])[0]
        charge = self._charge_named(named) if named else None
        if named and charge is None:
            return "Refunds retrieved", []
        return "Refunds retrieved", [self._refund_data(r) for r in self.refunds.values()
                                     if charge is None or r.charge is charge]

    def _refund_fetch(self, *, body: object, query: dict, id: str) -> tuple[str, dict]:
        refund = self.refunds.get(int(id)) if id.isdigit() else None
        if refund is None:
            raise Refused(404, "Refund not found")
        return "Refund retrieved", self._refund_data(refund)

    def _refund_settle(self, refund_id: int, status: str) -> int | None:
        with self.lock:
            refund = self.refunds[refund_id]
            refund.status = status
            if status == "failed":
                refund.charge.refunded -= refund.amount
            data = {"status": status, "transaction_reference": refund.charge.reference,
                    "refund_reference": f"TRF_{secrets.token_hex(6)}" if status == "processed"
                    else None, "amount": str(refund.amount), "currency": refund.currency,
                    "processor": "standin", "integration": 412829, "domain": "test",
                    "customer": {"first_name": None, "last_name": None,
                                 "email": refund.charge.email}}
        return self.send_event(f"refund.{status}", data)

    def _charge_named(self, named: object) -> Charge | None:
        """A charge by its reference or its numeric id, as POST /refund accepts either."""
        if named is None:
            return None
        text = str(named)
        return self.charges.get(text) or next(
            (c for c in self.charges.values() if str(c.id) == text), None)

    # --- representations ----------------------------------------------------------------

    def _charge_data(self, charge: Charge) -> dict:
        """A charge's answer: the whole transaction once settled, else what the payer must
        do next."""
        if charge.status in ("success", "failed"):
            return self._transaction(charge)
        return {"reference": charge.reference, "status": charge.status, **charge.shown}

    def _transaction(self, charge: Charge, *, verify: bool = False) -> dict:
        status = charge.status
        if verify:
            status = VERIFY_STATUS.get(status, status)
            if status == "success" and charge.refunded >= (charge.paid or charge.amount) and \
                    any(r.status == "processed" and r.charge is charge
                        for r in self.refunds.values()):
                status = "reversed"
        authorization = None
        if charge.card and charge.status == "success":
            number = charge.card["number"]
            authorization = {
                "authorization_code": charge.authorization_code, "bin": number[:6],
                "last4": number[-4:], "exp_month": charge.card["expiry_month"],
                "exp_year": charge.card["expiry_year"], "channel": "card",
                "card_type": "visa " if number.startswith("4") else "verve ",
                "bank": "TEST BANK", "country_code": "NG",
                "brand": "visa" if number.startswith("4") else "verve",
                "reusable": charge.reusable, "signature": f"SIG_{number[-4:]}",
                "account_name": None}
        elif charge.status == "success":
            authorization = {"authorization_code": f"AUTH_{charge.id}", "channel": charge.channel,
                             "reusable": False, "bin": "XXXXXX", "last4": "XXXX"}
        return {
            "id": charge.id, "domain": "test", "status": status, "reference": charge.reference,
            "amount": charge.paid if charge.paid is not None else charge.amount,
            "requested_amount": charge.amount, "message": charge.message,
            "gateway_response": charge.gateway_response, "paid_at": charge.paid_at,
            "created_at": charge.created_at, "channel": charge.channel,
            "currency": charge.currency, "metadata": charge.metadata or "",
            "authorization": authorization,
            "customer": {"email": charge.email, "customer_code": "CUS_standin",
                         "risk_action": "default"},
            "plan": None, "log": None, "fees": None,
        }

    def _refund_data(self, refund: Refund) -> dict:
        return {"id": refund.id, "integration": 412829, "domain": "test",
                "transaction": refund.charge.id, "dispute": None, "settlement": None,
                "amount": refund.amount, "deducted_amount": refund.amount,
                "fully_deducted": True, "currency": refund.currency, "channel": None,
                "status": refund.status, "refunded_by": "standin@duro.test",
                "merchant_note": refund.merchant_note, "customer_note": refund.customer_note,
                "createdAt": refund.created_at}


@pytest.fixture(name="paystack_standin")
def paystack_standin_fixture():
    """A Paystack stand-in on 127.0.0.1 for this test (``.url``, ``.secret_key``)."""
    standin = PaystackStandin()
    yield standin
    standin.close()
