"""The seed's promise end to end: a customer pays on the hosted page in a real browser,
and a real worker delivers the signed events to the merchant's endpoint."""

import pytest
from standardwebhooks.webhooks import Webhook

from tests.checkout.factories import make_plan
from tests.worker import wait_for
from webhooks.signing import verify

pytestmark = [pytest.mark.worker, pytest.mark.browser,
              pytest.mark.django_db(transaction=True, databases="__all__")]


def test_a_browser_pay_reaches_subscribed_endpoints_only(acme, api, receiver, worker, page,
                                                          live_server, settings):
    settings.DURO_PUBLIC_URL = live_server.url
    subscribed = api.post("/v1/webhook-endpoints", {
        "url": receiver.url("/orders"),
        "events": ["subscription_created", "subscription_payment_success"]}, format="json")
    secret = subscribed.json()["data"]["secret"]
    api.post("/v1/webhook-endpoints", {"url": receiver.url("/refunds-only"),
                                       "events": ["subscription_canceled"]}, format="json")
    plan = make_plan(api)
    session = api.post("/v1/checkout/sessions", {
        "planId": plan["id"], "metadata": {"orderId": "ord_browser_9"}}, format="json",
    ).json()["data"]

    page.goto(session["url"])
    page.fill("#email", "ada@example.com")
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.click("#pay-button")
    page.wait_for_selector("text=Payment successful")

    wait_for(lambda: len(receiver.event_ids("/orders")) == 2, message="both pay events")
    deliveries = receiver.at("/orders")
    payloads = [verify(secret, r.headers, r.body) for r in deliveries]
    assert {p["type"] for p in payloads} == {"subscription_created",
                                             "subscription_payment_success"}
    assert all(p["data"]["metadata"] == {"orderId": "ord_browser_9"} for p in payloads)
    assert all(Webhook(secret).verify(r.body, r.headers) for r in deliveries)
    assert receiver.at("/refunds-only") == []
