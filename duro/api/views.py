"""The base API view (error envelope, idempotent POSTs) and the core endpoints."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from duro.api.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from duro.api.schema import SchemaOnly
from duro.errors import Invalid, NotFound
from duro.models import Merchant
from duro.origins import checkout_origins_set
from duro.tax import VAT_RATE_PATTERN, TaxDetails, tax_details_set, tax_details_validate

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    OpenApiParameter.HEADER, required=False,
    description="Replays the first response for the same key and body (kept ≥ 24 h).",
)


class BaseAPIView(APIView):
    """Every API view, public ones included: text no store can hold never reaches a query.

    A NUL in a path id is a 404 (no object has such an id); a NUL in a query
    parameter is a 400 naming it (PostgreSQL refuses NUL in text outright), and
    so is a parameter given empty (``?status=``): leave it out to not filter.
    """

    def initial(self, request, *args, **kwargs):
        if any("\x00" in str(value) for value in kwargs.values()):
            raise NotFound("No such resource.")
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise Invalid("Query parameters must not contain NUL characters.",
                              param=None if "\x00" in name else name)
            if name and not all(values):
                raise Invalid("Give this parameter a value, or leave it out.", param=name)
        super().initial(request, *args, **kwargs)


class DuroAPIView(BaseAPIView):
    """Every authenticated endpoint derives from this: POSTs honour ``Idempotency-Key``."""

    _idempotency_record = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key is not None and request.auth is not None:
            self._idempotency_record = idempotency_claim(
                merchant=request.user, mode=request.mode, key=key,
                fingerprint=request_fingerprint(request),
            )

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            response = HttpResponse(exc.body, status=exc.status, content_type="application/json")
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = self._idempotency_record
        if record is not None:
            self._idempotency_record = None
            try:
                response.render()
                idempotency_complete(record, status=response.status_code, body=response.content)
            except Exception:
                idempotency_release(record)
                raise
        return response


ALLOWED_ORIGINS_HELP = (
    "The origins (`scheme://host[:port]`, no path, no wildcard; at most 20) that may frame "
    "the hosted page with the inline SDK, in this key's mode. Live accepts https only. Test "
    "mode also allows http://localhost:* and http://127.0.0.1:*, which are not listed here. "
    "Empty: the page cannot be framed (in live mode).")


class CheckoutSettingsOutput(SchemaOnly, serializers.Serializer):
    # Documents merchant_payload()["checkout"].
    allowed_origins = serializers.ListField(child=serializers.CharField(),
                                            help_text=ALLOWED_ORIGINS_HELP)


class CheckoutSettingsInput(serializers.Serializer):
    allowed_origins = serializers.ListField(child=serializers.CharField(), max_length=20,
                                            required=False, help_text=ALLOWED_ORIGINS_HELP)


TAX_HELP = {
    "legal_name": "The seller's legal name its invoices print (empty: the merchant's name).",
    "address": "The seller's address its invoices print.",
    "tax_id": "The seller's tax id (TIN, VAT number) its invoices print.",
    "vat_rate": "VAT in percent, 0–100 with at most 2 decimals, as a string (\"7.5\"); "
                "every new invoice adds it on top of the price as its own line, rounded "
                "half-up. null: no VAT.",
}


class TaxOutput(SchemaOnly, serializers.Serializer):
    # Documents merchant_payload()["tax"].
    legal_name = serializers.CharField(help_text=TAX_HELP["legal_name"])
    address = serializers.CharField(help_text=TAX_HELP["address"])
    tax_id = serializers.CharField(help_text=TAX_HELP["tax_id"])
    vat_rate = serializers.CharField(allow_null=True, help_text=TAX_HELP["vat_rate"])


class TaxInput(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                       help_text=TAX_HELP["legal_name"])
    address = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                    help_text=TAX_HELP["address"])
    tax_id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                   help_text=TAX_HELP["tax_id"])
    vat_rate = serializers.RegexField(VAT_RATE_PATTERN, required=False, allow_null=True,
                                      help_text=TAX_HELP["vat_rate"])


MERCHANT_OUTPUT = inline_serializer("Merchant", {
    "id": serializers.CharField(), "name": serializers.CharField(),
    "mode": serializers.ChoiceField(["test", "live"]),
    "supportEmail": serializers.CharField(), "timezone": serializers.CharField(),
    "defaultCurrency": serializers.CharField(), "checkout": CheckoutSettingsOutput(),
    "tax": TaxOutput(),
})


class MerchantInput(serializers.Serializer):
    checkout = CheckoutSettingsInput(required=False)
    tax = TaxInput(required=False)


def _tax_of(merchant) -> TaxDetails:
    return TaxDetails(legal_name=merchant.legal_name, address=merchant.address,
                      tax_id=merchant.tax_id, vat_rate=merchant.vat_rate)


def merchant_payload(merchant, *, mode: str) -> dict:
    return {
        "id": merchant.id,
        "name": merchant.name,
        "mode": mode,
        "support_email": merchant.support_email,
        "timezone": merchant.timezone,
        "default_currency": merchant.default_currency,
        "checkout": {"allowed_origins": list((merchant.checkout_origins or {}).get(mode) or [])},
        "tax": _tax_of(merchant).as_payload(),
    }


class MerchantView(DuroAPIView):
    """Who am I: the merchant behind the key and the mode it sets; and the settings a key
    may change (the hosted page's allowed framing origins of its mode; the tax details
    every new invoice prints, in both modes)."""

    @extend_schema(summary="The merchant behind this key", responses=MERCHANT_OUTPUT)
    def get(self, request):
        return Response({"data": merchant_payload(request.user, mode=request.mode)})

    @extend_schema(summary="Change the merchant's settings of this key's mode",
                   request=MerchantInput, responses=MERCHANT_OUTPUT)
    def patch(self, request):
        body = request.data
        if not isinstance(body, dict):
            raise Invalid("Send a JSON object.")
        for name in body:
            if name not in ("checkout", "tax"):
                raise Invalid("Only checkout and tax settings can be changed with a key.",
                              param=name)
        tax = None
        if "tax" in body:  # validated in full before anything is stored
            changes = body["tax"]
            if not isinstance(changes, dict):
                raise Invalid("tax must be an object.", param="tax")
            params = {"legal_name": "tax.legalName", "address": "tax.address",
                      "tax_id": "tax.taxId", "vat_rate": "tax.vatRate"}
            for name in changes:
                if name not in params:
                    raise Invalid("Unknown tax setting.", param=f"tax.{name}")
            tax = tax_details_validate(current=_tax_of(request.user), changes=changes,
                                       params=params)
        if "checkout" in body:
            checkout = body["checkout"]
            if not isinstance(checkout, dict):  # null too: the schema says an object
                raise Invalid("checkout must be an object.", param="checkout")
            for name in checkout:
                if name != "allowed_origins":
                    raise Invalid("Unknown checkout setting.", param=f"checkout.{name}")
            if "allowed_origins" in checkout:
                checkout_origins_set(merchant_id=request.user.id, mode=request.mode,
                                     origins=checkout["allowed_origins"])
        if tax is not None:
            tax_details_set(merchant_id=request.user.id, details=tax)
        merchant = Merchant.objects.get(pk=request.user.id)
        return Response({"data": merchant_payload(merchant, mode=request.mode)})
