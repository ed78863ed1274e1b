"""Checkout REST endpoints: sessions for merchants (key) and the public trio (token).

The public endpoints take no key: the mode comes from the token prefix, and
an unknown prefix is a 404 that touches no store.
"""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from appearance.selectors import published_appearance
from billing.invoice_links import invoice_for_token
from billing.models import Invoice
from billing.payloads import card_payload
from billing.rails import enabled_rails
from billing.rails.live import ussd_banks_offered
from billing.rails.mobile_money import PROVIDERS, providers_for
from billing.rails.ussd import USSD_BANKS
from checkout.identity import identity_ask, identity_verify, open_for_identity
from checkout.invoice_pay import invoice_outcome, invoice_simulate
from checkout.models import CheckoutSession
from checkout.outcomes import outcome_of
from checkout.pay import PayRequest, checkout_pay
from checkout.payloads import (
    amount_label,
    invoice_amount_label,
    iso,
    plan_summary,
    session_payload,
)
from checkout.pricing import discount_payload, session_price, session_vat_rate, vat_payload
from checkout.ratelimit import client_ip, identity_ask_wait
from checkout.selectors import page_cache_keys, session_for_token, session_get, session_list
from checkout.serializers import (
    SESSION_STATUSES,
    HydrateOutput,
    IdentityAskOutput,
    IdentityVerifyOutput,
    InvoiceHydrateOutput,
    InvoicePageResult,
    PayResult,
    SessionInput,
    SessionOutput,
    StatusOutput,
)
from checkout.sessions import session_create, session_expire
from checkout.simulate import OUTCOMES as SIMULATE_OUTCOMES
from checkout.simulate import session_simulate
from duro.api.pagination import list_parameters, paginate
from duro.api.views import IDEMPOTENCY_HEADER, BaseAPIView, DuroAPIView
from duro.cache import read_together
from duro.errors import RateLimited
from duro.modes import current_mode
from duro.money import format_cadence


class SessionListView(DuroAPIView):
    @extend_schema(summary="List checkout sessions", parameters=list_parameters(
        OpenApiParameter("status", str, enum=SESSION_STATUSES),
        OpenApiParameter("reference", str)),
        responses=SessionOutput(many=True), operation_id="checkout_sessions_list")
    def get(self, request):
        rows = session_list(merchant_id=request.user.id,
                            status=request.query_params.get("status"),
                            reference=request.query_params.get("reference"))
        page, has_more = paginate(rows, request.query_params)
        return Response({"data": [session_payload(s) for s in page], "has_more": has_more})

    @extend_schema(summary="Create a checkout session", request=SessionInput,
                   responses={201: SessionOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = SessionInput(data=request.data, context={
            "mode": request.mode, "currency": request.user.default_currency})
        data.is_valid(raise_exception=True)
        session = session_create(merchant=request.user, **data.validated_data)
        return Response({"data": session_payload(session)}, status=201)


def _owned_session(request, pk: str) -> CheckoutSession:
    return session_get(merchant_id=request.user.id, session_id=pk)


class SessionDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a checkout session (the verify call)",
                   responses=SessionOutput)
    def get(self, request, pk):
        return Response({"data": session_payload(_owned_session(request, pk))})


class SessionExpireView(DuroAPIView):
    @extend_schema(summary="Expire an open checkout session", request=None,
                   responses=SessionOutput, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        session = session_expire(session=_owned_session(request, pk))
        return Response({"data": session_payload(session)})


# --- public: the token is the credential ---------------------------------------------
class PublicView(BaseAPIView):
    authentication_classes: list = []
    permission_classes: list = []

    def session_for(self, token: str) -> CheckoutSession:
        return session_for_token(token)


def rail_choices(rails: list, *, currency: str, merchant_id: str) -> dict:
    """The rails offered, and the choices of those that need one (empty when not offered;
    in live mode the USSD banks are those the merchant's processor takes)."""
    offered = {r.identifier for r in rails}
    banks = ussd_banks_offered(merchant_id=merchant_id, mode=current_mode()) \
        if "ussd" in offered else ()
    return {
        "rails": [{"id": r.identifier, "label": r.label} for r in rails],
        "ussdBanks": [{"code": b.code, "name": b.name} for b in banks],
        "mobileMoneyProviders": [{"id": p.id, "label": p.label} for p in providers_for(currency)]
        if "mobile_money" in offered else [],
    }


def hydrate_payload(session: CheckoutSession) -> dict:
    """What the page needs; never the metadata, never anything secret.

    The appearance tokens come from the published-appearance cache (no core query) and the
    merchant's rail switches from theirs (no second query on the token's store).
    ``ussdBanks`` and ``mobileMoneyProviders`` are the choices of those rails (empty when
    the rail is not offered).
    """
    rails = enabled_rails(merchant_id=session.merchant_id, currency=session.currency,
                          mode=current_mode())
    price = session_price(session)
    return {
        "merchant": {"name": session.merchant_name},
        "mode": "live" if session.token.startswith("cs_live_") else "test",
        "reference": session.reference, "status": session.effective_status,
        "amount": session.amount, "currency": session.currency,
        # Less the coupon, then the merchant's VAT on top: what is charged (trials: after
        # the trial). ``allowCoupons``: the page asks for a promo code.
        "discount": discount_payload(session, price),
        "allowCoupons": session.allow_coupons,
        "vat": vat_payload(price, session_vat_rate(session)), "amountDue": price.total,
        "amountLabel": amount_label(session, price=price),
        "description": session.description or None,
        "plan": plan_summary(session),
        "prefill": {"email": session.customer_email or None,
                    "phone": session.customer_phone or None},
        **rail_choices(rails, currency=session.currency, merchant_id=session.merchant_id),
        "expiresAt": iso(session.expires_at), "cancelUrl": session.cancel_url or None,
        "appearance": published_appearance(session.merchant_id).as_payload(),
    }


class HydrateView(PublicView):
    # The payload is written in camelCase already: the camelizing renderer would walk it
    # again on the hottest endpoint (about a tenth of its time) to change nothing.
    renderer_classes = [JSONRenderer]

    @extend_schema(summary="Hydrate the hosted page (public, by token)", auth=[],
                   responses=HydrateOutput)
    def get(self, request, token):
        session = self.session_for(token)
        with read_together(page_cache_keys(session)):
            return Response({"data": hydrate_payload(session)})


@extend_schema_field({
    "type": "object", "additionalProperties": False,
    "required": ["number", "expMonth", "expYear", "cvc"],
    "properties": {
        "number": {"type": "string", "pattern": "^[0-9 ]{12,23}$"},
        "expMonth": {"type": "integer", "minimum": 1, "maximum": 12},
        "expYear": {"type": "integer", "minimum": 2000, "maximum": 2100},
        "cvc": {"type": "string", "pattern": "^[0-9]{3,4}$"},
    },
    "description": "Card details; they go only to the rail, never stored or logged. Sent "
                   "again with `pin` at a `card_pin` step.",
})
class CardDetailsField(serializers.DictField):
    pass


@extend_schema_field({
    "type": "object", "additionalProperties": False, "required": ["bank"],
    "properties": {"bank": {"type": "string", "enum": [b.code for b in USSD_BANKS],
                            "description": "The bank's USSD code, as hydrate's `ussdBanks` "
                                           "lists it."}},
    "description": "For `rail: ussd`: the payer's bank.",
})
class UssdDetailsField(serializers.DictField):
    pass


@extend_schema_field({
    "type": "object", "additionalProperties": False, "required": ["provider", "phone"],
    "properties": {
        "provider": {"type": "string", "enum": [p.id for p in PROVIDERS],
                     "description": "mtn, vodafone, airteltigo (GHS); mpesa (KES)."},
        "phone": {"type": "string", "maxLength": 32,
                  "description": "The wallet's mobile number, in the provider's country."},
    },
    "description": "For `rail: mobile_money`: the wallet to prompt.",
})
class MobileMoneyDetailsField(serializers.DictField):
    pass


class PayInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    rail = serializers.CharField(required=False, default="card", max_length=24)
    card = CardDetailsField(required=False, default=dict)
    ussd = UssdDetailsField(required=False, default=dict)
    mobile_money = MobileMoneyDetailsField(required=False, default=dict)
    otp = serializers.CharField(
        required=False, max_length=12, allow_null=True, default=None,
        help_text="Answers `status: requires_otp` with `step: otp`: the one-time code (send "
                  "it alone: `{\"otp\": \"123456\"}`).")
    pin = serializers.CharField(
        required=False, max_length=12, allow_null=True, default=None,
        help_text="Answers `status: requires_otp` with `step: pin`: the card's PIN, which "
                  "the processor asked for (`{\"pin\": \"1111\"}`); passed on, never kept "
                  "or logged. With `step: card_pin` send it with `card`, the same card again "
                  "(the processor takes the PIN only with the card; Duro keeps none): "
                  "`{\"pin\": \"3310\", \"card\": {…}}`. The processor may ask for an OTP "
                  "next.")
    saved_card = serializers.CharField(
        required=False, allow_blank=True, max_length=40, default="",
        help_text="Pay with a saved card (`rail: card`, no `card`): its id from the identity "
                  "check's `cards`, with `identityProof`. The email is the proven one.")
    identity_proof = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default="",
        help_text="The `proof` the identity check answered (30 min, this session only).")
    coupon_code = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default="",
        help_text="A promo code, on a session with `allowCoupons` (hydrate's): unknown, "
                  "inactive, expired, used up or of another currency is a 400 naming "
                  "`couponCode` and nothing is charged.")


class PayView(PublicView):
    @extend_schema(summary="Pay a checkout session (public, by token)", auth=[],
                   request=PayInput, responses=PayResult)
    @sensitive_variables("body", "data")
    def post(self, request, token):
        body = PayInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        details = {"card": data["card"], "ussd": data["ussd"],
                   "mobile_money": data["mobile_money"]}.get(data["rail"], {})
        outcome = checkout_pay(token=token, ip=client_ip(request), request=PayRequest(
            email=data["email"], phone=data["phone"], rail=data["rail"], details=details,
            otp=data["otp"], pin=data["pin"], saved_card=data["saved_card"],
            identity_proof=data["identity_proof"], coupon_code=data["coupon_code"]))
        return Response({"data": outcome.as_dict()})


class IdentityAskInput(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="The email to send the code to.")


class IdentityVerifyInput(serializers.Serializer):
    challenge = serializers.CharField(max_length=64,
                                      help_text="The `challenge` the ask answered.")
    code = serializers.CharField(max_length=12, help_text="The 6-digit code from the email.")


def identity_asked_payload(asked) -> dict:
    return {"challenge": asked.challenge, "expiresAt": iso(asked.expires_at),
            "message": asked.message}


def identity_proven_payload(proven) -> dict:
    return {"proof": proven.proof, "expiresAt": iso(proven.expires_at), "email": proven.email,
            "cards": [{"id": c.id, **(card_payload(c) or {})} for c in proven.cards]}


class IdentityAskView(PublicView):
    @extend_schema(summary="Ask for a code to use a saved card (public, by token)", auth=[],
                   request=IdentityAskInput, responses={202: IdentityAskOutput},
                   description="Answers the same for every email (202); the code goes out "
                               "only to an email the merchant knows in this mode. 6 digits, "
                               "10 minutes, 5 tries; at most 3 codes per email an hour and "
                               "`DURO_IDENTITY_ASKS_PER_TOKEN` asks per session an hour "
                               "(429).")
    def post(self, request, token):
        body = IdentityAskInput(data=request.data)
        body.is_valid(raise_exception=True)
        session = self.session_for(token)
        open_for_identity(session)
        if wait := identity_ask_wait(token):
            raise RateLimited(f"Too many code requests; try again in {wait} seconds.",
                              retry_after=wait)
        asked = identity_ask(session=session, email=body.validated_data["email"])
        return Response({"data": identity_asked_payload(asked)}, status=202)


class IdentityVerifyView(PublicView):
    @extend_schema(summary="Check the code and list the saved cards (public, by token)",
                   auth=[], request=IdentityVerifyInput, responses=IdentityVerifyOutput,
                   description="A wrong code is a 400 `invalid_code` (the tries left in the "
                               "message), then `code_locked` after 5; `code_expired` after "
                               "10 minutes.")
    @sensitive_variables("body")
    def post(self, request, token):
        body = IdentityVerifyInput(data=request.data)
        body.is_valid(raise_exception=True)
        session = self.session_for(token)
        open_for_identity(session)
        proven = identity_verify(session=session, challenge=body.validated_data["challenge"],
                                 code=body.validated_data["code"])
        return Response({"data": identity_proven_payload(proven)})


class SimulateInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=SIMULATE_OUTCOMES, help_text=(
        "What the sandbox's bank says: the exact amount arrived (`paid`), half of it "
        "(`underpaid`: refunded, the session reopens), a tenth more (`overpaid`: the session "
        "completes and the excess is refunded), the account expired and then the money "
        "arrived (`late`: refunded), or the payment bounced (`failed`)."))


class SimulateView(PublicView):
    @extend_schema(summary="Simulate the bank's answer to a test session's transfer "
                           "(test tokens only)", auth=[], request=SimulateInput,
                   responses=PayResult)
    def post(self, request, token):
        body = SimulateInput(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = session_simulate(token=token, outcome=body.validated_data["outcome"])
        return Response({"data": outcome.as_dict()})


class StatusView(PublicView):
    @extend_schema(summary="Status of a checkout session (public, by token)", auth=[],
                   responses=StatusOutput)
    def get(self, request, token):
        session = self.session_for(token)
        outcome = outcome_of(session)
        return Response({"data": {"status": session.effective_status,
                                  "reference": session.reference,
                                  "redirectUrl": outcome.redirect_url}})


# --- public: the hosted invoice page's token (in_test_… / in_live_…) --------------------
def invoice_hydrate_payload(invoice: Invoice) -> dict:
    """What the invoice page needs, from one query on the token's store (the appearance
    comes from its cache); never the metadata, never anything secret."""
    sub = invoice.subscription
    plan = sub.plan if sub is not None else None
    period = ({"start": iso(invoice.period_start), "end": iso(invoice.period_end)}
              if invoice.period_start and invoice.period_end else None)
    return {
        "merchant": {"name": invoice.merchant_name},
        "mode": "live" if (invoice.hosted_token or "").startswith("in_live_") else "test",
        "number": invoice.number, "status": invoice_outcome(invoice).status,
        "amount": invoice.amount, "currency": invoice.currency,
        "amountLabel": invoice_amount_label(invoice),
        "description": invoice.description or None,
        "plan": {"id": plan.id, "name": plan.name, "description": plan.description or None,
                 "interval": sub.interval, "intervalCount": sub.interval_count,
                 "trialDays": sub.trial_days,
                 "cadence": format_cadence(sub.interval, sub.interval_count)}
        if plan is not None and sub is not None else None,
        "period": period,
        **rail_choices(enabled_rails(merchant_id=invoice.merchant_id,
                                     currency=invoice.currency, mode=current_mode()),
                       currency=invoice.currency, merchant_id=invoice.merchant_id),
        "appearance": published_appearance(invoice.merchant_id).as_payload(),
    }


class InvoiceHydrateView(PublicView):
    @extend_schema(summary="Hydrate the hosted invoice page (public, by token)", auth=[],
                   responses=InvoiceHydrateOutput)
    def get(self, request, token):
        return Response({"data": invoice_hydrate_payload(invoice_for_token(token))})


class InvoiceStatusView(PublicView):
    @extend_schema(summary="Status of a hosted invoice (public, by token): what the page "
                           "polls", auth=[], responses=InvoicePageResult)
    def get(self, request, token):
        return Response({"data": invoice_outcome(invoice_for_token(token)).as_dict()})


class InvoiceSimulateView(PublicView):
    @extend_schema(summary="Simulate the bank's answer to a test invoice's transfer "
                           "(test tokens only)", auth=[], request=SimulateInput,
                   responses=InvoicePageResult)
    def post(self, request, token):
        body = SimulateInput(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = invoice_simulate(token=token, outcome=body.validated_data["outcome"])
        return Response({"data": outcome.as_dict()})
