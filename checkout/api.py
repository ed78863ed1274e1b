"""Checkout REST endpoints: sessions for merchants (key) and the public trio (token).

The public endpoints take no key: the mode comes from the token prefix, and
an unknown prefix is a 404 that touches no store.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appearance.selectors import published_appearance
from billing.rails import enabled_rails
from checkout.models import CheckoutSession
from checkout.pay import PayRejected, PayRequest, outcome_of, pay_session
from checkout.payloads import amount_label, iso, plan_summary, session_payload
from checkout.ratelimit import client_ip, pay_allowed
from checkout.serializers import SessionInput
from checkout.services import session_by_token, session_create, session_expire
from checkout.tokens import mode_of_token
from duro.api.errors import ApiError, NotFoundError, camel
from duro.api.pagination import paginate
from duro.api.views import IDEMPOTENCY_HEADER, DuroAPIView
from duro.modes import set_mode

SessionEnvelope = inline_serializer("CheckoutSessionEnvelope", {"data": serializers.JSONField()})


class SessionListView(DuroAPIView):
    @extend_schema(summary="List checkout sessions", parameters=[
        OpenApiParameter("status", str), OpenApiParameter("reference", str),
        OpenApiParameter("limit", int), OpenApiParameter("startingAfter", str)],
        responses=SessionEnvelope)
    def get(self, request):
        rows = CheckoutSession.objects.select_related("payment").filter(
            merchant_id=request.user.id)
        if status := request.query_params.get("status"):
            if status not in CheckoutSession.Status.values:
                raise ApiError("Unknown status.", param="status")
            now = timezone.now()
            if status == CheckoutSession.Status.OPEN:
                rows = rows.filter(status=status, expires_at__gt=now)
            elif status == CheckoutSession.Status.EXPIRED:
                rows = rows.filter(Q(status=status) | Q(status="open", expires_at__lte=now))
            else:
                rows = rows.filter(status=status)
        if reference := request.query_params.get("reference"):
            rows = rows.filter(reference=reference)
        page, has_more = paginate(rows, request.query_params)
        return Response({"data": [session_payload(s) for s in page], "has_more": has_more})

    @extend_schema(summary="Create a checkout session", request=SessionInput,
                   responses={201: SessionEnvelope}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = SessionInput(data=request.data, context={"mode": request.mode})
        data.is_valid(raise_exception=True)
        session = session_create(merchant=request.user, **data.validated_data)
        return Response({"data": session_payload(session)}, status=201)


def _owned_session(request, pk: str) -> CheckoutSession:
    session = CheckoutSession.objects.select_related("payment").filter(
        merchant_id=request.user.id, pk=pk).first()
    if session is None:
        raise NotFoundError(f"No such checkout session: {pk!r}.", param="id")
    return session


class SessionDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a checkout session (the verify call)",
                   responses=SessionEnvelope)
    def get(self, request, pk):
        return Response({"data": session_payload(_owned_session(request, pk))})


class SessionExpireView(DuroAPIView):
    @extend_schema(summary="Expire an open checkout session", request=None,
                   responses=SessionEnvelope, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        session = session_expire(session=_owned_session(request, pk))
        return Response({"data": session_payload(session)})


# --- public: the token is the credential ---------------------------------------------
class PublicView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def session_for(self, token: str) -> CheckoutSession:
        mode = mode_of_token(token)
        if mode is None:
            raise NotFoundError("No such checkout session.")
        set_mode(mode)
        session = session_by_token(token)
        if session is None:
            raise NotFoundError("No such checkout session.")
        return session


def hydrate_payload(session: CheckoutSession) -> dict:
    """What the page needs; never the metadata, never anything secret.

    The appearance tokens come from the published-appearance cache: no core query.
    """
    return {
        "merchant": {"name": session.merchant_name},
        "mode": "live" if session.token.startswith("cs_live_") else "test",
        "reference": session.reference, "status": session.effective_status,
        "amount": session.amount, "currency": session.currency,
        "amountLabel": amount_label(session), "description": session.description or None,
        "plan": plan_summary(session),
        "prefill": {"email": session.customer_email or None,
                    "phone": session.customer_phone or None},
        "rails": [{"id": r.identifier, "label": r.label} for r in enabled_rails()],
        "expiresAt": iso(session.expires_at), "cancelUrl": session.cancel_url or None,
        "appearance": published_appearance(session.merchant_id).as_payload(),
    }


class HydrateView(PublicView):
    @extend_schema(summary="Hydrate the hosted page (public, by token)", auth=[],
                   responses=SessionEnvelope)
    def get(self, request, token):
        return Response({"data": hydrate_payload(self.session_for(token))})


class PayInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    rail = serializers.CharField(required=False, default="card", max_length=24)
    card = serializers.DictField(required=False, default=dict)
    otp = serializers.CharField(required=False, max_length=12, allow_null=True, default=None)


class PayView(PublicView):
    @extend_schema(summary="Pay a checkout session (public, by token)", auth=[],
                   request=PayInput, responses=SessionEnvelope)
    @sensitive_variables("body", "data")
    def post(self, request, token):
        session = self.session_for(token)
        if not pay_allowed(token=token, ip=client_ip(request)):
            return Response({"error": {"type": "rate_limit_error", "code": "rate_limited",
                                       "message": "Too many payment attempts; wait a while.",
                                       "param": None}}, status=429)
        body = PayInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            outcome = pay_session(session_id=session.id, request=PayRequest(
                email=data["email"], phone=data["phone"], rail=data["rail"],
                card=data["card"], otp=data["otp"]))
        except PayRejected as exc:
            type_ = "payment_error" if exc.code == "customer_blocked" else "invalid_request_error"
            return Response({"error": {"type": type_, "code": exc.code, "message": exc.message,
                                       "param": camel(exc.param)}}, status=exc.status)
        return Response({"data": outcome.as_dict()})


class StatusView(PublicView):
    @extend_schema(summary="Status of a checkout session (public, by token)", auth=[],
                   responses=SessionEnvelope)
    def get(self, request, token):
        session = self.session_for(token)
        outcome = outcome_of(session)
        return Response({"data": {"status": session.effective_status,
                                  "reference": session.reference,
                                  "redirectUrl": outcome.redirect_url}})
