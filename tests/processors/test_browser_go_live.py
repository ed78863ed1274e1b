"""Going live, end to end, as a merchant does it: the owner connects Paystack (the
stand-in on loopback) in the dashboard and tests the key; the merchant's server creates a
live subscription checkout with its live secret key over real HTTP; the customer pays on
the hosted page in Chromium with a card whose bank asks for a PIN; Paystack's signed
``charge.success`` reaches Duro's processor webhook and is settled once with the pay's own
answer; the renewal charges the saved authorization once, and its ``charge.success`` is
absorbed too. What the merchant's server sees (verify, payments, events) is read with the
live key over HTTP, as the merchant's server would.

The card is Paystack's PIN test card (``5078 5078 5078 5078 12``, PIN 1111): its
authorization is reusable, so the renewal can charge it. The PIN-then-OTP card's is not
(Paystack marks that Verve card's authorization non-reusable), and a renewal of it opens
the invoice for the customer to pay instead (``billing/renewals.py``)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from billing.models import ProcessorEvent, Subscription
from billing.processors.paystack import processor_reference
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture
from tests.worker import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases="__all__")]

SHOP = "https://shop.example"  # a live session returns to https only: the browser stubs it
PROCESSOR_PAGE = "/admin/billing/processorconnection/"
PIN_CARD = ("5078 5078 5078 5078 12", "081", "1111")


@pytest.fixture
def going_live(acme, paystack_standin, live_server, settings):
    """Duro served on loopback, pointed at the Paystack stand-in, which posts its events
    to Duro's processor webhook URL for Acme (what the merchant pastes at Paystack)."""
    settings.DURO_PUBLIC_URL = live_server.url
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 5.0
    paystack_standin.webhook_url = (
        f"{live_server.url}/v1/processors/paystack/{acme.merchant.id}/events")
    paystack_standin.events_for_answered_charges = True
    return paystack_standin


def merchant_server(acme, live_server) -> httpx.Client:
    """The merchant's own server: Duro's API over real HTTP with the live secret key."""
    return httpx.Client(base_url=f"{live_server.url}/v1", timeout=10, headers={
        "Authorization": f"Bearer {acme.keys['live']['secret']}"})


def connect_paystack_in_dashboard(chromium, live_server, acme, secret: str) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", acme.admin_user)
        page.fill("#id_password", "correct-horse-battery")
        page.click("#login-form [type=submit]")
        page.wait_for_selector("#duro-revenue")
        page.click(f"#nav-sidebar a[href='{PROCESSOR_PAGE}']")  # Developers → Processor
        page.wait_for_selector("#duro-processor-none")
        page.select_option("#duro-processor-choice", "paystack")
        page.fill("#duro-processor-secret", secret)
        page.click("#duro-processor-connect")
        page.wait_for_selector("#duro-processor-hint")
        assert page.inner_text("#duro-processor-hint") == f"sk_test_…{secret[-4:]}"
        assert secret not in page.content()  # shown once: as typed, never again
        assert page.input_value("#duro-processor-secret") == ""
        page.click("#duro-processor-check")
        page.wait_for_selector("text=Paystack accepted the key.")
        assert "accepted" in page.inner_text("#duro-processor-last-check")
        assert errors == []
    finally:
        context.close()


def create_subscription_checkout(server: httpx.Client) -> dict:
    plan = server.post("/plans", json={"name": "Gold membership", "amount": 1_500_000,
                                       "interval": "monthly"})
    assert plan.status_code == 201, plan.text
    created = server.post("/checkout/sessions", json={
        "planId": plan.json()["data"]["id"], "successUrl": f"{SHOP}/thanks",
        "cancelUrl": f"{SHOP}/cart", "metadata": {"orderId": "ord_live_1"}},
        headers={"Idempotency-Key": "go-live-checkout-1"})
    assert created.status_code == 201, created.text
    session = created.json()["data"]
    assert session["token"].startswith("cs_live_")
    return session


def pay_with_pin_card(page, session: dict) -> None:
    page.route(f"{SHOP}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Thanks</title>"))
    page.goto(session["url"])
    number, cvc, pin = PIN_CARD
    page.fill("#email", "ada@example.com")
    page.fill("#card-number", number)
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", cvc)
    page.click("#pay-button")
    page.wait_for_selector("#pin")
    assert page.text_content(".step-title") == "Enter your card PIN"
    page.fill("#pin", pin)
    page.click("#pay-button")
    page.wait_for_url(f"{SHOP}/thanks**")
    assert parse_qs(urlsplit(page.url).query)["reference"] == [session["reference"]]


def test_a_merchant_goes_live_and_a_subscription_is_paid_and_renewed(
        acme, going_live, chromium, page, live_server):
    standin = going_live
    connect_paystack_in_dashboard(chromium, live_server, acme, standin.secret_key)
    server = merchant_server(acme, live_server)
    session = create_subscription_checkout(server)

    pay_with_pin_card(page, session)
    assert page.js_errors == []

    # Paystack's charge.success follows its answer to the PIN; Duro takes it, asks
    # Paystack (verify), and finds the payment already settled by the pay itself.
    wait_for(lambda: standin.deliveries, message="Paystack's charge.success")
    assert standin.deliveries == [("charge.success", 200)]
    verify = server.get(f"/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    payment = verify["payment"]
    assert (payment["status"], payment["card"]["last4"]) == ("succeeded", "7812")
    [first] = standin.money_taken()
    assert first.reference == processor_reference(payment["id"])
    assert len(standin.at("GET", f"/transaction/verify/{first.reference}")) >= 1
    assert payments(server) == [payment["id"]]

    with mode_context("live"):
        sub = Subscription.objects.get()
        report = renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
    assert report.renewed == 1 and sub.invoices_paid == 2 and sub.status == "active"
    renewal = [c for c in standin.money_taken() if c is not first]
    assert len(renewal) == 1 and renewal[0].authorization_code == first.authorization_code
    assert len(standin.at("POST", "/transaction/charge_authorization")) == 1
    wait_for(lambda: len(standin.deliveries) == 2, message="the renewal's charge.success")
    assert standin.deliveries[1] == ("charge.success", 200)

    renewed = [p for p in payments(server) if p != payment["id"]]
    assert len(renewed) == 1
    assert applied_events() == [payment["id"], renewed[0]]  # each found, verified, applied once
    invoices = server.get("/invoices").json()["data"]
    assert sorted(i["status"] for i in invoices) == ["paid", "paid"]
    events = server.get("/events", params={"type": "subscription_payment_success"}).json()
    assert len(events["data"]) == 2  # one per payment: the webhook added none
    assert {e["data"]["metadata"].get("orderId") for e in events["data"]} == {"ord_live_1"}


def applied_events() -> list[str]:
    """The payments Paystack's accepted webhooks named, oldest first (all applied)."""
    with mode_context("live"):
        rows = ProcessorEvent.objects.order_by("received_at", "pk")
        assert {r.outcome for r in rows} <= {ProcessorEvent.Outcome.APPLIED}
        return [r.payment_id for r in rows]


def payments(server: httpx.Client) -> list[str]:
    answer = server.get("/payments", params={"status": "succeeded"})
    assert answer.status_code == 200, answer.text
    return [p["id"] for p in answer.json()["data"]]

