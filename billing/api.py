"""Thin REST endpoints of billing: plans (customers, subscriptions, invoices follow)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing.models import Plan
from billing.plans import plan_create, plan_update
from billing.serializers import PlanInput, PlanOutput
from duro.api.errors import NotFoundError
from duro.api.pagination import paginate
from duro.api.views import IDEMPOTENCY_HEADER, DuroAPIView


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

