"""The hosted invoice page: ``/invoice/{token}``, server-rendered, works with JavaScript off.

``GET`` renders the state the invoice is in (the pay form, the OTP step, the
transfer panel while the bank confirms, paid, void); ``POST`` to the same URL
pays with a plain form (or sends the OTP, or the card's PIN), ``GET …/return`` is where
the bank's 3-D Secure page sends the payer back, ``POST …/simulate`` is the test-mode
bank. The page reuses the checkout page's look (``checkout/base.html``, the
merchant's published appearance, the rail panels of ``checkout/rails/``) and
its security headers (strict CSP, no framing, no caching). A view reads one
row set on the token's store (:func:`billing.invoice_links.invoice_by_token`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from appearance.selectors import published_appearance
from billing.invoice_links import invoice_for_token
from billing.models import Invoice
from billing.portal import COOKIE_NAME, portal_session_load
from billing.rails import enabled_rails
from billing.rails.live import ussd_banks_offered
from billing.rails.mobile_money import providers_for
from checkout.invoice_pay import (
    InvoiceOutcome,
    invoice_checkout_pay,
    invoice_outcome,
    invoice_step_return,
)
from checkout.invoice_pay import invoice_simulate as simulate
from checkout.pay import PayRequest
from checkout.payloads import invoice_amount_label
from checkout.ratelimit import client_ip, step_lookup_allowed
from checkout.views import (
    ANOTHER_WAY_NOTICE,
    CARD_MARKS,
    FIELD_OF,
    KEPT_FIELDS,
    card_again,
    hosted,
    rail_details,
    waiting_for,
)
from duro.errors import DuroError, NotFound, RateLimited
from duro.modes import current_mode


def _load(token: str) -> Invoice | None:
    try:
        return invoice_for_token(token)
    except NotFound:
        return None


def _render(request, invoice: Invoice | None, *, status: int = 200, **extra):
    appearance = published_appearance(invoice.merchant_id if invoice is not None else None)
    context: dict = {"invoice": invoice, "appearance": appearance}
    if invoice is None:
        return render(request, "checkout/invoice_not_found.html", context, status=404)
    label = invoice_amount_label(invoice)
    outcome: InvoiceOutcome = extra.pop("outcome", None) or invoice_outcome(invoice)
    rails = enabled_rails(merchant_id=invoice.merchant_id, currency=invoice.currency,
                          mode=current_mode())
    context.update({
        "merchant_name": invoice.merchant_name, "amount_label": label,
        "pay_label": appearance.pay_label(label), "state": outcome.status,
        "plan": invoice.subscription.plan if invoice.subscription is not None else None,
        "test_mode": (invoice.hosted_token or "").startswith("in_test_"),
        "rails": rails, "card_marks": CARD_MARKS, "number": f"INV-{invoice.number:06d}",
        "payment": invoice.hosted_payment,
    })
    context.update({
        "page_url": reverse("invoice-page", args=[invoice.hosted_token]),
        "status_url": reverse("public-invoice-status", args=[invoice.hosted_token]),
        "simulate_url": reverse("invoice-simulate", args=[invoice.hosted_token]),
        "ussd_banks": ussd_banks_offered(merchant_id=invoice.merchant_id, mode=current_mode()),
        "mobile_money_providers": providers_for(invoice.currency),
    })
    if outcome.status == "processing":
        waiting = waiting_for(invoice.hosted_payment)
        if waiting and request.GET.get("another"):
            # The payer leaves the awaited rail to pay another way: the form again.
            context["state"] = "open"
            extra.setdefault("form_notice", ANOTHER_WAY_NOTICE)
        else:
            context.update(waiting)
    if outcome.status == "failed":
        extra.setdefault("form_error", (outcome.error or {}).get("message"))
    if outcome.status == "requires_otp" and outcome.error:
        extra.setdefault("otp_error", outcome.error.get("message"))
    # Sent here from the customer portal: a way back to it (the cookie is read, not queried).
    portal = portal_session_load(request.COOKIES.get(COOKIE_NAME), now=timezone.now())
    if portal is not None and portal.customer_id == invoice.customer_id:
        context["portal_url"] = reverse("portal-home")
    identifiers = [r.identifier for r in rails]
    chosen = extra.get("values", {}).get("rail")
    context["selected_rail"] = chosen if chosen in identifiers else identifiers[0]
    context.update(extra)
    # Dates in the subscription's own zone (its periods start at local midnight there).
    zone = invoice.subscription.time_zone if invoice.subscription is not None else "UTC"
    with timezone.override(ZoneInfo(zone)):
        return render(request, "checkout/invoice.html", context, status=status)


@hosted
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("card_number", "card_cvc", "card_expiry", "pin", "otp")
@csrf_protect
def invoice_page(request, token: str):
    invoice = _load(token)
    if invoice is None or request.method == "GET":
        return _render(request, invoice)
    otp = request.POST.get("otp")
    pin = request.POST.get("pin")
    if pin is not None:  # the card's PIN: passed to the processor, never kept or logged
        pin = pin.strip()[:12]
        if not pin.isdigit():
            return _render(request, invoice, otp_error="Enter your card PIN.",
                           errors={"pin": "Enter your card PIN."})
        pay = PayRequest(pin=pin, details=card_again(request.POST))  # card_pin: the card too
        values: dict = {}
    elif otp is not None:
        otp = otp.strip()[:12]
        if not otp.isdigit():
            return _render(request, invoice, otp_error="Enter the code we sent you.")
        pay = PayRequest(otp=otp)
        values = {}
    else:
        values = {k: request.POST.get(k, "").strip()[:64] for k in KEPT_FIELDS}
        values["rail"] = values["rail"] or "card"
        pay = PayRequest(rail=values["rail"],
                         details=rail_details(request.POST, values["rail"], values))
    try:
        invoice_checkout_pay(token=token, ip=client_ip(request), request=pay)
    except RateLimited as exc:
        response = _render(request, invoice, status=429, values=values,
                           form_error="Too many payment attempts. Please wait a few minutes.")
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    except DuroError as exc:
        invoice.refresh_from_db()
        errors = {FIELD_OF.get(k, k): v for k, v in exc.fields.items()}
        return _render(request, invoice, values=values, errors=errors,
                       form_error=None if errors else exc.message,
                       otp_error=errors.get("otp"))
    return HttpResponseRedirect(request.path, status=303)


@hosted
@require_http_methods(["GET"])
def invoice_return(request, token: str):
    """Back from the bank's 3-D Secure page: the processor says what the bank decided,
    then the page shows where the invoice stands."""
    if _load(token) is None:
        return _render(request, None)
    if step_lookup_allowed(f"invoice:{token}"):
        invoice_step_return(token=token)
    return HttpResponseRedirect(reverse("invoice-page", args=[token]), status=303)


@hosted
@require_http_methods(["POST"])
@csrf_protect
def invoice_simulate(request, token: str):
    """Test mode: the transfer panel's "Simulate" buttons, the same as the JSON call."""
    invoice = _load(token)
    if invoice is None:
        return _render(request, None)
    try:
        simulate(token=token, outcome=request.POST.get("outcome", ""))
    except NotFound:
        return _render(request, None)
    except DuroError as exc:
        return _render(request, invoice, status=400, form_error=exc.message)
    return HttpResponseRedirect(request.path.removesuffix("/simulate"), status=303)
