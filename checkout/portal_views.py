"""The customer portal: ``/portal/…``, server-rendered and branded, works with JavaScript off.

``GET /portal/{token}`` exchanges a link (the API's single-use ``pt_…``, or an
email's signed ``pm_…``, :mod:`billing.portal`) for a portal session — an
HttpOnly, SameSite=Lax cookie (Secure over HTTPS) holding a signed value that
lasts one hour — and redirects to ``GET /portal/``, the page that lists the
customer's subscriptions and invoices. A used or expired link answers 410.
The page's forms post (with the CSRF token) to ``…/cancel`` (at period end),
``…/keep`` (undo that while the period runs) and ``…/card`` (on to an invoice's
hosted page, where the new card pays and becomes the subscription's card: a
``past_due`` subscription's open renewal invoice, or else a small card check
refunded at once). Headers are the hosted pages' (strict
CSP, no framing, no caching).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from appearance.selectors import published_appearance
from billing.models import Invoice, Subscription
from billing.portal import (
    COOKIE_NAME,
    PORTAL_SESSION_TTL,
    PortalSession,
    portal_card_update_start,
    portal_open,
    portal_overview,
    portal_owns,
    portal_session_load,
    portal_session_sign,
)
from billing.subscriptions import subscription_cancel, subscription_cancel_undo
from checkout.views import hosted_headers
from duro.errors import DuroError, Gone
from duro.modes import set_mode
from duro.money import format_amount, format_cadence

STATUS_LABELS = {"trialing": "Trial", "active": "Active", "past_due": "Payment failed",
                 "non_renewing": "Ends at period end", "canceled": "Canceled",
                 "completed": "Completed", "paused": "Paused"}
INVOICE_LABELS = {"open": "Due", "paid": "Paid", "void": "Void",
                  "uncollectible": "Not collected"}
NOTICES = {
    "canceled": "Your subscription will end at the end of the current period. You can keep "
                "it until then.",
    "kept": "Your subscription continues: it renews as before.",
    "ended": "This subscription has already ended.",
}


def portal_page(view):
    """The hosted pages' security headers on every portal response."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return hosted_headers(view(request, *args, **kwargs))

    return wrapper


def _session(request) -> PortalSession | None:
    session = portal_session_load(request.COOKIES.get(COOKIE_NAME), now=timezone.now())
    if session is not None:
        set_mode(session.mode)
    return session


def _signed_out(request):
    return render(request, "checkout/portal_signed_out.html",
                  {"appearance": published_appearance(None)}, status=403)


@portal_page
@require_http_methods(["GET"])
def portal_link(request, token: str):
    """Exchange a link for a portal session (a cookie), then show the portal."""
    try:
        session = portal_open(token=token, now=timezone.now())
    except Gone:
        return render(request, "checkout/portal_gone.html",
                      {"appearance": published_appearance(None)}, status=410)
    response = HttpResponseRedirect(reverse("portal-home"), status=303)
    response.set_cookie(COOKIE_NAME, portal_session_sign(session),
                        max_age=int(PORTAL_SESSION_TTL.total_seconds()), path="/",
                        secure=request.is_secure(), httponly=True, samesite="Lax")
    return response


@dataclass
class SubscriptionRow:
    sub: Subscription
    amount: str
    status_label: str
    period_start: str  # formatted in the subscription's own zone (its periods start there)
    period_end: str
    card: str | None
    problem: str | None  # why the last payment failed (a past_due one)


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return date_format(timezone.localtime(moment, zone), "j M Y")


def _rows(subs: list[Subscription], invoices: list[Invoice]) -> list[SubscriptionRow]:
    failures = {i.subscription_id: i.hosted_payment.failure_message for i in invoices
                if i.status == "open" and i.hosted_payment is not None
                and i.hosted_payment.status == "failed"}
    rows = []
    for sub in subs:
        zone = ZoneInfo(sub.time_zone)
        cadence = format_cadence(sub.interval, sub.interval_count)
        rows.append(SubscriptionRow(
            sub=sub, amount=f"{format_amount(sub.amount, sub.currency)} / {cadence}",
            status_label=STATUS_LABELS.get(sub.status, sub.status),
            period_start=_day(sub.current_period_start, zone),
            period_end=_day(sub.current_period_end, zone),
            card=f"{sub.card.brand.title()} •••• {sub.card.last4}" if sub.card else None,
            problem=failures.get(sub.pk) if sub.status == "past_due" else None,
        ))
    return rows


@portal_page
@require_http_methods(["GET"])
@csrf_protect
def portal_home(request):
    """The portal: two queries on the session's store (:func:`billing.portal.portal_overview`);
    the appearance comes from the cache and the merchant's name from the session."""
    session = _session(request)
    if session is None:
        return _signed_out(request)
    overview = portal_overview(session)
    # An invoice's date in its subscription's zone, as the invoice page and emails show it.
    zones = {s.pk: ZoneInfo(s.time_zone) for s in overview.subscriptions}
    invoices = [{"invoice": i, "number": f"INV-{i.number:06d}",
                 "date": _day(i.created_at, zones.get(i.subscription_id, ZoneInfo("UTC"))),
                 "amount": format_amount(i.amount, i.currency),
                 "status_label": "Refunded" if i.amount_refunded >= i.amount > 0 else (
                     INVOICE_LABELS.get(i.status, i.status)),
                 "url": reverse("invoice-page", args=[i.hosted_token]) if i.hosted_token else None}
                for i in overview.invoices]
    return render(request, "checkout/portal.html", {
        "appearance": published_appearance(session.merchant_id),
        "merchant_name": session.merchant_name, "test_mode": session.mode == "test",
        "subscriptions": _rows(overview.subscriptions, overview.invoices),
        "invoices": invoices, "notice": NOTICES.get(request.GET.get("done", "")),
    })


def _subscription_action(request, subscription_id: str, act) -> HttpResponseRedirect:
    session = _session(request)
    if session is None:
        return _signed_out(request)
    if not portal_owns(session, subscription_id):
        return HttpResponseRedirect(reverse("portal-home"), status=303)
    return act(session)


@portal_page
@require_http_methods(["POST"])
@csrf_protect
def portal_cancel(request, subscription_id: str):
    """Cancel at period end, as ``POST /v1/subscriptions/{id}/cancel`` does (its events)."""
    def act(session: PortalSession):
        subscription_cancel(merchant_id=session.merchant_id, subscription_id=subscription_id,
                            at_period_end=True, now=timezone.now())
        return HttpResponseRedirect(f"{reverse('portal-home')}?done=canceled", status=303)
    return _subscription_action(request, subscription_id, act)


@portal_page
@require_http_methods(["POST"])
@csrf_protect
def portal_keep(request, subscription_id: str):
    """Undo a cancel at period end while the period runs."""
    def act(session: PortalSession):
        try:
            subscription_cancel_undo(merchant_id=session.merchant_id,
                                     subscription_id=subscription_id, now=timezone.now())
        except DuroError:
            return HttpResponseRedirect(f"{reverse('portal-home')}?done=ended", status=303)
        return HttpResponseRedirect(f"{reverse('portal-home')}?done=kept", status=303)
    return _subscription_action(request, subscription_id, act)


@portal_page
@require_http_methods(["POST"])
@csrf_protect
def portal_card(request, subscription_id: str):
    """On to an invoice's page to pay with a new card: a ``past_due`` subscription's open
    renewal invoice, else a card check refunded at once
    (:func:`billing.portal.portal_card_update_start`)."""
    def act(session: PortalSession):
        try:
            token = portal_card_update_start(session=session, subscription_id=subscription_id)
        except DuroError:
            return HttpResponseRedirect(f"{reverse('portal-home')}?done=ended", status=303)
        return HttpResponseRedirect(reverse("invoice-page", args=[token]), status=303)
    return _subscription_action(request, subscription_id, act)
