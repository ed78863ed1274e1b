"""Small builders for checkout tests, all through the public API a merchant uses."""

from __future__ import annotations

PLAN = {"name": "Gold Membership", "amount": 1_500_000, "interval": "monthly",
        "description": "Unlimited classes"}
CARD_OK = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2034, "cvc": "123"}


def card(number: str, **extra) -> dict:
    return {**CARD_OK, "number": number, **extra}


def make_plan(api, **fields) -> dict:
    response = api.post("/v1/plans", {**PLAN, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def make_session(api, **fields) -> dict:
    if "amount" not in fields and "planId" not in fields:
        fields["planId"] = make_plan(api)["id"]
    body = {"successUrl": "https://shop.example/thanks?order=42", "cancelUrl":
            "https://shop.example/cart", "metadata": {"orderId": "ord_42"}, **fields}
    response = api.post("/v1/checkout/sessions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def pay(client, token: str, **body):
    body = {"email": "ada@example.com", "phone": "0803 123 4567", "rail": "card",
            "card": CARD_OK, **body}
    return client.post(f"/v1/public/checkout/{token}/pay", body, format="json")
