"""Bad input is always a 4xx, never a 500: wrong types and shapes on every kind of endpoint."""

import pytest
from rest_framework.test import APIClient

from tests.checkout.factories import make_session

pytestmark = pytest.mark.django_db(databases="__all__")

PAY_BODIES = [
    None, [], "x", {"card": []}, {"email": ["a"], "card": {}}, {"otp": 123456}, {"rail": None},
    {"card": {"number": 4242424242424242, "expMonth": "12", "expYear": "x", "cvc": 123}},
    {"email": "a@b.co", "card": {"number": "4242 4242 4242 4242", "expMonth": 12.5,
                                 "expYear": 2030, "cvc": "123"}},
    {"email": "a@b.co" * 100}, {"phone": "+" + "9" * 40},
]
SESSION_BODIES = [
    None, [], {"planId": 5}, {"amount": 100, "metadata": None}, {"amount": 100, "expiresAt": 5},
    {"amount": 100, "successUrl": 5}, {"amount": 100, "customerEmail": None},
]
LIST_URLS = [
    "/v1/checkout/sessions?limit=abc", "/v1/checkout/sessions?startingAfter=nope",
    "/v1/checkout/sessions?status=weird", "/v1/plans?limit=0", "/v1/subscriptions?status=zz",
    "/v1/invoices?limit=-1", "/v1/events?type=zz", "/v1/customers?blacklisted=maybe",
]


def test_wrong_types_and_shapes_are_client_errors(api):
    token = make_session(api)["token"]
    public = APIClient()
    for body in PAY_BODIES:
        response = public.post(f"/v1/public/checkout/{token}/pay", body, format="json")
        assert 400 <= response.status_code < 500, (body, response.content)
    for body in SESSION_BODIES:
        response = api.post("/v1/checkout/sessions", body, format="json")
        assert 400 <= response.status_code < 500, (body, response.content)
        assert response.json()["error"]["type"] == "invalid_request_error"
    for url in LIST_URLS:
        response = api.get(url)
        assert response.status_code < 500, (url, response.content)
