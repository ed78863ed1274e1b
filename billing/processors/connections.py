"""A merchant's connected live processor: connecting one, the client live rails use, the
dashboard's "Test connection", and what a page may show (API.md §11, issue #15).

The secret is kept only as a Fernet token (:mod:`duro.crypto`, ``DURO_ENCRYPTION_KEY``);
nothing here logs it, and nothing gives it back but :func:`processor_for`, whose client
hides it in its ``repr``. Connections live in the live store only: test mode always uses
the sandbox::

    processor_connect(merchant_id="mer_…", processor="paystack", secret="sk_live_…",
                      by="ada@shop.ng")
    client = processor_for("mer_…")       # a Paystack client, or None: not connected
    processor_check("mer_…")              # (True, "Paystack accepted the key.")
    connection_of("mer_…").secret_hint    # "sk_live_…1234"
    processor_disconnect(merchant_id="mer_…")

A live pay without a connection answers ``payment_error`` with
:func:`processor_required_message`.

Processors plug in by name (:data:`PROCESSORS`). Paystack needs its secret key
(``sk_live_…``, or ``sk_test_…`` to rehearse live mode against Paystack's test
environment: no real money moves); its webhooks are signed with that same key. Flutterwave
will also need its webhook "secret hash" and its encryption key, kept encrypted beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import ProcessorConnection
from billing.processors import flutterwave, paystack
from billing.processors.flutterwave import Flutterwave
from billing.processors.paystack import (
    Paystack,
    ProcessorAuthError,
    ProcessorError,
    ProcessorUnavailable,
)
from billing.rails.base import ChargeResult, RefundResult
from duro.cache import cache_get
from duro.crypto import SecretUnreadable, secret_decrypt, secret_encrypt, secret_rotate
from duro.errors import Invalid
from duro.modes import LIVE

STORE = LIVE  # a connection is only ever used in live mode


class ProcessorClient(Protocol):
    """What a live rail may ask of any connected processor (Paystack's client is the model;
    another processor's client answers the same calls in the same types)."""

    def check(self) -> None:
        """Raise if the processor refuses the key (or cannot be asked); moves nothing."""

    def charge_card(self, *, payment_id: str, amount: int, currency: str, email: str,
                    card: dict, metadata: dict | None = None,
                    return_url: str = "") -> ChargeResult:
        """``return_url``: where a 3-D Secure payer comes back; each client places it
        where its processor documents it."""

    # A PIN step differs per processor (Flutterwave takes the whole card again with it:
    # its client says so with ``pin_needs_card = True``), so it is not part of what every
    # client answers alike; the gateway calls each as its processor wants.

    def submit_otp(self, *, payment_id: str, otp: str) -> ChargeResult: ...

    def charge_status(self, *, payment_id: str) -> ChargeResult: ...

    def charge_authorization(self, *, payment_id: str, amount: int, currency: str, email: str,
                             authorization_code: str,
                             metadata: dict | None = None) -> ChargeResult: ...

    def charge_bank_transfer(self, *, payment_id: str, amount: int, currency: str, email: str,
                             expires_at: datetime | None = None) -> ChargeResult: ...

    def charge_ussd(self, *, payment_id: str, amount: int, currency: str, email: str,
                    bank: str, expires_at: datetime | None = None) -> ChargeResult: ...

    def charge_mobile_money(self, *, payment_id: str, amount: int, currency: str, email: str,
                            phone: str, provider: str,
                            expires_at: datetime | None = None) -> ChargeResult: ...

    def verify(self, *, payment_id: str) -> ChargeResult | None: ...

    def refund(self, *, refund_id: str, payment_id: str, amount: int,
               currency: str) -> RefundResult: ...

    def refund_fetch(self, *, refund_reference: str) -> RefundResult | None: ...


@dataclass(frozen=True)
class Credentials:
    """What a processor's client is built from; its repr shows none of it."""

    secret: str
    webhook_secret: str = ""
    encryption_key: str = ""

    def __repr__(self) -> str:
        return "Credentials(…)"


@dataclass(frozen=True)
class Processor:
    """One processor Duro can connect: its name, how its secret key looks, the extra
    secrets it needs, its client, and the errors that client raises."""

    name: str
    label: str
    secret_shape: re.Pattern[str]
    secret_example: str
    client: Callable[[Credentials], ProcessorClient]
    refused: type[Exception]  # the key is wrong
    unreachable: type[Exception]  # no answer to trust
    failed: type[Exception]  # any other refusal
    needs_webhook_secret: bool = False
    needs_encryption_key: bool = False
    # The USSD banks (Duro's names: their short codes) this processor takes payments from.
    ussd_banks: frozenset[str] = frozenset()
    # Where in the processor's own dashboard the merchant pastes Duro's webhook URL.
    webhook_setting: str = ""


PROCESSORS: dict[str, Processor] = {
    "paystack": Processor(
        name="paystack", label="Paystack",
        secret_shape=re.compile(r"^sk_(live|test)_[A-Za-z0-9]{16,}$"),
        secret_example="sk_live_…",
        client=lambda credentials: Paystack.configured(credentials.secret),
        refused=ProcessorAuthError, unreachable=ProcessorUnavailable, failed=ProcessorError,
        ussd_banks=frozenset(paystack.USSD_TYPES),
        webhook_setting="Settings → API Keys & Webhooks → Live Webhook URL"),
    "flutterwave": Processor(
        name="flutterwave", label="Flutterwave",
        secret_shape=re.compile(r"^FLWSECK(_TEST)?-[A-Za-z0-9]{16,}-X$"),
        secret_example="FLWSECK-…-X",
        client=lambda credentials: Flutterwave.configured(
            credentials.secret, encryption_key=credentials.encryption_key),
        refused=ProcessorAuthError, unreachable=ProcessorUnavailable, failed=ProcessorError,
        needs_webhook_secret=True, needs_encryption_key=True,
        ussd_banks=frozenset(flutterwave.USSD_BANKS),
        webhook_setting="Settings → Webhooks → URL (with the same secret hash as here)"),
}

CACHE_TTL = 24 * 3600


def cache_key(merchant_id: str) -> str:
    return f"duro:processor:{merchant_id}"


def connected_processor(merchant_id: str) -> Processor | None:
    """The processor ``merchant_id`` connected, read for pages that must stay at one query
    on the token's store (the live USSD banks): from the shared cache, which a connect or a
    disconnect refreshes after commit; a cold cache costs one query on the live store. Pays
    decide from the row itself (:func:`connection_of`, :func:`processor_for`)."""
    key = cache_key(merchant_id)
    name = cache_get(key)
    if name is None:
        name = (ProcessorConnection.objects.using(STORE).filter(merchant_id=merchant_id)
                .values_list("processor", flat=True).first()) or ""
        cache.add(key, name, CACHE_TTL)
    return PROCESSORS.get(name)


def _cached_after_commit(merchant_id: str, name: str) -> None:
    key = cache_key(merchant_id)
    cache.delete(key)  # a reader meanwhile fills it with what it read; set wins after commit
    transaction.on_commit(lambda: cache.set(key, name, CACHE_TTL), using=STORE)


def processor_webhook_url(*, processor: str, merchant_id: str) -> str:
    """The URL the merchant pastes into ``processor``'s dashboard, where it sends its
    events about this merchant's live payments (:mod:`billing.processors.events`)."""
    return (f"{settings.DURO_PUBLIC_URL}"
            f"{reverse('processor-events', args=[processor, merchant_id])}")


def processor_required_message(processor_name: str | None = None) -> str:
    """The ``payment_error`` text of a live pay when the merchant connected no processor
    (or not ``processor_name``)."""
    named = PROCESSORS.get(processor_name or "")
    which = named.label if named else "Paystack or Flutterwave"
    return (f"Live payments need a connected processor: connect {which} in the dashboard "
            "(Developers → Processor).")


@dataclass(frozen=True)
class ConnectionView:
    """A connection as pages and commands show it: never the secret."""

    merchant_id: str
    processor: str
    label: str
    secret_hint: str
    has_webhook_secret: bool
    connected_at: datetime
    connected_by: str
    last_checked_at: datetime | None
    last_check_ok: bool | None

    def as_json(self) -> dict:
        return {"merchantId": self.merchant_id, "processor": self.processor,
                "connected": True}


def _hint(secret: str) -> str:
    prefix = re.match(r"^[a-z]+_(live|test)_", secret)
    return f"{prefix.group(0) if prefix else ''}…{secret[-4:]}"


def _processor(name: str) -> Processor:
    processor = PROCESSORS.get((name or "").strip().lower())
    if processor is None:
        known = ", ".join(PROCESSORS)
        raise Invalid(f"Unknown processor {name!r}: Duro connects {known}.",
                      code="processor_unknown", param="processor")
    return processor


def _validated(processor: Processor, secret: str, webhook_secret: str,
               encryption_key: str) -> Credentials:
    secret = (secret or "").strip()
    if secret.startswith(("pk_", "FLWPUBK")):
        raise Invalid(f"That is a public key: connect {processor.label}'s secret key "
                      f"({processor.secret_example}).", code="processor_secret_public",
                      param="secret")
    if not processor.secret_shape.match(secret):
        raise Invalid(f"That does not look like a {processor.label} secret key: it starts "
                      f"with {processor.secret_example} (copy it from {processor.label}'s "
                      "dashboard).", code="processor_secret_invalid", param="secret")
    webhook_secret, encryption_key = (webhook_secret or "").strip(), \
        (encryption_key or "").strip()
    if processor.needs_webhook_secret and not webhook_secret:
        raise Invalid(f"{processor.label} also needs its webhook secret hash.",
                      code="processor_webhook_secret_required", param="webhook_secret")
    if processor.needs_encryption_key and not encryption_key:
        raise Invalid(f"{processor.label} also needs its encryption key.",
                      code="processor_encryption_key_required", param="encryption_key")
    return Credentials(secret=secret, webhook_secret=webhook_secret,
                       encryption_key=encryption_key)


def processor_connect(*, merchant_id: str, processor: str, secret: str,
                      webhook_secret: str = "", encryption_key: str = "",
                      by: str = "") -> ConnectionView:
    """Connect (or replace) the merchant's live processor. Raises
    :class:`~duro.errors.Invalid` for an unknown processor or a key of the wrong shape;
    the key is not called here (:func:`processor_check` does that)."""
    kind = _processor(processor)
    credentials = _validated(kind, secret, webhook_secret, encryption_key)
    fields = {
        "processor": kind.name,
        "secret_encrypted": secret_encrypt(credentials.secret),
        "secret_hint": _hint(credentials.secret),
        "webhook_secret_encrypted": secret_encrypt(credentials.webhook_secret)
        if credentials.webhook_secret else "",
        "encryption_key_encrypted": secret_encrypt(credentials.encryption_key)
        if credentials.encryption_key else "",
        "connected_at": timezone.now(), "connected_by": by,
        "last_checked_at": None, "last_check_ok": None,
    }
    with transaction.atomic(using=STORE):
        row, _ = ProcessorConnection.objects.using(STORE).update_or_create(
            merchant_id=merchant_id, defaults=fields)
        _cached_after_commit(merchant_id, kind.name)
    return _view(row)


def processor_disconnect(*, merchant_id: str) -> bool:
    """Forget the merchant's processor (its encrypted secret goes with it); whether one
    was connected. Live pays then answer :func:`processor_required_message`."""
    with transaction.atomic(using=STORE):
        deleted, _ = ProcessorConnection.objects.using(STORE).filter(
            merchant_id=merchant_id).delete()
        _cached_after_commit(merchant_id, "")
    return bool(deleted)


def _client(row: ProcessorConnection) -> ProcessorClient:
    return PROCESSORS[row.processor].client(Credentials(
        secret=secret_decrypt(row.secret_encrypted),
        webhook_secret=secret_decrypt(row.webhook_secret_encrypted)
        if row.webhook_secret_encrypted else "",
        encryption_key=secret_decrypt(row.encryption_key_encrypted)
        if row.encryption_key_encrypted else ""))


def processor_for(merchant_id: str) -> ProcessorClient | None:
    """The merchant's processor client for a live rail (one query); None when none is
    connected. Raises :class:`duro.crypto.SecretUnreadable` when the stored secret was
    encrypted under a key ``DURO_ENCRYPTION_KEY`` no longer holds."""
    row = ProcessorConnection.objects.using(STORE).filter(merchant_id=merchant_id).first()
    return _client(row) if row is not None else None


def processor_webhook_secret(merchant_id: str) -> str | None:
    """The secret that signs the processor's webhooks to this merchant: Paystack's is its
    secret key, others' their webhook secret hash; None when none is connected."""
    row = ProcessorConnection.objects.using(STORE).filter(merchant_id=merchant_id).first()
    if row is None:
        return None
    token = row.webhook_secret_encrypted or row.secret_encrypted
    return secret_decrypt(token)


def processor_check(merchant_id: str) -> tuple[bool, str]:
    """The dashboard's "Test connection": ask the processor with the stored key and say
    what it answered; the outcome is recorded on the connection."""
    row = ProcessorConnection.objects.using(STORE).filter(merchant_id=merchant_id).first()
    if row is None:
        return False, "No processor is connected: connect one first."
    kind = PROCESSORS.get(row.processor)
    if kind is None:
        return False, f"Duro no longer knows the processor {row.processor!r}: connect again."
    try:
        client = _client(row)
    except SecretUnreadable:
        ok, message = False, ("The stored key cannot be decrypted with this server's "
                              "DURO_ENCRYPTION_KEY: connect the processor again.")
    else:
        ok, message = _ask(kind, client)
    ProcessorConnection.objects.using(STORE).filter(pk=row.pk).update(
        last_checked_at=timezone.now(), last_check_ok=ok)
    return ok, message


def _ask(kind: Processor, client: ProcessorClient) -> tuple[bool, str]:
    try:
        client.check()
    except kind.refused:
        return False, (f"{kind.label} refused the key: copy the secret key again from "
                       f"{kind.label}'s dashboard and connect it.")
    except kind.unreachable:
        return False, f"{kind.label} could not be reached just now: try again in a minute."
    except kind.failed as exc:
        return False, f"{kind.label} did not accept the check: {exc}"
    return True, f"{kind.label} accepted the key."


def processor_secrets_rotate() -> int:
    """Re-encrypt every stored secret under the first ``DURO_ENCRYPTION_KEY`` (after a new
    key was put first; then the old one can go). Returns how many connections changed."""
    rotated = 0
    with transaction.atomic(using=STORE):
        for row in ProcessorConnection.objects.using(STORE).select_for_update():
            for name in ("secret_encrypted", "webhook_secret_encrypted",
                         "encryption_key_encrypted"):
                if getattr(row, name):
                    setattr(row, name, secret_rotate(getattr(row, name)))
            row.save(using=STORE, update_fields=["secret_encrypted", "webhook_secret_encrypted",
                                                 "encryption_key_encrypted"])
            rotated += 1
    return rotated


def connection_of(merchant_id: str) -> ConnectionView | None:
    """The merchant's connection as a page shows it (never the secret); None: none."""
    row = ProcessorConnection.objects.using(STORE).filter(merchant_id=merchant_id).first()
    return _view(row) if row is not None else None


def _view(row: ProcessorConnection) -> ConnectionView:
    kind = PROCESSORS.get(row.processor)
    return ConnectionView(
        merchant_id=row.merchant_id, processor=row.processor,
        label=kind.label if kind else row.processor, secret_hint=row.secret_hint,
        has_webhook_secret=bool(row.webhook_secret_encrypted),
        connected_at=row.connected_at, connected_by=row.connected_by,
        last_checked_at=row.last_checked_at, last_check_ok=row.last_check_ok)
