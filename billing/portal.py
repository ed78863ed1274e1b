"""The customer portal's credentials and reads: the API's single-use link, the signed
"Manage your subscription" link of emails, and the portal session either one opens.

    url, expires_at = portal_link_create(merchant_id=m, customer_id="cus_…", now=now)
    session = portal_link_open(token="pt_test_…", now=now)   # once; a second open: Gone
    url = portal_manage_url(customer)        # receipts, reminders: signed, valid 7 days
    session = portal_manage_open(token="pm_test_…", now=now)
    cookie = portal_session_sign(session)    # the browser keeps it (HttpOnly, 1 h)
    session = portal_session_load(cookie, now=now)   # None once expired or forged

Both links carry the mode in their prefix (``pt_test_`` / ``pt_live_``, ``pm_…``), as
checkout tokens do, so the router picks the store before anything is read. The API's
token is random and stored only as its SHA-256 (:class:`~billing.models.PortalLink`);
opening it marks the row used under its lock, so two opens race to one session. The
email link is not single use (a customer opens a receipt more than once): it is a
Django-signed ``{customer, merchant}`` whose salt names the mode, so a test link cannot
be relabelled live, and it stops working after :data:`MANAGE_LINK_TTL`.

A portal session is not a row: it is a signed value (customer, merchant, its name,
mode, expiry) the portal views verify without a query, which keeps each page to its
own reads on the token's store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from billing.invoice_links import invoice_link_open
from billing.invoices import invoice_create
from billing.models import Customer, Invoice, PortalLink, Subscription
from duro.db import atomic
from duro.errors import Gone, Invalid, NotFound
from duro.ids import random_base62
from duro.models import Merchant
from duro.modes import current_mode, set_mode

PORTAL_LINK_TTL = timedelta(hours=1)  # to open the API's URL
PORTAL_SESSION_TTL = timedelta(hours=1)  # what an open buys
MANAGE_LINK_TTL = timedelta(days=7)  # the emails' signed link
COOKIE_NAME = "duro_portal"
_LINK_SHAPE = re.compile(r"^pt_(test|live)_[A-Za-z0-9]{32}$")
_MANAGE_SHAPE = re.compile(r"^pm_(test|live)_[A-Za-z0-9_:-]{20,400}$")
_SESSION_SALT = "duro.portal.session"
GONE_MESSAGE = "This link was already used or has expired."


@dataclass(frozen=True)
class PortalSession:
    """Who the portal is open for: one customer of one merchant, in one mode."""

    mode: str
    merchant_id: str
    customer_id: str
    merchant_name: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_url(token: str) -> str:
    return f"{settings.DURO_PUBLIC_URL}{reverse('portal-open', args=[token])}"


def portal_link_create(*, merchant_id: str, customer_id: str,
                       now: datetime) -> tuple[str, datetime]:
    """A single-use portal URL for the merchant's customer in the current mode (the API
    key's). Raises ``NotFound`` for a customer of another merchant or another mode."""
    customer = Customer.objects.filter(merchant_id=merchant_id, pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No such customer: {customer_id!r}.", param="id")
    name = Merchant.objects.filter(pk=merchant_id).values_list("name", flat=True).first()
    token = f"pt_{current_mode()}_{random_base62(32)}"
    expires_at = now + PORTAL_LINK_TTL
    PortalLink.objects.create(token_hash=_hash(token), merchant_id=merchant_id,
                              customer=customer, merchant_name=name or "",
                              expires_at=expires_at, created_at=now)
    return portal_url(token), expires_at


def portal_link_open(*, token: str, now: datetime) -> PortalSession:
    """Exchange the API's URL for a portal session, once. Raises ``Gone`` when the token
    is unknown, used or expired (the page says so alike: nothing to learn from it)."""
    match = _LINK_SHAPE.match(token or "")
    if match is None:
        raise Gone(GONE_MESSAGE)
    set_mode(match.group(1))
    with atomic():
        link = PortalLink.objects.select_for_update().filter(token_hash=_hash(token)).first()
        if link is None or link.used_at is not None or link.expires_at <= now:
            raise Gone(GONE_MESSAGE)
        link.used_at = now
        link.save(update_fields=["used_at"])
    return PortalSession(mode=current_mode(), merchant_id=link.merchant_id,
                         customer_id=link.customer_id, merchant_name=link.merchant_name,
                         expires_at=now + PORTAL_SESSION_TTL)


def _manage_salt(mode: str) -> str:
    return f"duro.portal.manage.{mode}"


def portal_manage_url(customer: Customer) -> str:
    """The signed "Manage your subscription" link for a customer (current mode), valid
    :data:`MANAGE_LINK_TTL`, for receipts and reminder emails. Each open starts a portal
    session; it holds no state, so minting one costs no query."""
    mode = current_mode()
    signed = signing.dumps({"c": customer.pk, "m": customer.merchant_id},
                           salt=_manage_salt(mode), compress=False)
    return portal_url(f"pm_{mode}_{signed}")


def portal_manage_open(*, token: str, now: datetime) -> PortalSession:
    """Open a portal session from an email's signed link. Raises ``Gone`` when the
    signature is wrong, the link is older than :data:`MANAGE_LINK_TTL`, or the customer
    is gone."""
    match = _MANAGE_SHAPE.match(token or "")
    if match is None:
        raise Gone(GONE_MESSAGE)
    mode = match.group(1)
    try:
        claims = signing.loads(token[len(f"pm_{mode}_"):], salt=_manage_salt(mode),
                               max_age=MANAGE_LINK_TTL)
    except signing.BadSignature:  # SignatureExpired is one
        raise Gone(GONE_MESSAGE) from None
    set_mode(mode)
    if not Customer.objects.filter(pk=claims["c"], merchant_id=claims["m"]).exists():
        raise Gone(GONE_MESSAGE)
    name = Merchant.objects.filter(pk=claims["m"]).values_list("name", flat=True).first()
    return PortalSession(mode=mode, merchant_id=claims["m"], customer_id=claims["c"],
                         merchant_name=name or "", expires_at=now + PORTAL_SESSION_TTL)


def portal_open(*, token: str, now: datetime) -> PortalSession:
    """Either link: the API's single-use ``pt_…`` or an email's signed ``pm_…``."""
    if token.startswith("pm_"):
        return portal_manage_open(token=token, now=now)
    return portal_link_open(token=token, now=now)


def portal_session_sign(session: PortalSession) -> str:
    return signing.dumps({"mode": session.mode, "m": session.merchant_id,
                          "c": session.customer_id, "n": session.merchant_name,
                          "x": int(session.expires_at.timestamp())},
                         salt=_SESSION_SALT, compress=True)


def portal_session_load(value: str | None, *, now: datetime) -> PortalSession | None:
    """The session a cookie carries; None when there is none, it was tampered with, or it
    expired. The caller sets the mode (``set_mode(session.mode)``): a page of another
    token (the invoice page) only asks whom the browser belongs to."""
    if not value:
        return None
    try:
        claims = signing.loads(value, salt=_SESSION_SALT, max_age=PORTAL_SESSION_TTL)
    except signing.BadSignature:
        return None
    expires_at = datetime.fromtimestamp(claims["x"], tz=UTC)
    if expires_at <= now or claims["mode"] not in ("test", "live"):
        return None
    return PortalSession(mode=claims["mode"], merchant_id=claims["m"], customer_id=claims["c"],
                         merchant_name=claims["n"], expires_at=expires_at)


# --- reads --------------------------------------------------------------------------

INVOICES_SHOWN = 24


@dataclass
class PortalOverview:
    subscriptions: list[Subscription]
    invoices: list[Invoice]


def portal_overview(session: PortalSession) -> PortalOverview:
    """What the portal page lists: two queries on the session's store (subscriptions with
    their plan and card; the latest invoices with the attempt made on their page). There
    is no single query for both: a trialing subscription has no invoice to join from."""
    subs = list(Subscription.objects.select_related("plan", "card")
                .filter(merchant_id=session.merchant_id, customer_id=session.customer_id)
                .order_by("-created_at", "-pk"))
    invoices = list(Invoice.objects.select_related("hosted_payment")
                    .filter(merchant_id=session.merchant_id, customer_id=session.customer_id)
                    .order_by("-created_at", "-number")[:INVOICES_SHOWN])
    return PortalOverview(subscriptions=subs, invoices=invoices)


def portal_owns(session: PortalSession, subscription_id: str) -> bool:
    return Subscription.objects.filter(pk=subscription_id, merchant_id=session.merchant_id,
                                       customer_id=session.customer_id).exists()



# --- the card ------------------------------------------------------------------------

# The card check's charge, in minor units: the smallest a processor reliably takes
# (₦50, as Paystack's own card check), refunded at once.
CARD_CHECK_AMOUNTS = {"NGN": 5_000, "GHS": 100, "KES": 1_000, "ZAR": 500, "USD": 100}
CARD_CHECK_DESCRIPTION = "Card check (refunded at once)"


def portal_card_update_start(*, session: PortalSession, subscription_id: str) -> str:
    """The hosted invoice page where the customer enters a new card; returns the invoice's
    ``in_…`` token. Paying there is the normal path (an attempt, the rail,
    :func:`billing.payments.payments_settle`), which saves the card and makes it the
    subscription's.

    * ``past_due``: the open renewal invoice (its hosted token minted now if the renewal
      engine charged a saved card and never needed one): the new card pays what is due
      at once, and the subscription is active again.
    * nothing due (``active``, ``trialing``, ``non_renewing``): a *card check* invoice of
      :data:`CARD_CHECK_AMOUNTS` (reused while open), which pays no period, sends no
      receipt and is refunded in full as soon as it is paid (reason ``card_check``).

    Raises ``NotFound`` for another customer's subscription and ``Invalid`` for one that
    has ended."""
    S = Subscription.Status
    with atomic():
        sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer")
               .filter(pk=subscription_id, merchant_id=session.merchant_id,
                       customer_id=session.customer_id).first())
        if sub is None:
            raise NotFound("No such subscription.", param="id")
        opened = Invoice.objects.select_for_update().filter(subscription=sub,
                                                             status=Invoice.Status.OPEN)
        if sub.status == S.PAST_DUE:
            invoice = (opened.filter(purpose="", period_end__gt=sub.current_period_end)
                       .order_by("period_start").first())
        elif sub.status in (S.ACTIVE, S.TRIALING, S.NON_RENEWING):
            invoice = opened.filter(purpose=Invoice.CARD_CHECK).first() or _card_check_open(sub)
        else:
            invoice = None
        if invoice is None:
            raise Invalid("This subscription has ended.", code="subscription_ended",
                          param="id")
        if not invoice.hosted_token:
            invoice_link_open(invoice, merchant_name=session.merchant_name)
            invoice.save(update_fields=["hosted_token", "merchant_name"])
    assert invoice.hosted_token is not None
    return invoice.hosted_token


def _card_check_open(sub: Subscription) -> Invoice:
    invoice = invoice_create(merchant_id=sub.merchant_id, customer=sub.customer,
                             subscription=sub, amount=CARD_CHECK_AMOUNTS.get(sub.currency, 100),
                             currency=sub.currency, description=CARD_CHECK_DESCRIPTION)
    invoice.purpose, invoice.metadata = Invoice.CARD_CHECK, sub.metadata
    invoice.save(update_fields=["purpose", "metadata"])
    return invoice
