"""The hosted checkout page: server-rendered, works with JavaScript off.

``GET /checkout/{token}`` renders the state the session is in (form, OTP,
processing, receipt, expired); ``POST`` to the same URL pays with a plain form,
``POST …/otp`` completes an OTP or the card's PIN (the processor's steps), and
``GET …/return`` is where the bank's 3-D Secure page sends the payer back.
JavaScript (``static/checkout/checkout.js``) only improves it. Every response carries a strict
Content-Security-Policy.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from urllib.parse import quote, urlsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from appearance.selectors import Appearance, published_appearance
from billing.contacts import phone_example
from billing.models import PaymentAttempt
from billing.rails import enabled_rails
from billing.rails.cards import parse_expiry
from billing.rails.live import ussd_banks_offered
from billing.rails.mobile_money import national, providers_for
from checkout.identity import (
    CODE_TTL,
    PROOF_TTL,
    identity_ask,
    identity_for_proof,
    identity_verify,
    open_for_identity,
    saved_cards,
)
from checkout.models import CheckoutSession
from checkout.outcomes import success_redirect
from checkout.pay import (
    OTP_LEFT,
    PayRequest,
    checkout_pay,
    session_otp_leave,
    session_step_return,
)
from checkout.payloads import amount_label, plan_summary
from checkout.pricing import session_price, session_vat_rate
from checkout.ratelimit import (
    client_ip,
    coupon_try_wait,
    identity_ask_wait,
    step_lookup_allowed,
)
from checkout.selectors import page_cache_keys, session_for_token
from checkout.sessions import session_coupon_apply
from checkout.simulate import session_simulate
from duro.cache import read_together
from duro.errors import DuroError, Gone, NotFound, RateLimited
from duro.modes import current_mode
from duro.money import format_amount
from duro.origins import TEST_MODE_ORIGINS, checkout_origins, frame_ancestors
from duro.regions import region_for
from duro.tax import vat_rate_text

EXPIRY_WARNING = timedelta(minutes=10)
# The cards shown as accepted (our own drawn marks): the icon and its text.
CARD_MARKS = (("checkout/icons/visa.svg", "Visa"), ("checkout/icons/mastercard.svg", "Mastercard"),
              ("checkout/icons/verve.svg", "Verve"))
FIELD_OF = {"card.number": "card_number", "card.exp_month": "card_expiry",
            "card.exp_year": "card_expiry", "card.cvc": "card_cvc", "ussd.bank": "ussd_bank",
            "mobile_money.provider": "mobile_money_provider",
            "mobile_money.phone": "mobile_money_phone"}
# What the form keeps when it is shown again (never the card).
KEPT_FIELDS = ("email", "phone", "rail", "ussd_bank", "mobile_money_provider",
               "mobile_money_phone")


def content_security_policy(form_targets: list[str], *, ancestors: str = "'none'") -> str:
    """The hosted page's policy; ``ancestors`` is what may frame it (``'none'`` unless the
    merchant allowed origins for the inline SDK: :func:`duro.origins.frame_ancestors`)."""
    form_action = " ".join(["'self'", *form_targets])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; base-uri 'none'; "
        f"form-action {form_action}; frame-ancestors {ancestors}"
    )


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def hosted(view):
    """Security headers of every hosted page; the session's return URLs may be form targets."""

    @functools.wraps(view)
    def wrapper(request, token, *args, **kwargs):
        response = view(request, token, *args, **kwargs)
        session = getattr(request, "checkout_session", None)
        targets = []
        if session is not None:
            targets = [o for o in {_origin(session.success_url), _origin(session.cancel_url)} if o]
        return hosted_headers(response, targets=sorted(targets),
                              ancestors=getattr(request, "frame_ancestors", "'none'"))

    return wrapper


def hosted_headers(response, *, targets: list[str] | None = None, ancestors: str = "'none'"):
    """The headers every hosted page sends (checkout, invoice, customer portal); only the
    checkout page may be framed, by the merchant's allowed origins (``ancestors``)."""
    response["Content-Security-Policy"] = content_security_policy(targets or [],
                                                                  ancestors=ancestors)
    response["Cache-Control"] = "no-store"
    # same-origin, not no-referrer: with no-referrer the browser sends "Origin: null"
    # on the form post and the CSRF origin check refuses it.
    response["Referrer-Policy"] = "same-origin"
    if ancestors == "'none'":
        response["X-Frame-Options"] = "DENY"
    else:
        # X-Frame-Options has no list of sites; frame-ancestors says who may frame it.
        response.xframe_options_exempt = True
    return response


def _load(request, token: str) -> CheckoutSession | None:
    session = _session_or_none(token)
    if session is not None:
        _frame_policy(request, session)
    return session


def _session_or_none(token: str) -> CheckoutSession | None:
    try:
        return session_for_token(token)
    except NotFound:
        return None


def _frame_policy(request, session: CheckoutSession) -> None:
    request.checkout_session = session
    # Who may frame the page (the inline SDK): the merchant's origins, from the cache.
    mode = current_mode()
    allowed = checkout_origins(merchant_id=session.merchant_id, mode=mode)
    request.frame_origins = [*allowed, *(TEST_MODE_ORIGINS if mode == "test" else ())]
    request.frame_ancestors = frame_ancestors(allowed, mode=mode)


def page_context(session: CheckoutSession | None, *, appearance: Appearance) -> dict:
    """What every hosted-page template reads; the builder's preview renders it too."""
    context: dict = {"session": session, "appearance": appearance}
    if session is not None:
        now = timezone.now()
        remaining = session.expires_at - now
        price = session_price(session)
        label = amount_label(session, price=price)
        rate = session_vat_rate(session)
        rails = enabled_rails(merchant_id=session.merchant_id, currency=session.currency,
                              mode=current_mode())
        context.update({
            "amount_label": label,
            # The VAT line of the summary: "Includes VAT 7.5 %: ₦1,125.00".
            "vat": ({"rate": vat_rate_text(rate),
                     "amount": format_amount(price.vat, session.currency),
                     "subtotal": format_amount(price.subtotal - price.discount,
                                               session.currency)}
                    if rate else None),
            # The coupon's line of the summary: "Discount (LAUNCH20): −₦3,000.00".
            "discount": ({"code": session.coupon.code,
                          "amount": format_amount(price.discount, session.currency)}
                         if session.coupon_id and session.coupon else None),
            "pay_label": appearance.pay_label(label),
            "plan": plan_summary(session),
            "rails": rails,
            "card_offered": any(r.identifier == "card" for r in rails),
            "ussd_banks": ussd_banks_offered(merchant_id=session.merchant_id,
                                             mode=current_mode()),
            "mobile_money_providers": providers_for(session.currency),
            "test_mode": session.token.startswith("cs_test_"),
            "page_url": reverse("checkout-page", args=[session.token]),
            "status_url": reverse("public-status", args=[session.token]),
            "simulate_url": reverse("checkout-simulate", args=[session.token]),
            "phone_placeholder": phone_example(region_for(session.currency)),
            "card_marks": CARD_MARKS,
            "expiring_soon": timedelta(0) < remaining <= EXPIRY_WARNING,
            "minutes_left": max(1, int(remaining.total_seconds() // 60)),
        })
    return context


def _render(request, session: CheckoutSession | None, template: str, status: int = 200,
            **extra):
    appearance = published_appearance(session.merchant_id if session is not None else None)
    context = {**page_context(session, appearance=appearance), **extra}
    if session is not None:
        # The inline SDK's frame: whom the page's script may answer (its handshake), and
        # what the script reports when the session completes.
        context["embed"] = {"origins": getattr(request, "frame_origins", []),
                            "session_id": session.id,
                            "pay_url": reverse("public-pay", args=[session.token]),
                            # browsers refuse autofocus in a frame of another site:
                            # embed.js moves the focus instead
                            "framed": request.headers.get("Sec-Fetch-Dest") == "iframe"}
    return render(request, template, context, status=status)


def _state_page(request, session: CheckoutSession, *, status_code: int = 200, **extra):
    """Render whatever state the session is in now (the form or OTP step with
    ``status_code``, e.g. 429 when pays are rate-limited)."""
    status = session.status
    if status == CheckoutSession.Status.OPEN and session.is_expired():
        status = CheckoutSession.Status.EXPIRED
    if status == CheckoutSession.Status.EXPIRED:
        return _render(request, session, "checkout/expired.html", status=410)
    if status == CheckoutSession.Status.COMPLETED:
        return _render(request, session, "checkout/receipt.html",
                       continue_url=success_redirect(session), payment=session.payment)
    payment = session.payment if session.payment_id else None
    if status == CheckoutSession.Status.PROCESSING:
        waiting = waiting_for(payment)
        if not (waiting and request.GET.get("another")):
            return _render(request, session, "checkout/processing.html", **{**extra, **waiting})
        # The payer leaves the awaited rail to pay another way: the form again, saying that
        # what they may already have sent is still watched.
        extra.setdefault("form_notice", ANOTHER_WAY_NOTICE)
    # ?another=1 on the OTP step: the form again, to pay with another card (the inline
    # SDK's frame cannot make the step's "Use another card" post; a pay replaces the step).
    another_card = request.method == "GET" and bool(request.GET.get("another"))
    if (payment is not None and payment.status == PaymentAttempt.Status.REQUIRES_OTP
            and not another_card):
        if payment.failure_code:  # a wrong code: the customer stays on this step
            extra.setdefault("otp_error", payment.failure_message)
        return _render(request, session, "checkout/otp.html", status=status_code, **extra)
    declined = (payment is not None and payment.status == PaymentAttempt.Status.FAILED
                and payment.failure_message != OTP_LEFT)
    # money that paid nothing (too little, too late): the page says what arrived
    unapplied = (payment is not None and payment.status == PaymentAttempt.Status.SUCCEEDED
                 and bool(payment.failure_code))
    if payment is not None and (declined or unapplied):
        extra.setdefault("form_error", payment.failure_message)
    extra.setdefault("values", {"email": session.customer_email,
                                "phone": session.customer_phone})
    extra.update(saved_cards_shown(request, session))
    rails = [r.identifier for r in enabled_rails(merchant_id=session.merchant_id,
                                                 currency=session.currency,
                                                 mode=current_mode())]
    chosen = extra.get("values", {}).get("rail")
    extra.setdefault("selected_rail", chosen if chosen in rails else next(iter(rails), None))
    return _render(request, session, "checkout/page.html", status=status_code, **extra)


ANOTHER_WAY_NOTICE = ("Your earlier payment is still open: if you already sent the money, "
                      "go back and wait for it instead. Money that arrives for it after you pay "
                      "another way is refunded automatically.")


def waiting_for(payment: PaymentAttempt | None) -> dict:
    """What the processing page shows while an asynchronous rail waits: its instructions
    (``transfer``, ``ussd`` or ``mobile_money``) and the minutes left to act on them."""
    shown = (payment.instructions or {}) if payment is not None else {}
    context: dict = {}
    for key, name in (("transfer", "transfer"), ("ussd", "ussd"),
                      ("mobileMoney", "mobile_money")):
        if shown.get(key):
            context[name] = instructions = shown[key]
            expires = parse_datetime(str(instructions.get("expiresAt") or ""))
            left = (expires - timezone.now()).total_seconds() if expires else 0
            context["minutes_left_to_pay"] = max(0, int(left // 60))
    if "transfer" in context:
        transfer = context["transfer"]
        context["transfer_amount"] = format_amount(transfer["amount"], transfer["currency"])
    if "mobile_money" in context:
        context["mobile_money_phone"] = national(context["mobile_money"]["phone"])
    if "ussd" in context:  # a tel: link dials it on a phone; "#" must be sent as %23
        context["ussd_href"] = "tel:" + quote(context["ussd"]["code"], safe="*")
    return context


def _not_found(request):
    return _render(request, None, "checkout/not_found.html", status=404)


@hosted
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("card_number", "card_cvc", "card_expiry")
@csrf_protect
def checkout_page(request, token: str):
    session = _session_or_none(token)
    if session is None:
        return _not_found(request)
    # The merchant's cached settings the page reads, in one cache round trip.
    with read_together(page_cache_keys(session)):
        _frame_policy(request, session)
        return _checkout_page(request, session)


def _checkout_page(request, session: CheckoutSession):
    if request.method == "GET":
        return _state_page(request, session)
    if request.POST.get("action") == "apply_coupon":
        return _apply_coupon(request, session)
    values = {k: request.POST.get(k, "").strip() for k in KEPT_FIELDS}
    if saved_card := request.POST.get("saved_card", "").strip()[:40]:
        # One tap on a saved card: the proof is the browser's cookie (checkout.identity).
        pay = PayRequest(rail="card", saved_card=saved_card,
                         identity_proof=request.COOKIES.get(PROOF_COOKIE, "")[:64])
        return _pay_and_answer(request, session, pay, values)
    rail = request.POST.get("rail", "card")
    pay = PayRequest(email=values["email"], phone=values["phone"], rail=rail,
                     details=rail_details(request.POST, rail, values))
    return _pay_and_answer(request, session, pay, values)


def _apply_coupon(request, session: CheckoutSession):
    """The "Promo code" form (a session with ``allowCoupons``): the page again, with the
    discount in its summary, or the code's error under the field."""
    code = request.POST.get("coupon_code", "").strip()[:64]
    if coupon_try_wait(session.token):
        return _state_page(request, session, coupon_value=code, status_code=429,
                           errors={"coupon_code": TOO_MANY_CODES})
    try:
        session = session_coupon_apply(session_id=session.id, code=code)
    except Gone:
        session.refresh_from_db()
        return _render(request, session, "checkout/expired.html", status=410)
    except DuroError as exc:
        session.refresh_from_db()
        return _state_page(request, session, coupon_value=code,
                           errors={"coupon_code": exc.message})
    return HttpResponseRedirect(request.path, status=303)


TOO_MANY_CODES = "Too many promo codes tried. Please wait a while, or pay without one."
CHALLENGE_COOKIE, PROOF_COOKIE = "duro_idc", "duro_idp"


def _identity_cookie(request, response, name: str, value: str, *, seconds: int) -> None:
    """A browser-held secret of "Use a saved card", for this session's pages only."""
    response.set_cookie(name, value, max_age=seconds,
                        path=f"/checkout/{request.checkout_session.token}",
                        secure=request.is_secure(), httponly=True, samesite="Lax")


def saved_cards_shown(request, session: CheckoutSession) -> dict:
    """The saved cards of the customer this browser proved (its proof cookie), if any."""
    proof = request.COOKIES.get(PROOF_COOKIE, "")
    if not proof or session.status not in (CheckoutSession.Status.OPEN,
                                           CheckoutSession.Status.PROCESSING):
        return {}
    try:
        identity = identity_for_proof(session=session, proof=proof[:64])
    except DuroError:
        return {}
    return {"saved_cards": saved_cards(identity.customer_id), "identity_email": identity.email}


@hosted
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("code", "card_number", "card_cvc", "card_expiry")
@csrf_protect
def checkout_identity(request, token: str):
    """"Use a saved card" without JavaScript: a GET shows the email step (or, once asked,
    the code step); ``action=ask`` sends a code and keeps the challenge in a cookie; the
    code step's ``action=verify`` exchanges the right code for a proof cookie, and the page
    then shows the saved cards."""
    session = _load(request, token)
    if session is None:
        return _not_found(request)
    page = reverse("checkout-page", args=[session.token])
    here = reverse("checkout-identity", args=[session.token])
    action = request.POST.get("action", "") if request.method == "POST" else ""
    try:
        open_for_identity(session)
        if action == "ask":
            email = request.POST.get("email", "").strip()[:254]
            if wait := identity_ask_wait(session.token):
                raise RateLimited(f"Too many code requests; try again in {wait} seconds.",
                                  retry_after=wait)
            asked = identity_ask(session=session, email=email)
            response = HttpResponseRedirect(here, status=303)
            _identity_cookie(request, response, CHALLENGE_COOKIE, asked.challenge,
                             seconds=int(CODE_TTL.total_seconds()))
            return response
        if action == "verify":
            proven = identity_verify(session=session,
                                     challenge=request.COOKIES.get(CHALLENGE_COOKIE, "")[:64],
                                     code=request.POST.get("code", "")[:12])
            response = HttpResponseRedirect(page + "#saved-cards", status=303)
            _identity_cookie(request, response, PROOF_COOKIE, proven.proof,
                             seconds=int(PROOF_TTL.total_seconds()))
            response.delete_cookie(CHALLENGE_COOKIE, path=f"/checkout/{session.token}")
            return response
    except Gone:
        return _render(request, session, "checkout/expired.html", status=410)
    except DuroError as exc:
        if action == "ask":  # a bad email (or too many asks): the email step again
            return _render(request, session, "checkout/identity.html",
                           status=429 if isinstance(exc, RateLimited) else 400, step="email",
                           email=request.POST.get("email", "").strip()[:254],
                           email_error=exc.message)
        return _render(request, session, "checkout/identity.html", status=400,
                       code_error=exc.message)
    if request.method == "POST":
        return HttpResponseRedirect(page, status=303)
    if not request.COOKIES.get(CHALLENGE_COOKIE) or request.GET.get("again"):
        return _render(request, session, "checkout/identity.html", step="email",
                       email=session.customer_email)
    return _render(request, session, "checkout/identity.html")


def card_again(form) -> dict:
    """The card posted again with its PIN (a ``card_pin`` step); nothing when none was."""
    return rail_details(form, "card", {}) if form.get("card_number") is not None else {}


def rail_details(form, rail: str, values: dict) -> dict:
    """The fields of the rail that was chosen (without JavaScript every panel is posted)."""
    if rail == "ussd":
        return {"bank": values["ussd_bank"]}
    if rail == "mobile_money":
        return {"provider": values["mobile_money_provider"],
                "phone": values["mobile_money_phone"]}
    if rail != "card":
        return {}
    card = {"number": form.get("card_number", "")[:40], "cvc": form.get("card_cvc", "")[:8]}
    card["exp_month"], card["exp_year"] = parse_expiry(form.get("card_expiry", "")[:12])
    return card


@hosted
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("pin", "otp", "card_number", "card_cvc", "card_expiry")
@csrf_protect
def checkout_otp(request, token: str):
    """The processor's step: a GET shows whatever step the session is on; a POST submits
    the code (``otp``) or the card's PIN (``pin``, passed on, never kept or logged; at a
    ``card_pin`` step with the card again, ``card_number``, ``card_expiry``, ``card_cvc``,
    which that processor takes with it), or (``action=another_card``) leaves the step to
    pay with another card."""
    session = _load(request, token)
    if session is None:
        return _not_found(request)
    if request.method == "GET":
        return _state_page(request, session)
    if request.POST.get("action") == "another_card":
        session_otp_leave(session_id=session.id)
        return HttpResponseRedirect(request.path.removesuffix("/otp"), status=303)
    if "pin" in request.POST:
        pin = request.POST.get("pin", "").strip()[:12]
        if not pin.isdigit():
            return _state_page(request, session, otp_error="Enter your card PIN.",
                               errors={"pin": "Enter your card PIN."})
        return _pay_and_answer(request, session,
                               PayRequest(pin=pin, details=card_again(request.POST)), {})
    otp = request.POST.get("otp", "").strip()[:12]
    if not otp.isdigit():
        return _state_page(request, session, otp_error="Enter the code we sent you.")
    return _pay_and_answer(request, session, PayRequest(otp=otp), {})


def _pay_and_answer(request, session: CheckoutSession, pay: PayRequest, values: dict):
    """The form's pay through the same entrance as the JSON pay; its refusals become
    form errors on the step the customer is on."""
    try:
        outcome = checkout_pay(token=session.token, ip=client_ip(request), request=pay)
    except RateLimited as exc:
        response = _state_page(request, session, values=values, status_code=429,
                               form_error="Too many payment attempts. Please wait a few "
                                          "minutes.")
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    except Gone:
        session.refresh_from_db()
        return _render(request, session, "checkout/expired.html", status=410)
    except DuroError as exc:
        session.refresh_from_db()
        errors = {FIELD_OF.get(k, k): v for k, v in exc.fields.items()
                  if k not in ("identityProof", "savedCard")}  # no field: the form's error
        if errors:
            return _state_page(request, session, values=values, errors=errors,
                               otp_error=errors.get("otp"))
        return _state_page(request, session, values=values, form_error=exc.message)
    if outcome.status == "completed" and outcome.redirect_url:
        return HttpResponseRedirect(outcome.redirect_url, status=303)
    if outcome.status == "failed":
        session.refresh_from_db()
        return _state_page(request, session, values=values,
                           form_error=(outcome.error or {}).get("message"))
    return HttpResponseRedirect(request.path.removesuffix("/otp"), status=303)


@hosted
@require_http_methods(["GET"])
def checkout_return(request, token: str):
    """Back from the bank's 3-D Secure page: the processor is asked what the bank decided,
    then the payer sees the outcome (the merchant's success URL, or this page's state)."""
    session = _load(request, token)
    if session is None:
        return _not_found(request)
    if not step_lookup_allowed(f"session:{session.id}"):
        return HttpResponseRedirect(reverse("checkout-page", args=[session.token]), status=303)
    outcome = session_step_return(session_id=session.id)
    if outcome.status == "completed" and outcome.redirect_url:
        return HttpResponseRedirect(outcome.redirect_url, status=303)
    return HttpResponseRedirect(reverse("checkout-page", args=[session.token]), status=303)


@hosted
@require_http_methods(["POST"])
@csrf_protect
def checkout_simulate(request, token: str):
    """Test mode: the page's "Simulate" buttons, the same as the JSON simulate call."""
    session = _load(request, token)
    if session is None:
        return _not_found(request)
    try:
        outcome = session_simulate(token=token, outcome=request.POST.get("outcome", ""))
    except NotFound:
        return _not_found(request)
    except DuroError as exc:
        return _state_page(request, session, status_code=400, form_error=exc.message)
    if outcome.status == "completed" and outcome.redirect_url:
        return HttpResponseRedirect(outcome.redirect_url, status=303)
    return HttpResponseRedirect(request.path.removesuffix("/simulate"), status=303)
