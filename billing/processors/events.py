"""The processors' own webhooks (issue #15): verified against the raw body as each
processor documents, recorded once, and settled through the same doors as the sandbox's
answers — never on the body's word alone::

    answer = processor_event_receive(processor="paystack", merchant_id="mer_…",
                                     raw_body=request.body, headers=request.headers)
    answer.status      # 200 | 400 | 401 | 404 | 503

What is checked, in order: the processor is one Duro connects and whose webhooks it reads
(:data:`WEBHOOKS`), the merchant connected that processor (the live store), the signature
(Paystack: ``x-paystack-signature``, HMAC-SHA512 of the raw body keyed with the secret key;
Flutterwave: ``verif-hash``, the secret hash the merchant set). A refusal records nothing
and says nothing about why.

Then the effect. A charge event names our payment (its reference); the processor is asked
what became of it (``verify``, as Paystack and Flutterwave both recommend) and THAT answer
enters :func:`billing.confirmations.payment_confirmed` — with the event's row, in one
transaction. A refund event settles the payment's pending refunds through
:func:`billing.refunds.refund_execute`, which asks the processor for the refund by its note.
A payment Duro does not know, or an event it does not act on, is recorded and ignored.
When the processor cannot be asked, or says the payment is still awaited, nothing is
recorded and the answer is 503: the processor delivers again, and the recovery sweeps
(``attempts_recover``, ``refunds_recover``) poll whatever is still pending meanwhile.

Deduplication: Paystack's events carry no id, so an event is known by the sha256 of its raw
body (a processor's retry is the same bytes); :class:`~billing.models.ProcessorEvent` is
unique on ``(processor, event_key)``, so a second delivery — even a concurrent one —
answers 200 and does nothing. A differently worded event about the same payment is a new
row, and the settle it reaches applies its answer once anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError

from billing.confirmations import payment_confirmed
from billing.models import PaymentAttempt, ProcessorEvent, Refund
from billing.processors import flutterwave, paystack
from billing.processors.connections import (
    PROCESSORS,
    connection_of,
    processor_for,
    processor_webhook_secret,
)
from billing.processors.errors import ProcessorError
from billing.refunds import refund_execute
from duro.crypto import SecretUnreadable
from duro.db import atomic
from duro.modes import LIVE, mode_context

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # a processor's event is a few KB; more is refused unread (413)
SETTLED = ("succeeded", "failed")


@dataclass(frozen=True)
class Webhooks:
    """How one processor signs its webhooks and what they say."""

    header: str
    verify_signature: Callable[[str, bytes, str | None], bool]
    parse_event: Callable[[bytes], Any]


WEBHOOKS: dict[str, Webhooks] = {
    "paystack": Webhooks(paystack.SIGNATURE_HEADER, paystack.verify_signature,
                         paystack.parse_event),
    "flutterwave": Webhooks(flutterwave.SIGNATURE_HEADER, flutterwave.verify_signature,
                            flutterwave.parse_event),
}


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers the processor: a status and a short, detail-free word."""

    status: int
    message: str


RECEIVED = Answer(200, "received")
DUPLICATE = Answer(200, "already received")
REFUSED = Answer(401, "refused")
UNKNOWN = Answer(404, "unknown")
MALFORMED = Answer(400, "malformed")
TOO_LARGE = Answer(413, "too large")
LATER = Answer(503, "try again later")


def event_key(raw_body: bytes) -> str:
    """An event's identity: the sha256 of its raw body (Paystack's events have no id)."""
    return hashlib.sha256(raw_body).hexdigest()


def processor_event_receive(*, processor: str, merchant_id: str, raw_body: bytes,
                            headers: Mapping[str, str]) -> Answer:
    """Verify, record once and settle one processor webhook (see the module)."""
    if len(raw_body) > MAX_BODY:
        return TOO_LARGE
    with mode_context(LIVE):
        return _receive(processor, merchant_id, raw_body, headers)


def _receive(processor: str, merchant_id: str, raw_body: bytes,
             headers: Mapping[str, str]) -> Answer:
    webhooks = WEBHOOKS.get(processor)
    connection = connection_of(merchant_id) if webhooks and processor in PROCESSORS else None
    if webhooks is None or connection is None or connection.processor != processor:
        return UNKNOWN
    try:
        secret = processor_webhook_secret(merchant_id)
    except SecretUnreadable:
        logger.error("processor webhook: the stored secret cannot be decrypted",
                     extra={"merchant": merchant_id, "processor": processor})
        return LATER
    if not secret or not webhooks.verify_signature(secret, raw_body,
                                                   headers.get(webhooks.header)):
        logger.warning("processor webhook refused: bad signature",
                       extra={"merchant": merchant_id, "processor": processor})
        return REFUSED
    if not _is_json_object(raw_body):
        return MALFORMED
    key = event_key(raw_body)
    if ProcessorEvent.objects.filter(processor=processor, event_key=key).exists():
        return DUPLICATE
    try:
        event = webhooks.parse_event(raw_body)
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
        return MALFORMED  # signed, but not an event either processor sends: never a 500
    name = str(getattr(event, "name", "") or "")[:60]
    payment = _payment(merchant_id, getattr(event, "payment_id", None))

    def record(outcome: str) -> bool:
        """The event's row; False when another delivery recorded it first."""
        try:
            with atomic():
                ProcessorEvent.objects.create(
                    processor=processor, event_key=key, merchant_id=merchant_id, name=name,
                    payment_id=payment.pk if payment else "", outcome=outcome)
        except IntegrityError:
            return False
        return True

    if event is None or payment is None:
        return RECEIVED if record(ProcessorEvent.Outcome.IGNORED) else DUPLICATE
    if getattr(event, "refund", None) is not None:
        return _refunds_settle(payment, getattr(event, "refund_id", None), record)
    return _charge_settle(merchant_id, payment, processor, key, name)


def _is_json_object(raw_body: bytes) -> bool:
    try:
        body = json.loads(raw_body)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("data"), dict)


def _payment(merchant_id: str, payment_id: str | None) -> PaymentAttempt | None:
    """Our payment the event names: by id (a checkout's or the invoice page's reference is
    the attempt id) or by the key it was charged with (a renewal's)."""
    if not payment_id:
        return None
    mine = PaymentAttempt.objects.filter(merchant_id=merchant_id)
    return mine.filter(pk=payment_id).first() or mine.filter(
        idempotency_key=payment_id).first()


def _charge_settle(merchant_id: str, payment: PaymentAttempt, processor: str, key: str,
                   name: str) -> Answer:
    """Ask the processor what became of the payment, then record the event and settle that
    answer in one transaction (a concurrent delivery waits on the row, then does nothing)."""
    try:
        client = processor_for(merchant_id)
        result = client.verify(payment_id=payment.rail_key) if client is not None else None
    except (ProcessorError, SecretUnreadable) as exc:
        logger.warning("processor webhook: verify failed; the processor will deliver again",
                       extra={"payment": payment.pk, "error": type(exc).__name__})
        return LATER
    if result is None or result.status not in SETTLED:
        return LATER  # not an outcome yet: a redelivery or the sweep settles it
    try:
        with atomic():
            ProcessorEvent.objects.create(
                processor=processor, event_key=key, merchant_id=merchant_id, name=name,
                payment_id=payment.pk, outcome=ProcessorEvent.Outcome.APPLIED)
            payment_confirmed(attempt_id=payment.pk, result=result)
    except IntegrityError:
        return DUPLICATE
    return RECEIVED


def _refunds_settle(payment: PaymentAttempt, refund_id: str | None,
                    record: Callable[[str], bool]) -> Answer:
    """Settle the payment's pending refunds (the one the event names, when it does) through
    the refund path, which asks the processor for each by its note; then record."""
    pending = Refund.objects.filter(payment=payment, status=Refund.Status.PENDING)
    if refund_id:
        pending = pending.filter(pk=refund_id)
    for pk in list(pending.values_list("pk", flat=True)):
        if refund_execute(refund_id=pk).status == Refund.Status.PENDING:
            return LATER  # the processor does not say yet: it delivers again
    return RECEIVED if record(ProcessorEvent.Outcome.APPLIED) else DUPLICATE
