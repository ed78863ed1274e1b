"""Thin REST endpoints of billing: plans, coupons, customers, subscriptions (cancel, pause and
resume, test clock),
invoices, payments and refunds.

Answers are built by ``billing.payloads``, the representation webhook events
carry too; the ``…Output`` serializers only document them in OpenAPI.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from billing.changes import change_preview_of, preview_payload, subscription_change
from billing.coupons import coupon_create, coupon_deactivate
from billing.models import Coupon, Customer, Invoice, Plan, Refund, Subscription
from billing.pauses import subscription_pause
from billing.payloads import (
    coupon_payload,
    customer_payload,
    invoice_payload,
    payment_payload,
    plan_payload,
    refund_payload,
    subscription_payload,
)
from billing.plans import plan_create, plan_update
from billing.portal import portal_link_create
from billing.refunds import refund_create
from billing.selectors import (
    invoice_get,
    invoice_list,
    payment_get,
    payment_list,
    refund_get,
    refund_list,
    subscription_get,
    subscription_list,
)
from billing.serializers import (
    PAYMENT_STATUSES,
    ChangePreviewOutput,
    CouponInput,
    CouponOutput,
    CustomerOutput,
    InvoiceFilters,
    InvoiceOutput,
    PaymentFilters,
    PaymentOutput,
    PlanInput,
    PlanOutput,
    PortalSessionOutput,
    RefundFilters,
    RefundInput,
    RefundOutput,
    SubscriptionAdvanceInput,
    SubscriptionCancelInput,
    SubscriptionChangeInput,
    SubscriptionFilters,
    SubscriptionOutput,
    SubscriptionPauseInput,
)
from billing.subscriptions import (
    MAX_CLOCK_RENEWALS,
    customer_set_blacklisted,
    subscription_advance,
    subscription_cancel,
    subscription_resume,
)
from duro.api.pagination import list_parameters, paginate
from duro.api.views import IDEMPOTENCY_HEADER, DuroAPIView
from duro.errors import Invalid, NotFound
from duro.timestamps import iso


def get_owned(queryset, merchant, pk: str, label: str):
    obj = queryset.filter(merchant_id=merchant.id, pk=pk).first()
    if obj is None:
        raise NotFound(f"No such {label}: {pk!r}.", param="id")
    return obj


class PlanListView(DuroAPIView):
    @extend_schema(summary="List plans", responses=PlanOutput(many=True),
                   parameters=list_parameters())
    def get(self, request):
        rows, has_more = paginate(Plan.objects.filter(merchant_id=request.user.id),
                                  request.query_params)
        return Response({"data": [plan_payload(p) for p in rows], "has_more": has_more})

    @extend_schema(summary="Create a plan", request=PlanInput, responses={201: PlanOutput},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = PlanInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.setdefault("currency", request.user.default_currency)
        plan = plan_create(merchant_id=request.user.id, **fields)
        return Response({"data": plan_payload(plan)}, status=201)


class PlanDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a plan", responses=PlanOutput)
    def get(self, request, pk):
        plan = get_owned(Plan.objects, request.user, pk, "plan")
        return Response({"data": plan_payload(plan)})

    @extend_schema(summary="Update a plan", request=PlanInput(partial=True), responses=PlanOutput)
    def patch(self, request, pk):
        plan = get_owned(Plan.objects, request.user, pk, "plan")
        data = PlanInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = plan_update(plan=plan, **data.validated_data)
        return Response({"data": plan_payload(plan)})


class CouponListView(DuroAPIView):
    @extend_schema(summary="List coupons", responses=CouponOutput(many=True),
                   parameters=list_parameters())
    def get(self, request):
        rows, has_more = paginate(Coupon.objects.filter(merchant_id=request.user.id),
                                  request.query_params)
        return Response({"data": [coupon_payload(c) for c in rows], "has_more": has_more})

    @extend_schema(summary="Create a coupon", request=CouponInput,
                   responses={201: CouponOutput}, parameters=[IDEMPOTENCY_HEADER],
                   description="Exactly one of `percentOff` (1–100) and `amountOff` (with "
                               "`currency`); `durationInPeriods` only with `repeating`. A "
                               "code the merchant has already (whatever its case) is a 400 "
                               "`coupon_code_taken` naming `code`.")
    def post(self, request):
        data = CouponInput(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = coupon_create(merchant_id=request.user.id, **data.validated_data)
        return Response({"data": coupon_payload(coupon)}, status=201)


class CouponDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a coupon", responses=CouponOutput)
    def get(self, request, pk):
        coupon = get_owned(Coupon.objects, request.user, pk, "coupon")
        return Response({"data": coupon_payload(coupon)})

    @extend_schema(summary="Deactivate a coupon (subscriptions that have it keep it)",
                   responses={200: CouponOutput})
    def delete(self, request, pk):
        coupon = coupon_deactivate(merchant_id=request.user.id, coupon_id=pk)
        return Response({"data": coupon_payload(coupon)})


class CustomerListView(DuroAPIView):
    @extend_schema(summary="List customers", parameters=[
        *list_parameters(OpenApiParameter("email", str), OpenApiParameter("blacklisted", bool))],
        responses=CustomerOutput(many=True))
    def get(self, request):
        rows = Customer.objects.prefetch_related("cards").filter(merchant_id=request.user.id)
        if email := request.query_params.get("email"):
            rows = rows.filter(email=email.strip().lower())
        if flag := request.query_params.get("blacklisted"):
            if flag.lower() not in ("true", "false"):
                raise Invalid("Must be true or false.", param="blacklisted")
            rows = rows.filter(blacklisted=flag.lower() == "true")
        page, has_more = paginate(rows, request.query_params)
        return Response({"data": [customer_payload(c, cards=list(c.cards.all())) for c in page],
                         "has_more": has_more})


class CustomerDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a customer", responses=CustomerOutput)
    def get(self, request, pk):
        customer = get_owned(Customer.objects.prefetch_related("cards"), request.user, pk,
                             "customer")
        return Response({"data": customer_payload(customer, cards=list(customer.cards.all()))})


class CustomerBlacklistView(DuroAPIView):
    @extend_schema(summary="Blacklist a customer: their pays are refused before any charge",
                   request=None, responses=CustomerOutput, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        customer = get_owned(Customer.objects, request.user, pk, "customer")
        customer = customer_set_blacklisted(customer=customer, blacklisted=True)
        return Response({"data": customer_payload(customer, cards=list(customer.cards.all()))})

    @extend_schema(summary="Take a customer off the blacklist", responses={200: CustomerOutput})
    def delete(self, request, pk):
        customer = get_owned(Customer.objects, request.user, pk, "customer")
        customer = customer_set_blacklisted(customer=customer, blacklisted=False)
        return Response({"data": customer_payload(customer, cards=list(customer.cards.all()))})


class CustomerPortalSessionView(DuroAPIView):
    @extend_schema(summary="Create a customer-portal link (single use)", request=None,
                   responses={201: PortalSessionOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        url, expires_at = portal_link_create(merchant_id=request.user.id, customer_id=pk,
                                             now=timezone.now())
        return Response({"data": {"url": url, "expiresAt": iso(expires_at)}}, status=201)


def _filters(serializer_class, query_params, names: dict[str, str]) -> dict:
    """Validate list filters given in camelCase (``customerId``) as snake_case fields."""
    raw = {field: query_params[param] for param, field in names.items() if query_params.get(param)}
    filters = serializer_class(data=raw)
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


def _list_params(statuses, *names: str) -> list[OpenApiParameter]:
    return list_parameters(
        OpenApiParameter("status", str, required=False, enum=[value for value, _ in statuses]),
        *(OpenApiParameter(n, str, required=False) for n in names))


class SubscriptionListView(DuroAPIView):
    @extend_schema(summary="List subscriptions", responses=SubscriptionOutput(many=True),
                   parameters=_list_params(Subscription.Status.choices, "customerId"))
    def get(self, request):
        filters = _filters(SubscriptionFilters, request.query_params,
                           {"status": "status", "customerId": "customer_id"})
        rows, has_more = paginate(subscription_list(merchant_id=request.user.id, **filters),
                                  request.query_params)
        return Response({"data": [subscription_payload(s) for s in rows], "has_more": has_more})


class SubscriptionDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a subscription", responses=SubscriptionOutput)
    def get(self, request, pk):
        sub = subscription_get(merchant_id=request.user.id, subscription_id=pk)
        return Response({"data": subscription_payload(sub)})


class SubscriptionCancelView(DuroAPIView):
    @extend_schema(summary="Cancel a subscription (at period end by default)",
                   request=SubscriptionCancelInput, responses=SubscriptionOutput,
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        data = SubscriptionCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        sub = subscription_cancel(merchant_id=request.user.id, subscription_id=pk,
                                  at_period_end=data.validated_data["at_period_end"],
                                  now=timezone.now())
        return Response({"data": subscription_payload(sub)})


CHANGE_DESCRIPTION = (
    "Upgrade (`at` defaults to `now`): charges (new − old price) × the unused share of the "
    "paid period on the saved card, rounded once half-up, and keeps the billing day; a "
    "change of interval charges the new price less the old plan's unused credit and starts "
    "a new anchor. Downgrade (`at` defaults to `period_end`): `pendingPlanId` waits for the "
    "period's end; `at: now` switches at once and carries the credit to the next invoices "
    "(never refunded). A declined charge is 402 `change_declined` and leaves the old plan; "
    "while a change is being charged another is 409 `change_in_progress`, and once the "
    "period has ended, until its renewal is recorded, 409 `renewal_in_progress`. In test mode the "
    "subscription's clock is now. Event: `subscription_updated`.")


class SubscriptionChangePreviewView(DuroAPIView):
    @extend_schema(summary="Preview a plan change (nothing changes)",
                   description=CHANGE_DESCRIPTION, responses=ChangePreviewOutput,
                   parameters=[OpenApiParameter("planId", str, required=True),
                               OpenApiParameter("at", str, enum=["now", "period_end"])])
    def get(self, request, pk):
        plan_id = request.query_params.get("planId") or ""
        if not plan_id:
            raise Invalid("planId is required.", param="planId")
        change = change_preview_of(merchant_id=request.user.id, subscription_id=pk,
                                   plan_id=plan_id[:32], at=request.query_params.get("at"),
                                   now=timezone.now())
        return Response({"data": preview_payload(change)})


class SubscriptionChangeView(DuroAPIView):
    @extend_schema(summary="Change a subscription's plan", description=CHANGE_DESCRIPTION,
                   request=SubscriptionChangeInput, responses=SubscriptionOutput,
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        data = SubscriptionChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        sub = subscription_change(merchant_id=request.user.id, subscription_id=pk,
                                  plan_id=data.validated_data["plan_id"],
                                  at=data.validated_data["at"], now=timezone.now())
        return Response({"data": subscription_payload(sub)})


PAUSE_DESCRIPTION = (
    "Effective at once (in test mode, at the subscription's test clock): status `paused`, no "
    "credit for the paid time left, nothing charged and no dunning while paused. A `past_due` "
    "subscription's open renewal invoice is voided. With `resumesAt` it resumes by itself "
    "then, like `/resume`. Event `subscription_paused`.")
PAUSE_REFUSED = ("`invalid_resumes_at` (`param: \"resumesAt\"`): not in the future, or more "
                 "than five years ahead.")
PAUSE_CONFLICT = ("`subscription_not_pausable` (`param: \"id\"`): only `trialing`, `active` "
                  "and `past_due` subscriptions pause; `renewal_in_progress`: a renewal charge "
                  "is in flight, pause again in a minute.")
RESUME_DESCRIPTION = (
    "A new period starts at once (a new billing day, as a first pay) and is charged now on "
    "the saved card (without one, the invoice's link is emailed), like a renewal: `active` "
    "when paid, `past_due` with dunning when declined. Event `subscription_resumed`, then "
    "the payment's events.")


class SubscriptionPauseView(DuroAPIView):
    @extend_schema(summary="Pause a subscription", description=PAUSE_DESCRIPTION,
                   request=SubscriptionPauseInput,
                   responses={200: SubscriptionOutput,
                              400: OpenApiResponse(description=PAUSE_REFUSED),
                              409: OpenApiResponse(description=PAUSE_CONFLICT)},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        data = SubscriptionPauseInput(data=request.data)
        data.is_valid(raise_exception=True)
        sub = subscription_pause(merchant_id=request.user.id, subscription_id=pk,
                                 resumes_at=data.validated_data["resumes_at"],
                                 now=timezone.now())
        return Response({"data": subscription_payload(sub)})


class SubscriptionResumeView(DuroAPIView):
    @extend_schema(summary="Resume a paused subscription", description=RESUME_DESCRIPTION,
                   request=None,
                   responses={200: SubscriptionOutput, 409: OpenApiResponse(
                       description="`subscription_not_paused` (`param: \"id\"`).")},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        sub = subscription_resume(merchant_id=request.user.id, subscription_id=pk,
                                  now=timezone.now())
        return Response({"data": subscription_payload(sub)})


CLOCK_DESCRIPTION = (
    "Runs every renewal, dunning retry, trial notice and cancellation due up to `to`, each "
    "at its own time, and answers when all have run. Test mode only; the clock never moves "
    f"backward. A `to` more than {MAX_CLOCK_RENEWALS:,} renewals ahead is refused before "
    "anything runs (400 `clock_too_far`, `param: \"to\"`, naming the furthest time allowed): "
    "advance in steps. If a step cannot run, the clock stops at it and the answer is 409 "
    "`clock_interrupted`, naming that time: advance again to continue.")
CLOCK_REFUSED = ("`param: \"to\"`: `clock_backward` (before the clock), `clock_too_far` (more "
                 f"than {MAX_CLOCK_RENEWALS:,} renewals ahead); `test_mode_only` with a live key.")
CLOCK_INTERRUPTED = ("`clock_interrupted`: the clock stopped at the time the message names; "
                     "everything before it ran.")


class SubscriptionAdvanceView(DuroAPIView):
    @extend_schema(
        summary="Test clock: move a test subscription's time forward",
        description=CLOCK_DESCRIPTION, request=SubscriptionAdvanceInput,
        responses={200: SubscriptionOutput,
                   400: OpenApiResponse(description=CLOCK_REFUSED),
                   409: OpenApiResponse(description=CLOCK_INTERRUPTED)},
        parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        data = SubscriptionAdvanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        sub = subscription_advance(merchant_id=request.user.id, subscription_id=pk,
                                   to=data.validated_data["to"], now=timezone.now())
        return Response({"data": subscription_payload(sub)})


def _invoice(invoice) -> dict:
    # The selectors prefetch the payments in the order the representation lists them.
    return invoice_payload(invoice, list(invoice.payments.all()))


class InvoiceListView(DuroAPIView):
    @extend_schema(summary="List invoices", responses=InvoiceOutput(many=True),
                   parameters=_list_params(Invoice.Status.choices, "subscriptionId", "customerId"))
    def get(self, request):
        filters = _filters(InvoiceFilters, request.query_params,
                           {"status": "status", "subscriptionId": "subscription_id",
                            "customerId": "customer_id"})
        rows, has_more = paginate(invoice_list(merchant_id=request.user.id, **filters),
                                  request.query_params)
        return Response({"data": [_invoice(i) for i in rows], "has_more": has_more})


class InvoiceDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve an invoice with its payments", responses=InvoiceOutput)
    def get(self, request, pk):
        invoice = invoice_get(merchant_id=request.user.id, invoice_id=pk)
        return Response({"data": _invoice(invoice)})


class PaymentListView(DuroAPIView):
    @extend_schema(summary="List payments", responses=PaymentOutput(many=True),
                   parameters=_list_params([(s, s) for s in PAYMENT_STATUSES], "customerId",
                                           "invoiceId", "sessionId"))
    def get(self, request):
        filters = _filters(PaymentFilters, request.query_params,
                           {"status": "status", "customerId": "customer_id",
                            "invoiceId": "invoice_id", "sessionId": "session_id"})
        rows, has_more = paginate(payment_list(merchant_id=request.user.id, **filters),
                                  request.query_params)
        return Response({"data": [payment_payload(p) for p in rows], "has_more": has_more})


class PaymentDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a payment with its refunds", responses=PaymentOutput)
    def get(self, request, pk):
        payment = payment_get(merchant_id=request.user.id, payment_id=pk)
        return Response({"data": payment_payload(payment)})


class RefundListView(DuroAPIView):
    @extend_schema(summary="List refunds", responses=RefundOutput(many=True),
                   parameters=_list_params(Refund.Status.choices, "paymentId"))
    def get(self, request):
        filters = _filters(RefundFilters, request.query_params,
                           {"status": "status", "paymentId": "payment_id"})
        rows, has_more = paginate(refund_list(merchant_id=request.user.id, **filters),
                                  request.query_params)
        return Response({"data": [refund_payload(r) for r in rows], "has_more": has_more})

    @extend_schema(summary="Refund a payment (all that is left, or part of it)",
                   description="Only a succeeded payment can be refunded, and its refunds "
                               "never add up to more than it (a 400 naming `amount`). The "
                               "answer is the refund as the rail left it: `succeeded`, "
                               "`failed`, or `pending` when the rail answers later.",
                   request=RefundInput, responses={201: RefundOutput},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        refund = refund_create(merchant_id=request.user.id, **data.validated_data)
        return Response({"data": refund_payload(refund)}, status=201)


class RefundDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a refund", responses=RefundOutput)
    def get(self, request, pk):
        refund = refund_get(merchant_id=request.user.id, refund_id=pk)
        return Response({"data": refund_payload(refund)})
