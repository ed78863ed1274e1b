"""Going live, end to end, as a merchant does it: the owner connects Paystack (the
stand-in on loopback) in the dashboard and tests the key; the merchant's server creates a
live subscription checkout with its live secret key over real HTTP; the customer pays on
the hosted page in Chromium through the card's processor steps; Paystack's signed
``charge.success`` reaches Duro's processor webhook and is applied once with the pay's own
answer (one payment, one invoice); then the renewal. What the merchant's server sees
(verify, payments, invoices, events) is read with the live key over HTTP.

Two cards, two renewals:

- Paystack's PIN card (``5078 5078 5078 5078 12``, PIN 1111) leaves a reusable
  authorization: the renewal charges it at Paystack, once.
- Paystack's PIN-then-OTP card (``5060 6666 6666 6666 666``, PIN 1234, OTP 123456) leaves
  none (Paystack marks that card's authorization non-reusable): the renewal charges
  nothing, the real Celery worker emails the invoice link, and the customer pays the
  invoice on its hosted page with the PIN and the OTP.

The merchant's own webhook endpoint is not part of this walk: live endpoints must be
``https://`` on a public address (the SSRF guard refuses loopback in live mode whatever
``DURO_WEBHOOK_ALLOW_LOOPBACK`` says), so no receiver on this machine can take live
deliveries; the events are read from ``GET /v1/events`` instead."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from billing.models import Invoice, ProcessorEvent, Subscription
from billing.processors.paystack import processor_reference
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.checkout.test_invoice_worker import mails_to, text_of
from tests.standins.paystack import paystack_standin_fixture  # noqa: F401 - fixture
from tests.worker import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases="__all__")]

SHOP = "https://shop.example"  # a live session returns to https only: the browser stubs it
PROCESSOR_PAGE = "/admin/billing/processorconnection/"
CUSTOMER = "ada@example.com"
INVOICE_LINK = re.compile(r"https?://\S+/invoice/in_live_\w+")
PIN_CARD = {"number": "5078 5078 5078 5078 12", "cvc": "081", "pin": "1111"}
PIN_OTP_CARD = {"number": "5060 6666 6666 6666 666", "cvc": "123", "pin": "1234",
                "otp": "123456"}


@pytest.fixture
def going_live(acme, paystack_standin, live_server, settings):
    """Duro served on loopback, pointed at the Paystack stand-in, which posts its events
    to Duro's processor webhook URL for Acme (what the merchant pastes at Paystack), also
    after an answer that already succeeded, as Paystack does."""
    settings.DURO_PUBLIC_URL = live_server.url
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DURO_PAYSTACK_BASE_URL = paystack_standin.url
    settings.DURO_PROCESSOR_TIMEOUT = 5.0
    paystack_standin.webhook_url = (
        f"{live_server.url}/v1/processors/paystack/{acme.merchant.id}/events")
    paystack_standin.events_for_answered_charges = True
    return paystack_standin


# --- what the merchant does ---------------------------------------------------------------

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


def merchant_server(acme, live_server) -> httpx.Client:
    """The merchant's own server: Duro's API over real HTTP with the live secret key."""
    return httpx.Client(base_url=f"{live_server.url}/v1", timeout=10, headers={
        "Authorization": f"Bearer {acme.keys['live']['secret']}"})


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


def verified_payment(server: httpx.Client, session: dict) -> dict:
    """What the merchant's server checks before fulfilling: the session, by its id."""
    verify = server.get(f"/checkout/sessions/{session['id']}").json()["data"]
    assert verify["status"] == "completed"
    assert verify["payment"]["status"] == "succeeded"
    return verify["payment"]


def succeeded_payments(server: httpx.Client) -> list[str]:
    answer = server.get("/payments", params={"status": "succeeded"})
    assert answer.status_code == 200, answer.text
    return [p["id"] for p in answer.json()["data"]]


def paid_invoices(server: httpx.Client) -> list[str]:
    return sorted(i["status"] for i in server.get("/invoices").json()["data"])


def payment_success_events(server: httpx.Client) -> list[dict]:
    answer = server.get("/events", params={"type": "subscription_payment_success"})
    return answer.json()["data"]


# --- what the customer does ---------------------------------------------------------------

def card_steps(page, card: dict) -> None:
    """Fill the card, then answer the processor's steps: the PIN, and the OTP if asked."""
    page.fill("#card-number", card["number"])
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", card["cvc"])
    page.click("#pay-button")
    page.wait_for_selector("#pin")
    assert page.text_content(".step-title") == "Enter your card PIN"
    page.fill("#pin", card["pin"])
    page.click("#pay-button")
    if "otp" in card:
        page.wait_for_selector("#otp")
        page.fill("#otp", card["otp"])
        page.click("#pay-button")


def pay_checkout(page, session: dict, card: dict) -> None:
    page.route(f"{SHOP}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Thanks</title>"))
    page.goto(session["url"])
    page.fill("#email", CUSTOMER)
    card_steps(page, card)
    page.wait_for_url(f"{SHOP}/thanks**")
    assert parse_qs(urlsplit(page.url).query)["reference"] == [session["reference"]]
    assert page.js_errors == []


def pay_emailed_invoice(page, since: float, card: dict) -> str:
    """Open the invoice link the worker emailed and pay it; the invoice's token."""
    def links() -> list[str]:  # receipts go to the same address: only the link counts
        found = (INVOICE_LINK.search(text_of(mail)) for mail in mails_to(CUSTOMER, since))
        return [match.group(0) for match in found if match]

    [link] = wait_for(links, timeout=30, message="the invoice link email")
    page.goto(link)
    if page.locator("input[name=rail][value=card]").count():
        page.check("input[name=rail][value=card]")
    card_steps(page, card)
    page.wait_for_selector("#invoice-status[data-status=paid]")
    assert page.js_errors == []
    return link.rsplit("/", 1)[1]


# --- what Paystack and Duro did -----------------------------------------------------------

def paystack_events_answered(standin, count: int) -> None:
    """Paystack's charge.success posts (after its answers) all reached Duro: 200 each."""
    wait_for(lambda: len(standin.deliveries) >= count,
             message=f"{count} charge.success deliveries")
    assert standin.deliveries == [("charge.success", 200)] * count


def applied_events() -> list[str]:
    """The payments Paystack's accepted webhooks named, oldest first (all applied)."""
    with mode_context("live"):
        rows = list(ProcessorEvent.objects.order_by("received_at", "pk"))
    assert {r.outcome for r in rows} <= {ProcessorEvent.Outcome.APPLIED}
    return [r.payment_id for r in rows]


def renew() -> tuple[object, Subscription]:
    """The renewal run, a minute past the period's end (what beat runs in production)."""
    with mode_context("live"):
        sub = Subscription.objects.get()
        report = renewals_run(now=sub.current_period_end + timedelta(minutes=1))
        sub.refresh_from_db()
    return report, sub


def paid_first_period(acme, standin, chromium, page, live_server, card: dict):
    """Steps 1-4: connect, create, pay, and Paystack's webhook applied once."""
    connect_paystack_in_dashboard(chromium, live_server, acme, standin.secret_key)
    server = merchant_server(acme, live_server)
    session = create_subscription_checkout(server)
    pay_checkout(page, session, card)
    paystack_events_answered(standin, 1)
    payment = verified_payment(server, session)
    assert payment["card"]["last4"] == card["number"].replace(" ", "")[-4:]
    [charge] = standin.money_taken()
    assert charge.reference == processor_reference(payment["id"])
    assert standin.at("GET", f"/transaction/verify/{charge.reference}")  # Duro asked
    assert succeeded_payments(server) == [payment["id"]]
    assert paid_invoices(server) == ["paid"]
    assert applied_events() == [payment["id"]]
    return server, payment, charge


def test_a_reusable_card_is_charged_again_at_the_renewal(acme, going_live, chromium, page,
                                                          live_server):
    standin = going_live
    server, payment, first = paid_first_period(acme, standin, chromium, page, live_server,
                                               PIN_CARD)

    report, sub = renew()
    assert report.renewed == 1 and sub.invoices_paid == 2 and sub.status == "active"
    assert len(standin.at("POST", "/transaction/charge_authorization")) == 1
    [renewal] = [c for c in standin.money_taken() if c is not first]
    assert renewal.authorization_code == first.authorization_code
    paystack_events_answered(standin, 2)

    [renewed] = [p for p in succeeded_payments(server) if p != payment["id"]]
    assert applied_events() == [payment["id"], renewed]
    assert paid_invoices(server) == ["paid", "paid"]
    events = payment_success_events(server)
    assert len(events) == 2  # one per payment: Paystack's webhooks added none
    assert {e["data"]["metadata"].get("orderId") for e in events} == {"ord_live_1"}


@pytest.mark.worker
def test_a_card_without_a_reusable_authorization_renews_through_the_emailed_invoice(
        acme, going_live, chromium, page, live_server, worker_factory):
    standin = going_live
    worker_factory(env={"DURO_PUBLIC_URL": live_server.url})  # sends the invoice link
    server, payment, _ = paid_first_period(acme, standin, chromium, page, live_server,
                                           PIN_OTP_CARD)

    since = time.time() - 1
    report, sub = renew()
    assert report.failed == 1 and sub.invoices_paid == 1  # not paid: waits for the customer
    assert standin.at("POST", "/transaction/charge_authorization") == []
    token = pay_emailed_invoice(page, since, PIN_OTP_CARD)
    paystack_events_answered(standin, 2)

    with mode_context("live"):
        invoice = Invoice.objects.get(hosted_token=token)
        sub.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.number == 2
    assert sub.status == "active" and sub.invoices_paid == 2
    assert len(standin.money_taken()) == 2
    [renewed] = [p for p in succeeded_payments(server) if p != payment["id"]]
    assert applied_events() == [payment["id"], renewed]
    assert paid_invoices(server) == ["paid", "paid"]
    assert len(payment_success_events(server)) == 2
