"""The OpenAPI document tells the truth: envelopes, error statuses, types, security, no warnings.

What runs is validated against it here for the checkout answers (the verify
call, hydrate, pay, status) and the public appearance; billing and webhooks
do the same in their ``test_representations.py``. Schemathesis then checks
every operation against the live document (``test_api_fuzz.py``).
"""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.checkout.factories import make_session, pay
from tests.openapi import assert_documented, openapi

pytestmark = pytest.mark.django_db(databases="__all__")

METHODS = ("get", "post", "patch", "put", "delete")


def operations():
    for path, item in openapi()["paths"].items():
        if path in ("/v1/openapi.json", "/v1/docs"):
            continue
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_document_generates_without_a_warning_or_error(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", tmp_path / "api.yml")


def test_every_success_is_enveloped_and_typed():
    for path, method, op in operations():
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (path, method)
        for status in ok:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema["required"][0] == "data", (path, method)
            data = schema["properties"]["data"]
            assert "$ref" in data or "$ref" in data.get("items", {}), (path, method, data)
            if data.get("type") == "array":
                assert schema["properties"]["hasMore"] == {"type": "boolean"}


def test_every_operation_documents_its_errors_with_the_envelope():
    for path, method, op in operations():
        public = path.startswith("/v1/public/")
        expected = {"400"} | (set() if public else {"401", "403"})
        if "{" in path or "startingAfter" in {p["name"] for p in op.get("parameters", ())}:
            expected.add("404")
        if method in ("post", "patch"):
            expected |= {"409", "413", "415"}
        assert expected <= set(op["responses"]), (path, method, sorted(op["responses"]))
        for status in expected:
            content = op["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}
        assert op["security"] == ([{}] if public else [{"SecretKey": []}]), (path, method)
    pay_op = openapi()["paths"]["/v1/public/checkout/{token}/pay"]["post"]
    assert "Retry-After" in pay_op["responses"]["429"]["headers"]


def test_security_schemes_are_declared():
    schemes = openapi()["components"]["securitySchemes"]
    assert schemes["SecretKey"]["scheme"] == "bearer"
    assert schemes["PublishableKey"]["type"] == "apiKey"


def test_amounts_are_integers_never_strings():
    schemas = openapi()["components"]["schemas"]
    for name in ("PlanInput", "RefundInput", "SessionInput"):
        assert schemas[name]["properties"]["amount"]["type"] == "integer", name
    for name in ("PlanOutput", "SessionOutput", "HydrateOutput", "PaymentOutput"):
        assert schemas[name]["properties"]["amount"]["type"] == "integer", name


def test_unblacklisting_documents_the_customer_it_returns():
    op = openapi()["paths"]["/v1/customers/{id}/blacklist"]["delete"]
    data = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/CustomerOutput"}


def test_checkout_answers_are_what_the_document_says(api, brand):
    brand(brand_color="#112233")
    session = make_session(api)
    assert_documented("SessionOutput", api.post("/v1/checkout/sessions", {
        "amount": 5000}, format="json").json()["data"])
    public = APIClient()
    assert_documented("HydrateOutput", public.get(f"/v1/public/checkout/{session['token']}")
                      .json()["data"])
    outcome = pay(public, session["token"]).json()["data"]
    assert outcome["status"] == "completed"
    documented = openapi()["components"]["schemas"]["PayResult"]
    assert set(outcome) <= set(documented["properties"])
    assert_documented("StatusOutput", public.get(f"/v1/public/checkout/{session['token']}/status")
                      .json()["data"])
    assert_documented("SessionOutput", api.get(f"/v1/checkout/sessions/{session['id']}")
                      .json()["data"])


def test_the_public_appearance_is_what_the_document_says(acme, brand):
    brand(brand_color="#112233")
    key = acme.keys["test"]["publishable"]
    assert_documented("PublicAppearanceOutput",
                      APIClient().get(f"/v1/public/appearance/{key}").json()["data"])


def test_the_invoice_pages_answers_are_what_the_document_says(acme, brand):
    from django.test import Client

    from tests.checkout.test_invoice_page import open_invoice

    brand(brand_color="#112233")
    token = open_invoice(acme.merchant.id).hosted_token
    public = APIClient()
    assert_documented("InvoiceHydrateOutput",
                      public.get(f"/v1/public/invoices/{token}").json()["data"])
    Client().post(f"/invoice/{token}", {"rail": "bank_transfer"})
    documented = openapi()["components"]["schemas"]["InvoicePageResult"]
    for answer in (public.get(f"/v1/public/invoices/{token}/status").json()["data"],
                   public.post(f"/v1/public/invoices/{token}/simulate", {"outcome": "paid"},
                               format="json").json()["data"]):
        assert set(answer) <= set(documented["properties"])
        assert set(documented["required"]) <= set(answer)
        enum = openapi()["components"]["schemas"]["InvoicePageStatusEnum"]["enum"]
        assert answer["status"] in enum


def test_the_merchant_and_its_patch_are_what_the_document_says(api):
    assert_documented("Merchant", api.get("/v1/merchant").json()["data"])
    patched = api.patch("/v1/merchant", {"checkout": {"allowedOrigins": [
        "https://shop.example"]}}, format="json")
    assert_documented("Merchant", patched.json()["data"])
    op = openapi()["paths"]["/v1/merchant"]["patch"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PatchedMerchantInput"}
    checkout = openapi()["components"]["schemas"]["CheckoutSettingsInput"]
    assert "allowedOrigins" in checkout["properties"]
