"""Thin REST endpoints of webhooks: endpoints (with secret rotation) and events (with resend).

Every query is scoped to the merchant behind the key (``request.user``) and
runs on the store of the key's mode. Answers are built by ``webhooks.payloads``
(an event here is the body its deliveries send); the ``…Output`` serializers
only document them in OpenAPI.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from duro.api.pagination import list_parameters, paginate
from duro.api.views import IDEMPOTENCY_HEADER, DuroAPIView
from duro.errors import Invalid
from webhooks.endpoints import (
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)
from webhooks.events import EVENT_TYPES, event_resend
from webhooks.payloads import delivery_payload, endpoint_payload, event_payload
from webhooks.selectors import endpoint_get, endpoint_list, event_get, event_list
from webhooks.serializers import (
    EndpointDeletedOutput,
    EndpointInput,
    EndpointOutput,
    EndpointWithSecretOutput,
    EventDetailOutput,
    EventOutput,
    ResendOutput,
)


class EndpointListView(DuroAPIView):
    @extend_schema(summary="List webhook endpoints", responses=EndpointOutput(many=True),
                   parameters=list_parameters())
    def get(self, request):
        rows, has_more = paginate(endpoint_list(merchant_id=request.user.id),
                                  request.query_params)
        return Response({"data": [endpoint_payload(e) for e in rows], "has_more": has_more})

    @extend_schema(summary="Create a webhook endpoint (the answer carries its secret, once)",
                   request=EndpointInput, responses={201: EndpointWithSecretOutput},
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        data = EndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_create(merchant_id=request.user.id, **data.validated_data)
        return Response({"data": endpoint_payload(endpoint, with_secret=True)}, status=201)


class EndpointDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve a webhook endpoint", responses=EndpointOutput)
    def get(self, request, pk):
        endpoint = endpoint_get(merchant_id=request.user.id, endpoint_id=pk)
        return Response({"data": endpoint_payload(endpoint)})

    @extend_schema(summary="Update a webhook endpoint", request=EndpointInput(partial=True),
                   responses=EndpointOutput)
    def patch(self, request, pk):
        endpoint = endpoint_get(merchant_id=request.user.id, endpoint_id=pk)
        data = EndpointInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response({"data": endpoint_payload(endpoint)})

    @extend_schema(summary="Delete a webhook endpoint (its pending deliveries go with it)",
                   responses={200: EndpointDeletedOutput})
    def delete(self, request, pk):
        endpoint = endpoint_get(merchant_id=request.user.id, endpoint_id=pk)
        endpoint_delete(endpoint=endpoint)
        return Response({"data": {"id": pk, "deleted": True}})


class EndpointRotateSecretView(DuroAPIView):
    @extend_schema(summary="Rotate the signing secret (the old one stays valid for 24 h)",
                   request=None, responses=EndpointWithSecretOutput,
                   parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        endpoint = endpoint_get(merchant_id=request.user.id, endpoint_id=pk)
        endpoint = endpoint_rotate_secret(endpoint=endpoint)
        return Response({"data": endpoint_payload(endpoint, with_secret=True)})


class EventListView(DuroAPIView):
    @extend_schema(summary="List events", responses=EventOutput(many=True),
                   parameters=list_parameters(
                       OpenApiParameter("type", str, enum=list(EVENT_TYPES), required=False)))
    def get(self, request):
        type_ = request.query_params.get("type") or None
        if type_ is not None and type_ not in EVENT_TYPES:
            raise Invalid("Not an event type Duro sends.", code="invalid_choice", param="type")
        events = event_list(merchant_id=request.user.id, type=type_)
        rows, has_more = paginate(events, request.query_params)
        return Response({"data": [event_payload(e) for e in rows], "has_more": has_more})


class EventDetailView(DuroAPIView):
    @extend_schema(summary="Retrieve an event with its deliveries and attempts",
                   responses=EventDetailOutput)
    def get(self, request, pk):
        event = event_get(merchant_id=request.user.id, event_id=pk, with_deliveries=True)
        return Response({"data": event_payload(event, deliveries=list(event.deliveries.all()))})


class EventResendView(DuroAPIView):
    @extend_schema(
        summary="Resend an event",
        description="Creates a fresh delivery (same event id, new attempt history) for "
                    "every endpoint that is enabled and subscribed to the event's type now.",
        request=None, responses={202: ResendOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        event = event_get(merchant_id=request.user.id, event_id=pk)
        deliveries = event_resend(event=event)
        return Response({"data": {"eventId": event.id,
                                  "deliveries": [delivery_payload(d) for d in deliveries]}},
                        status=202)
