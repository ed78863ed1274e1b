"""Saved-card identity: "Use a saved card" on the hosted page (API.md §12).

    asked = identity_ask(session=s, email="ada@example.com")     # always the same answer
    proven = identity_verify(session=s, challenge=asked.challenge, code="123456")
    identity_for_proof(session=s, proof=proven.proof)           # the pay's check

An ask never tells whether the email is known: a known and an unknown email get the
same answer, write the same row (an unknown one has no customer) and count against
the same limits; only a known customer is emailed the code. The code is 6 digits,
lives 10 minutes and locks after 5 wrong entries; an email gets at most 3 codes an
hour, and none for 10 minutes after a lock.

The right code proves the *browser* that asked, not the session: the ask answers with a
random ``challenge`` that only that browser holds (in memory in the inline SDK's frame, an
HttpOnly cookie on the full page), the code is checked together with it, and the right
pair is exchanged for a random ``proof`` that the pay must present with the saved card.
Someone else holding the session's URL sees and can use nothing. Only hashes of the
challenge and the proof are stored, and the code is derived from a random salt with the
server's key, so the table holds nothing that opens a customer's cards.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.utils import timezone

from billing.contacts import normalise_email
from billing.customers import customer_find_by_contact
from billing.models import Card, Customer
from billing.notice_emails import Message
from billing.receipts import email_branding
from checkout.models import CheckoutSession, IdentityCode
from duro.db import after_commit, atomic
from duro.errors import Gone, Invalid
from duro.ids import random_base62
from duro.modes import current_mode

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
LOCKED_FOR = timedelta(minutes=10)  # after 5 wrong codes, no new code for this long
CODES_PER_HOUR = 3  # per email, known or not
PROOF_TTL = timedelta(minutes=30)
KEPT_FOR = timedelta(days=1)  # rows older than this are swept
SENT = "If we know this email, we sent a code to it. Enter the 6-digit code."
WRONG = "That code is not right. Check the email and try again."
LOCKED = ("Too many wrong codes. Ask for a new code in 10 minutes, or pay with your card "
          "details.")
EXPIRED = "This code has expired. Ask for a new one."
PROOF_NEEDED = "Confirm your email with a code again to pay with a saved card."


@dataclass(frozen=True)
class Asked:
    challenge: str
    expires_at: datetime
    message: str = SENT


@dataclass(frozen=True)
class Proven:
    proof: str
    expires_at: datetime
    email: str
    cards: list[Card]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def identity_code_of(row: IdentityCode) -> str:
    """The row's 6-digit code: derived from its id and random salt with the server's key
    (so the worker can email it and the check can recompute it; it is never stored)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"duro.identity:{row.id}:{row.salt}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def open_for_identity(session: CheckoutSession, *, now: datetime | None = None) -> None:
    """Codes are asked and checked only while the session can still be paid."""
    if session.status == CheckoutSession.Status.COMPLETED:
        raise Invalid("This checkout is already paid.", code="session_completed")
    if session.status == CheckoutSession.Status.EXPIRED or session.is_expired(now):
        raise Gone("This checkout session has expired.", code="session_expired")


def _clean_email(email: str) -> str:
    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid("Enter a valid email address.", code="invalid_contact",
                      param="email") from None
    return email


def identity_ask(*, session: CheckoutSession, email: str,
                 now: datetime | None = None) -> Asked:
    """Ask for a code for ``email`` on this session. The answer is the same whether the
    email is known or not, and whether or not a limit held the code back."""
    now = now or timezone.now()
    email = _clean_email(email)
    challenge = f"idc_{random_base62(32)}"
    expires_at = min(now + CODE_TTL, session.expires_at)
    with atomic():
        customer = customer_find_by_contact(merchant_id=session.merchant_id, email=email,
                                            phone="")
        if customer is not None:  # concurrent asks for one customer count one at a time
            customer = Customer.objects.select_for_update().get(pk=customer.pk)
        recent = IdentityCode.objects.filter(merchant_id=session.merchant_id, email=email,
                                             created_at__gt=now - timedelta(hours=1))
        held_back = (recent.count() >= CODES_PER_HOUR
                     or recent.filter(locked_at__gt=now - LOCKED_FOR).exists())
        if held_back:
            logger.info("identity code held back", extra={"session": session.id})
            return Asked(challenge=challenge, expires_at=expires_at)
        # A new code replaces this session's earlier ones for the email.
        IdentityCode.objects.filter(session=session, email=email, proof_hash="",
                                    expires_at__gt=now).update(expires_at=now)
        row = IdentityCode.objects.create(
            merchant_id=session.merchant_id, session=session, email=email,
            customer=None if customer is None or customer.blacklisted else customer,
            salt=random_base62(24), challenge_hash=_hash(challenge), expires_at=expires_at,
            created_at=now)
        if row.customer_id:
            mode = current_mode()
            after_commit(lambda: _enqueue(mode, row.id), what="identity code email")
    return Asked(challenge=challenge, expires_at=expires_at)


def _enqueue(mode: str, code_id: str) -> None:
    from checkout.tasks import send_identity_code  # tasks import the services

    send_identity_code.apply_async(args=(mode, code_id), retry=False)


def identity_verify(*, session: CheckoutSession, challenge: str, code: str,
                    now: datetime | None = None) -> Proven:
    """Check ``code`` with the browser's ``challenge``. Right: a ``proof`` for the pay and
    the customer's saved cards. Wrong, expired or locked: ``Invalid`` (``invalid_code``,
    ``code_expired``, ``code_locked``), the wrong try counted first."""
    now = now or timezone.now()
    code = "".join(ch for ch in str(code) if ch.isdigit())[:6]
    with atomic():
        row = (IdentityCode.objects.select_for_update()
               .filter(challenge_hash=_hash(str(challenge)), session=session).first())
        refusal = _refusal(row, code, now)
        if row is not None and refusal is None:
            proof = f"idp_{random_base62(32)}"
            expires_at = min(now + PROOF_TTL, session.expires_at)
            row.proof_hash, row.proof_expires_at = _hash(proof), expires_at
            row.save(update_fields=["proof_hash", "proof_expires_at"])
    if row is None or refusal is not None:  # raised after the commit: a wrong try counts
        raise refusal or Invalid(WRONG, code="invalid_code", param="code")
    logger.info("identity confirmed", extra={"session": session.id, "identity": row.id})
    return Proven(proof=proof, expires_at=expires_at, email=row.email,
                  cards=saved_cards(row.customer_id))


def _refusal(row: IdentityCode | None, code: str, now: datetime) -> Invalid | None:
    """Why the code is refused (``None``: it is right), counting a wrong try on ``row``."""
    if row is None or row.proof_hash:  # no such ask here, or its code was used
        return Invalid(WRONG, code="invalid_code", param="code")
    if row.locked_at is not None:
        return Invalid(LOCKED, code="code_locked", param="code")
    if row.expires_at <= now:
        return Invalid(EXPIRED, code="code_expired", param="code")
    if row.customer_id and len(code) == 6 and hmac.compare_digest(code, identity_code_of(row)):
        return None
    row.tries += 1
    fields = ["tries"]
    if row.tries >= MAX_TRIES:
        row.locked_at = now
        fields.append("locked_at")
    row.save(update_fields=fields)
    if row.locked_at is not None:
        return Invalid(LOCKED, code="code_locked", param="code")
    left = MAX_TRIES - row.tries
    return Invalid(f"{WRONG} {left} tr{'y' if left == 1 else 'ies'} left.",
                   code="invalid_code", param="code")


def saved_cards(customer_id: str | None, *, now: datetime | None = None) -> list[Card]:
    """The customer's cards that can pay: a reusable authorization, a fingerprint (one row
    per card) and not past their expiry month; newest first."""
    if not customer_id:
        return []
    now = now or timezone.now()
    cards = (Card.objects.filter(customer_id=customer_id, rail="card")
             .exclude(fingerprint="").exclude(authorization="").order_by("-created_at"))
    return [c for c in cards if (c.exp_year, c.exp_month) >= (now.year, now.month)]


def identity_for_proof(*, session: CheckoutSession, proof: str,
                       now: datetime | None = None) -> IdentityCode:
    """The confirmed ask a pay's ``proof`` names on this session, or ``Invalid``
    (``identity_required``)."""
    now = now or timezone.now()
    row = (IdentityCode.objects.select_related("customer")
           .filter(proof_hash=_hash(str(proof)), session=session,
                   proof_expires_at__gt=now, customer__isnull=False).first()
           if proof else None)
    if row is None or row.customer is None or row.customer.blacklisted:
        raise Invalid(PROOF_NEEDED, code="identity_required", param="identityProof")
    return row


def saved_card_for(identity: IdentityCode, card_id: str, *,
                   now: datetime | None = None) -> Card:
    """The proven customer's card ``card_id``, if it can pay; else ``Invalid``."""
    for card in saved_cards(identity.customer_id, now=now):
        if card.pk == card_id:
            return card
    raise Invalid("That saved card is not available. Choose another or enter your card "
                  "details.", code="invalid_saved_card", param="savedCard")


def identity_code_send(code_id: str, *, now: datetime | None = None) -> str:
    """Email a row's code to its customer, once (the worker's task). Raises the mail
    backend's error for the task to retry."""
    now = now or timezone.now()
    row = (IdentityCode.objects.select_related("customer", "session")
           .filter(pk=code_id).first())
    if row is None or row.customer is None:
        return "gone"
    if row.sent_at is not None:
        return "already_sent"
    if row.expires_at <= now or row.proof_hash:
        return "expired"
    merchant = row.session.merchant_name
    message = Message(
        subject=f"Your code for {merchant}: {identity_code_of(row)}",
        heading="Your one-time code",
        paragraphs=[f"Someone asked to use your saved cards to pay {merchant}. If it was "
                    "you, enter this code on the payment page:",
                    f"{identity_code_of(row)}",
                    "It works for 10 minutes. If you did not ask for it, ignore this email: "
                    "without the code nobody can see or use your cards."])
    branding = email_branding(row.merchant_id)
    support = branding["support_contact"]
    context = {**branding, "merchant_name": merchant, "message": message, "url": None,
               "manage_url": None}
    email = EmailMultiAlternatives(
        subject=message.subject, body=render_to_string("billing/emails/notice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[row.customer.email],
        reply_to=[support] if "@" in support else None)
    email.attach_alternative(render_to_string("billing/emails/notice.html", context),
                             "text/html")
    email.send(fail_silently=False)
    IdentityCode.objects.filter(pk=row.pk).update(sent_at=now)
    logger.info("identity code sent", extra={"identity": row.id})
    return "sent"


def identity_codes_sweep(*, now: datetime | None = None) -> int:
    """Delete asks older than a day (their codes and proofs died long before)."""
    now = now or timezone.now()
    deleted, _ = IdentityCode.objects.filter(created_at__lt=now - KEPT_FOR).delete()
    return deleted
