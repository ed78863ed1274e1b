"""Thin REST endpoints of billing: plans and customers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from billing.customers import customer_set_blacklisted
from billing.models import Customer, Plan
from billing.payloads import customer_payload
from billing.plans import plan_create, plan_update
from billing.serializers import PlanInput, PlanOutput
from duro.api.errors import NotFoundError
from duro.api.pagination import paginate
from duro.api.views import IDEMPOTENCY_HEADER, DuroAPIView

CustomerEnvelope = inline_serializer("CustomerEnvelope", {"data": serializers.JSONField()})


def get_owned(queryset, merchant, pk: str, label: str):
    obj = queryset.filter(merchant_id=merchant.id, pk=pk).first()
    if obj is None:
        raise NotFoundError(f"No such {label}: {pk!r}.", param="id")
    return obj


class PlanListView(DuroAPIView):
    @extend_schema(summary="List plans", responses=PlanOutput(many=True))
    def get(self, request):
        rows, has_more = paginate(Plan.objects.filter(merchant_id=request.user.id),
                                  request.query_params)
        return Response({"data": PlanOutput(rows, many=True).data, "has_more": has_more})

    @extend_schema(summary="Create a plan", request=PlanInput, responses={201: PlanOutput},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = PlanInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.setdefault("currency", request.user.default_currency)
        plan = plan_create(merchant_id=request.user.id, **fields)
        return Response({"data": PlanOutput(plan).data}, status=201)


class PlanDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a plan", responses=PlanOutput)
    def get(self, request, pk):
        plan = get_owned(Plan.objects, request.user, pk, "plan")
        return Response({"data": PlanOutput(plan).data})

    @extend_schema(summary="Update a plan", request=PlanInput(partial=True), responses=PlanOutput)
    def patch(self, request, pk):
        plan = get_owned(Plan.objects, request.user, pk, "plan")
        data = PlanInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = plan_update(plan=plan, **data.validated_data)
        return Response({"data": PlanOutput(plan).data})



class CustomerListView(DuroAPIView):
    @extend_schema(summary="List customers", parameters=[
        OpenApiParameter("email", str), OpenApiParameter("blacklisted", bool)],
        responses=CustomerEnvelope)
    def get(self, request):
        rows = Customer.objects.prefetch_related("cards").filter(merchant_id=request.user.id)
        if email := request.query_params.get("email"):
            rows = rows.filter(email=email.strip().lower())
        if (flag := request.query_params.get("blacklisted")) is not None:
            rows = rows.filter(blacklisted=flag.lower() in ("1", "true", "yes"))
        page, has_more = paginate(rows, request.query_params)
        return Response({"data": [customer_payload(c) for c in page], "has_more": has_more})


class CustomerDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a customer", responses=CustomerEnvelope)
    def get(self, request, pk):
        customer = get_owned(Customer.objects.prefetch_related("cards"), request.user, pk,
                             "customer")
        return Response({"data": customer_payload(customer)})


class CustomerBlacklistView(DuroAPIView):
    @extend_schema(summary="Blacklist a customer: their pays are refused before any charge",
                   request=None, responses=CustomerEnvelope, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        customer = get_owned(Customer.objects, request.user, pk, "customer")
        customer = customer_set_blacklisted(customer=customer, blacklisted=True)
        return Response({"data": customer_payload(customer)})

    @extend_schema(summary="Take a customer off the blacklist", responses=CustomerEnvelope)
    def delete(self, request, pk):
        customer = get_owned(Customer.objects, request.user, pk, "customer")
        customer = customer_set_blacklisted(customer=customer, blacklisted=False)
        return Response({"data": customer_payload(customer)})
