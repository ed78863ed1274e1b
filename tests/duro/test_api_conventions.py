"""API conventions: error envelope, camelCase, cursor lists, idempotent POSTs, OpenAPI."""

import threading

import pytest
from django.db import connections

from duro.models import IdempotencyRecord
from tests.conftest import client_for
from tests.openapi import openapi

pytestmark = pytest.mark.django_db(databases="__all__")

PLAN = {"name": "Gold", "amount": 1_500_000, "interval": "monthly"}


def test_camel_case_in_and_out(api):
    response = api.post("/v1/plans", {**PLAN, "intervalCount": 3, "trialDays": 7}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["intervalCount"] == 3 and data["trialDays"] == 7
    assert data["id"].startswith("pln_") and data["currency"] == "NGN"


@pytest.mark.parametrize("body,param", [
    ({**PLAN, "amount": 15000.5}, "amount"),
    ({**PLAN, "amount": "1500000"}, "amount"),
    ({**PLAN, "amount": 0}, "amount"),
    ({**PLAN, "amount": -5}, "amount"),
    ({**PLAN, "amount": True}, "amount"),
    ({**PLAN, "currency": "EUR"}, "currency"),
    ({**PLAN, "interval": "fortnightly"}, "interval"),
    ({**PLAN, "intervalCount": 0}, "intervalCount"),
    ({k: v for k, v in PLAN.items() if k != "name"}, "name"),
])
def test_bad_input_is_400_naming_the_param(api, body, param):
    response = api.post("/v1/plans", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


def test_unknown_endpoint_is_enveloped_404(api):
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


def test_cursor_pagination(api):
    ids = [api.post("/v1/plans", {**PLAN, "name": f"P{i}"}, format="json").json()["data"]["id"]
           for i in range(5)]
    first = api.get("/v1/plans?limit=2").json()
    assert [p["id"] for p in first["data"]] == ids[::-1][:2] and first["hasMore"] is True
    second = api.get(f"/v1/plans?limit=2&startingAfter={first['data'][-1]['id']}").json()
    assert [p["id"] for p in second["data"]] == ids[::-1][2:4]
    last = api.get(f"/v1/plans?limit=2&startingAfter={second['data'][-1]['id']}").json()
    assert [p["id"] for p in last["data"]] == ids[:1] and last["hasMore"] is False
    assert api.get("/v1/plans?limit=101").json()["error"]["param"] == "limit"


def test_merchants_never_see_each_other(api, make_merchant):
    other = client_for(make_merchant().keys["test"]["secret"])
    plan_id = api.post("/v1/plans", PLAN, format="json").json()["data"]["id"]
    assert other.get(f"/v1/plans/{plan_id}").status_code == 404
    assert other.get("/v1/plans").json()["data"] == []


def test_idempotent_replay_returns_first_response(api):
    first = api.post("/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = api.post("/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(api.get("/v1/plans").json()["data"]) == 1


def test_idempotency_key_with_changed_body_is_409(api):
    api.post("/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = api.post("/v1/plans", {**PLAN, "amount": 2}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "idempotency_error"


def test_idempotency_keys_are_per_mode(api, live_api):
    assert api.post("/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert live_api.post("/v1/plans", PLAN, format="json",
                         HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_in_flight_key_is_409(api, acme):
    IdempotencyRecord.objects.create(merchant=acme.merchant, mode="test", key="busy",
                                     request_hash="whatever")
    response = api.post("/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_requests_with_one_key_run_once(acme, monkeypatch):
    """Two requests, one key, the first still running: it runs, the other gets 409."""
    import billing.api

    first_inside = threading.Event()
    release = threading.Event()
    real_create = billing.api.plan_create

    def slow_create(**kwargs):  # hold the first request inside its view
        first_inside.set()
        release.wait(10)
        return real_create(**kwargs)

    monkeypatch.setattr(billing.api, "plan_create", slow_create)
    results = {}

    def post(name):
        client = client_for(acme.keys["test"]["secret"])
        try:
            results[name] = client.post("/v1/plans", PLAN, format="json",
                                        HTTP_IDEMPOTENCY_KEY="race")
        finally:
            connections.close_all()

    first = threading.Thread(target=post, args=("first",))
    first.start()
    assert first_inside.wait(10)
    post("second")  # while the first is still running
    release.set()
    first.join()
    assert results["first"].status_code == 201
    assert results["second"].status_code == 409
    assert results["second"].json()["error"]["code"] == "idempotency_in_flight"
    replay = client_for(acme.keys["test"]["secret"]).post(
        "/v1/plans", PLAN, format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert replay.status_code == 201 and replay.json() == results["first"].json()
    plans = client_for(acme.keys["test"]["secret"]).get("/v1/plans").json()["data"]
    assert len(plans) == 1


def test_openapi_document_and_docs(client):
    schema = client.get("/v1/openapi.json")
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/plans" in doc["paths"] and "/v1/merchant" in doc["paths"]
    plan = doc["components"]["schemas"]["PlanOutput"]["properties"]
    assert "intervalCount" in plan
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/" in docs.content


# Routes under /v1 that are not Duro's REST API: the processors' webhooks (issue #15).
PROCESSOR_CALLBACKS = {"v1/processors/<str:name>/<str:merchant_id>/events"}
# The inline SDK's script (issue #16): JavaScript for the merchant's pages, not an endpoint.
STATIC_SCRIPTS = {"v1/sdk.js"}


def test_openapi_lists_every_v1_endpoint_that_runs(client):
    """The document matches what runs: every /v1 route is in it, with its methods."""
    from django.urls import get_resolver

    doc = client.get("/v1/openapi.json").json()
    documented = {path.replace("{id}", "{pk}"): set(ops) for path, ops in doc["paths"].items()}
    resolver = get_resolver()
    routes = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
            else:
                routes.append((route, pattern.callback))

    walk(resolver.url_patterns)
    checked = 0
    for route, callback in routes:
        if not route.startswith("v1/") or route in ("v1/openapi.json", "v1/docs"):
            continue
        if route in STATIC_SCRIPTS:
            assert getattr(callback, "cls", None) is None, route
            continue
        if route in PROCESSOR_CALLBACKS:  # the processors call them, not a merchant's key
            assert getattr(callback, "cls", None) is None, route  # not DRF: never documented
            continue
        path = "/" + route.replace("<str:", "{").replace(">", "}")
        view = getattr(callback, "cls", None)
        assert path in documented, f"{path} runs but is not in the OpenAPI document"
        methods = {m for m in ("get", "post", "patch", "delete") if hasattr(view, m)}
        assert methods <= documented[path], (path, methods, documented[path])
        checked += 1
    assert checked >= 20


def test_answers_are_documented_with_every_key_present():
    """Answers come from payload functions that always write every key; the document says so."""
    schemas = openapi()["components"]["schemas"]
    outputs = {name: s for name, s in schemas.items() if name.endswith("Output")}
    assert len(outputs) >= 12
    for name, schema in outputs.items():
        assert set(schema["required"]) == set(schema["properties"]), name


def test_output_serializers_document_and_never_render():
    from billing.models import Plan
    from billing.serializers import PlanOutput

    with pytest.raises(TypeError, match="only documents"):
        _ = PlanOutput(Plan(name="Gold", amount=1)).data
