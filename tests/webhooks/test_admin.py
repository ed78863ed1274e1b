"""Developers → Webhooks in the dashboard: pages render in the chosen mode, scoped to the
merchant; endpoints are validated by the SSRF guard; events can be resent."""

import pytest
from django.test import Client

from duro.modes import mode_context
from tests.webhooks.factories import endpoint_make, pay_emit
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def owner(acme):
    client = Client()
    assert client.login(username=acme.admin_user, password=acme.password)
    return client


def test_pages_render_scoped_to_the_merchant(owner, acme, make_merchant):
    mine = endpoint_make(acme.merchant.id, "http://localhost:9/mine")
    endpoint_make(make_merchant("Other").merchant.id, "http://localhost:9/theirs")
    pay_emit(acme.merchant.id)
    page = owner.get("/admin/webhooks/webhookendpoint/")
    assert page.status_code == 200
    assert b"/mine" in page.content and b"/theirs" not in page.content
    assert b"whsec_" not in page.content
    from django.contrib.admin.utils import quote  # ids hold "_", which admin URLs escape

    assert owner.get(f"/admin/webhooks/webhookendpoint/{quote(mine.pk)}/change/").status_code == 200
    assert owner.get("/admin/webhooks/event/").status_code == 200
    assert owner.get("/admin/webhooks/delivery/").status_code == 200


def test_add_endpoint_in_live_refuses_private_urls(owner, acme):
    owner.post("/admin/mode/", {"mode": "live"})
    resp = owner.post("/admin/webhooks/webhookendpoint/add/", {
        "url": "https://127.0.0.1/x", "events": '["*"]', "description": "", "status": "enabled"})
    assert resp.status_code == 200 and b"public addresses" in resp.content
    with mode_context("live"):
        assert not WebhookEndpoint.objects.exists()


def test_resend_action(owner, acme):
    endpoint_make(acme.merchant.id, "http://localhost:9/mine")
    [event, _] = pay_emit(acme.merchant.id)
    resp = owner.post("/admin/webhooks/event/", {"action": "resend",
                                                  "_selected_action": [event.pk]})
    assert resp.status_code == 302
    with mode_context("test"):
        assert Delivery.objects.filter(event_id=event.pk).count() == 2
