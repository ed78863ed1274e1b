"""The webhooks REST API: endpoints (CRUD, rotate), events (list, get, resend), isolation."""

import pytest
from django.db import transaction

from duro.modes import mode_context
from tests.conftest import client_for
from webhooks.events import event_emit
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(databases="__all__")

URL = "http://localhost:9000/hooks"


def create(api, **body):
    body = {"url": URL, "events": ["payment_success"], **body}
    return api.post("/v1/webhook-endpoints", body, format="json")


def test_create_returns_secret_once_and_list_get_never(api):
    resp = create(api, description="orders")
    assert resp.status_code == 201, resp.json()
    data = resp.json()["data"]
    assert data["id"].startswith("we_") and data["secret"].startswith("whsec_")
    assert data["status"] == "enabled" and data["events"] == ["payment_success"]
    assert data["description"] == "orders"
    listed = api.get("/v1/webhook-endpoints").json()
    assert [e["id"] for e in listed["data"]] == [data["id"]] and listed["hasMore"] is False
    assert "secret" not in listed["data"][0]
    got = api.get(f"/v1/webhook-endpoints/{data['id']}").json()["data"]
    assert "secret" not in got and got["url"] == URL


def test_patch_delete_and_rotate(api):
    we = create(api).json()["data"]
    resp = api.patch(f"/v1/webhook-endpoints/{we['id']}",
                     {"events": ["*"], "status": "disabled"}, format="json")
    assert resp.status_code == 200
    assert resp.json()["data"]["events"] == ["*"] and resp.json()["data"]["status"] == "disabled"
    assert "secret" not in resp.json()["data"]
    rotated = api.post(f"/v1/webhook-endpoints/{we['id']}/rotate-secret").json()["data"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != we["secret"]
    resp = api.delete(f"/v1/webhook-endpoints/{we['id']}")
    assert resp.status_code == 200 and resp.json()["data"] == {"id": we["id"], "deleted": True}
    assert api.get(f"/v1/webhook-endpoints/{we['id']}").status_code == 404


@pytest.mark.parametrize("body, param", [
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://example.com/x"}, "url"),
    ({"events": []}, "events"),
    ({"events": ["payment_succes"]}, "events"),
    ({"events": ["*", "payment_success"]}, "events"),
    ({"events": "payment_success"}, "events"),
    ({"status": "paused"}, "status"),
    ({"description": "x" * 501}, "description"),
])
def test_bad_input_is_400_naming_param(api, body, param):
    resp = create(api, **body)
    assert resp.status_code == 400, resp.json()
    assert resp.json()["error"]["param"].split(".")[0] == param
    assert api.get("/v1/webhook-endpoints").json()["data"] == []


def test_missing_fields_name_params(api):
    resp = api.post("/v1/webhook-endpoints", {"events": ["*"]}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "url"


def test_live_refuses_unsafe_urls_with_param_url(live_api):
    for url in ("http://example.com/hooks", "https://127.0.0.1/hooks", "https://10.0.0.1/x"):
        resp = create(live_api, url=url)
        assert resp.status_code == 400, url
        assert resp.json()["error"]["param"] == "url"


def test_merchants_never_see_each_other(api, make_merchant):
    other = client_for(make_merchant("Other").keys["test"]["secret"])
    mine = create(api).json()["data"]
    assert other.get("/v1/webhook-endpoints").json()["data"] == []
    assert other.get(f"/v1/webhook-endpoints/{mine['id']}").status_code == 404
    assert other.patch(f"/v1/webhook-endpoints/{mine['id']}", {"description": "x"},
                       format="json").status_code == 404
    assert other.delete(f"/v1/webhook-endpoints/{mine['id']}").status_code == 404
    assert other.post(f"/v1/webhook-endpoints/{mine['id']}/rotate-secret").status_code == 404


def test_test_and_live_endpoints_are_separate(api, live_api):
    create(api)
    assert live_api.get("/v1/webhook-endpoints").json()["data"] == []


def emit(merchant_id, type_="payment_success", data=None):
    with mode_context("test"), transaction.atomic(using="test"):
        return event_emit(merchant_id=merchant_id, type=type_,
                          data=data or {"metadata": {"orderId": "ord_1"}})


def test_events_list_filter_get_with_deliveries_and_resend(api, acme, make_merchant):
    we = create(api, events=["payment_success"]).json()["data"]
    e1 = emit(acme.merchant.id)
    e2 = emit(acme.merchant.id, "subscription_created")
    emit(make_merchant("Other").merchant.id)
    listed = api.get("/v1/events").json()["data"]
    assert [e["id"] for e in listed] == [e2.id, e1.id]
    assert listed[1]["data"]["metadata"]["orderId"] == "ord_1"
    assert set(listed[0]) == {"id", "type", "mode", "createdAt", "data"}
    only = api.get("/v1/events", {"type": "payment_success"}).json()["data"]
    assert [e["id"] for e in only] == [e1.id]

    detail = api.get(f"/v1/events/{e1.id}").json()["data"]
    [delivery] = detail["deliveries"]
    assert delivery["endpointId"] == we["id"] and delivery["endpointUrl"] == URL
    assert delivery["status"] == "pending" and delivery["attempts"] == []
    assert "nextAttemptAt" in delivery
    assert api.get(f"/v1/events/{e2.id}").json()["data"]["deliveries"] == []

    resp = api.post(f"/v1/events/{e1.id}/resend")
    assert resp.status_code == 202
    assert len(resp.json()["data"]["deliveries"]) == 1
    with mode_context("test"):
        assert Delivery.objects.filter(event_id=e1.id).count() == 2

    other = client_for(make_merchant("Third").keys["test"]["secret"])
    assert other.get(f"/v1/events/{e1.id}").status_code == 404
    assert other.post(f"/v1/events/{e1.id}/resend").status_code == 404


def test_openapi_lists_webhook_paths(api):
    paths = api.get("/v1/openapi.json").json()["paths"]
    for path in ("/v1/webhook-endpoints", "/v1/webhook-endpoints/{id}",
                 "/v1/webhook-endpoints/{id}/rotate-secret", "/v1/events",
                 "/v1/events/{id}", "/v1/events/{id}/resend"):
        assert path in paths
