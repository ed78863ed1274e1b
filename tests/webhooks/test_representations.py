"""One representation per webhooks object: the API answers with it, a delivery sends the
event's, and the OpenAPI document describes exactly it."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from duro.modes import mode_context
from tests.openapi import assert_documented
from webhooks.delivery import event_body
from webhooks.events import event_emit
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

pytestmark = pytest.mark.django_db(databases="__all__")


def _data(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()["data"]


def test_endpoint_answers_are_what_the_document_says(api):
    body = {"url": "http://localhost:9000/hooks", "events": ["payment_success"]}
    created = _data(api.post("/v1/webhook-endpoints", body, format="json"), 201)
    assert_documented("EndpointWithSecretOutput", created)
    with mode_context("test"):
        WebhookEndpoint.objects.filter(pk=created["id"]).update(
            failing_since=timezone.now(), disabled_reason="410 Gone")
    path = f"/v1/webhook-endpoints/{created['id']}"
    assert_documented("EndpointOutput", _data(api.get(path)))
    assert_documented("EndpointOutput", _data(api.patch(path, {"description": "orders"},
                                                        format="json")))
    [listed] = _data(api.get("/v1/webhook-endpoints"))
    assert_documented("EndpointOutput", listed)
    assert listed["failingSince"].endswith("Z") and listed["disabledReason"] == "410 Gone"
    assert_documented("EndpointWithSecretOutput", _data(api.post(f"{path}/rotate-secret")))
    assert_documented("EndpointDeletedOutput", _data(api.delete(path)))


def test_the_delivery_body_is_the_event_the_api_answers(api, acme):
    endpoint = _data(api.post("/v1/webhook-endpoints", {
        "url": "http://localhost:9000/hooks", "events": ["*"]}, format="json"), 201)
    with mode_context("test"), transaction.atomic(using="test"):
        event = event_emit(merchant_id=acme.merchant.id, type="payment_success",
                           data={"payment": {"id": "pay_1"}, "metadata": {"order_id": "A-1"}})
        delivery = Delivery.objects.get(event=event)
        DeliveryAttempt.objects.create(delivery=delivery, status_code=500, duration_ms=12)
        DeliveryAttempt.objects.create(delivery=delivery, error="connection refused")
        Delivery.objects.filter(pk=delivery.pk).update(attempt_count=2, last_status_code=500)

    [listed] = _data(api.get("/v1/events"))
    assert_documented("EventOutput", listed)
    with mode_context("test"):
        sent = json.loads(event_body(Event.objects.get(pk=event.pk)))
    assert sent == listed
    assert sent["data"]["metadata"] == {"order_id": "A-1"}  # the merchant's keys, untouched

    detail = _data(api.get(f"/v1/events/{event.id}"))
    assert_documented("EventDetailOutput", detail)
    assert {k: v for k, v in detail.items() if k != "deliveries"} == listed
    [shown] = detail["deliveries"]
    assert shown["endpointId"] == endpoint["id"]
    assert [a["statusCode"] for a in shown["attempts"]] == [500, None]
    assert_documented("ResendOutput", _data(api.post(f"/v1/events/{event.id}/resend"), 202))
