"""A webhook endpoint's page: event types as checkboxes, Send test event, Rotate secret,
and its recent deliveries with their HTTP status codes."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from duro.modes import mode_context
from tests.dashboard.conftest import owner_client, staff_client
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(databases="__all__")


def _endpoint(merchant) -> WebhookEndpoint:
    with mode_context("test"):
        return WebhookEndpoint.objects.get(merchant_id=merchant.merchant.id)


def _url(endpoint, name="change") -> str:
    return reverse(f"admin:webhooks_webhookendpoint_{name}", args=[quote(endpoint.pk)])


def test_event_types_are_checkboxes_and_save_as_a_list(two_merchants):
    a, _ = two_merchants
    endpoint = _endpoint(a)
    client = owner_client(a)
    page = client.get(_url(endpoint)).content.decode()
    assert 'type="checkbox" name="events" value="payment_success"' in page
    assert "<textarea" not in page.split('id="id_events"')[0][-200:]
    response = client.post(_url(endpoint), {
        "url": endpoint.url, "events": ["payment_success", "refund_succeeded"],
        "description": "", "status": "enabled"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _endpoint(a).events == ["payment_success", "refund_succeeded"]
    client.post(_url(endpoint), {"url": endpoint.url, "events": ["*", "refund_failed"],
                                 "description": "", "status": "enabled"})
    assert _endpoint(a).events == ["*"]


def test_send_test_event_delivers_to_this_endpoint_only_and_lists_it(two_merchants):
    a, _ = two_merchants
    endpoint = _endpoint(a)
    client = owner_client(a)
    page = client.post(_url(endpoint, "send_test"), follow=True).content.decode()
    assert "Test event sent to" in page
    with mode_context("test"):
        [delivery] = Delivery.objects.filter(event__type="webhook_test")
    assert delivery.endpoint_id == endpoint.pk
    recent = page.split('id="duro-deliveries"')[1]
    assert "webhook_test" in recent and "HTTP status" in page


def test_rotate_secret_shows_the_new_secret_once(two_merchants):
    a, _ = two_merchants
    endpoint = _endpoint(a)
    page = owner_client(a).post(_url(endpoint, "rotate")).content.decode()
    fresh = _endpoint(a)
    assert fresh.secret != endpoint.secret and fresh.previous_secret == endpoint.secret
    assert fresh.secret in page


def test_buttons_need_edit_rights_and_stay_within_the_merchant(two_merchants):
    a, b = two_merchants
    endpoint = _endpoint(a)
    support = staff_client(a, "support")
    assert b'id="duro-send-test"' not in support.get(_url(endpoint)).content
    assert support.post(_url(endpoint, "send_test")).status_code == 403
    assert owner_client(b).post(_url(endpoint, "rotate")).status_code == 404
    assert owner_client(a).get(_url(endpoint, "send_test")).status_code == 405
    assert _endpoint(a).secret == endpoint.secret
