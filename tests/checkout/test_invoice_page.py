"""The hosted invoice page (``/invoice/{token}``): one query on the token's store, paid without
JavaScript by card or by transfer (+ the sandbox's simulate), its paid and void states, and
the public JSON calls (hydrate, status, simulate)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing import tasks
from billing.confirmations import payment_confirmed
from billing.models import Invoice, PaymentAttempt, Refund, SandboxCharge, Subscription
from billing.rails import get_rail
from billing.renewals import renewals_run
from checkout.invoice_pay import invoice_attempts_recover
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe
from tests.checkout.test_public import counts, queries_by_store

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)
CARD = {"rail": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34",
        "card_cvc": "123"}


def open_invoice(merchant_id: str, mode: str = "test") -> Invoice:
    """A subscription first paid by transfer (no card) whose renewal opened its invoice."""
    sub = subscribe(merchant_id, mode=mode)
    with mode_context(mode):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
        renewals_run(now=RENEWAL + timedelta(minutes=1))
        return Invoice.objects.get(subscription=sub, number=2)


def reload(invoice: Invoice, mode: str = "test") -> tuple[Invoice, Subscription]:
    with mode_context(mode):
        invoice = Invoice.objects.get(pk=invoice.pk)
        return invoice, Subscription.objects.get(pk=invoice.subscription_id)


@pytest.fixture
def merchant(acme):
    return acme.merchant


@pytest.fixture
def invoice(merchant):
    return open_invoice(merchant.id)


@pytest.fixture
def receipts(monkeypatch):
    """The receipts queued after commit, recorded instead of sent to a broker."""
    queued: list = []
    monkeypatch.setattr(tasks.send_receipt, "apply_async",
                        lambda args, **kwargs: queued.append(args))
    return queued


def page(client, invoice: Invoice):
    return client.get(f"/invoice/{invoice.hosted_token}")


def test_the_page_is_one_query_on_the_token_store(invoice, brand):
    brand(brand_color="#7b1fa2", support_contact="help@acme.test")
    client = Client()
    page(client, invoice)  # the steady state: a warm appearance cache
    with queries_by_store() as captured:
        response = page(client, invoice)
    assert response.status_code == 200
    assert counts(captured) == {"default": 0, "test": 1, "live": 0}
    html = response.content.decode()
    assert "Acme Gym" in html and "help@acme.test" in html
    assert '<span class="merchant-mark" aria-hidden="true">A</span>' in html
    assert "₦15,000.00 / month" in html and "INV-000002" in html
    assert "15 Feb 2025 – 15 Mar 2025" in html and 'data-status="open"' in html
    assert 'value="card"' in html and 'value="bank_transfer"' in html
    assert 'name="card_number"' in html and "csrfmiddlewaretoken" in html
    assert "Test mode" in html and "simulate" not in html
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY" and response["Cache-Control"] == "no-store"


def test_hydrate_and_status_are_one_query_on_the_token_store(invoice):
    client = APIClient()
    client.get(f"/v1/public/invoices/{invoice.hosted_token}")
    with queries_by_store() as captured:
        hydrate = client.get(f"/v1/public/invoices/{invoice.hosted_token}")
        status = client.get(f"/v1/public/invoices/{invoice.hosted_token}/status")
    assert counts(captured) == {"default": 0, "test": 2, "live": 0}
    data = hydrate.json()["data"]
    assert data["merchant"] == {"name": "Acme Gym"} and data["mode"] == "test"
    assert (data["number"], data["status"], data["amount"]) == (2, "open", 1_500_000)
    assert data["amountLabel"] == "₦15,000.00 / month" and data["plan"]["cadence"] == "month"
    assert data["period"]["start"] == "2025-02-14T23:00:00Z"
    assert [r["id"] for r in data["rails"]] == ["card", "bank_transfer", "ussd"]
    assert data["ussdBanks"][0] == {"code": "737", "name": "GTBank"}
    assert data["mobileMoneyProviders"] == []
    assert "metadata" not in data and "customer" not in data
    assert status.json()["data"] == {"status": "open", "number": 2}


def test_paid_by_card_without_javascript_renews_the_subscription(
        merchant, invoice, receipts, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        response = client.post(f"/invoice/{invoice.hosted_token}", CARD)
    assert response.status_code == 303
    assert response["Location"] == f"/invoice/{invoice.hosted_token}"
    invoice, sub = reload(invoice)
    assert invoice.status == "paid" and invoice.receipt_status == "pending"
    assert sub.status == "active" and sub.period_index == 1 and sub.dunning_attempts == 0
    assert sub.current_period_start == invoice.period_start
    assert sub.next_attempt_at == invoice.period_end
    with mode_context("test"):
        payment = PaymentAttempt.objects.get(invoice=invoice)
    assert (payment.status, payment.rail, payment.session_id) == ("succeeded", "card", "")
    assert payment.card_last4 == "4242" and invoice.hosted_payment_id == payment.pk
    assert receipts == [("test", invoice.pk)]
    assert event_types(merchant.id)[-1] == "subscription_payment_success"
    html = page(client, invoice).content.decode()
    assert 'data-status="paid"' in html and "Payment successful" in html
    assert 'name="card_number"' not in html and "<form" not in html
    # paying again charges nothing
    assert client.post(f"/invoice/{invoice.hosted_token}", CARD).status_code == 303
    with mode_context("test"):
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1


def test_a_declined_card_shows_why_and_the_customer_may_pay_again(invoice):
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {**CARD,
                                                     "card_number": "4000 0000 0000 0002"})
    html = page(client, invoice).content.decode()
    assert 'data-status="failed"' in html and 'id="form-error"' in html
    assert "declined" in html and 'name="card_number"' in html
    invoice_now, sub = reload(invoice)
    assert invoice_now.status == "open" and sub.status == "past_due"
    client.post(f"/invoice/{invoice.hosted_token}", CARD)
    assert reload(invoice)[0].status == "paid"


def test_a_mistyped_card_is_a_form_error_and_charges_nothing(invoice):
    response = Client().post(f"/invoice/{invoice.hosted_token}", {**CARD, "card_number": "4242"})
    assert response.status_code == 200
    assert "That card number is not valid." in response.content.decode()
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0 and SandboxCharge.objects.count() == 0


def test_an_otp_card_asks_for_the_code_then_pays(invoice):
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {**CARD,
                                                     "card_number": "4000 0000 0000 3220"})
    html = page(client, invoice).content.decode()
    assert 'name="otp"' in html and "123456" in html
    client.post(f"/invoice/{invoice.hosted_token}", {"otp": "000000"})
    assert 'id="otp-error"' in page(client, invoice).content.decode()
    client.post(f"/invoice/{invoice.hosted_token}", {"otp": "123456"})
    assert reload(invoice)[0].status == "paid"


def test_paid_by_transfer_and_the_sandboxs_simulate_without_javascript(
        merchant, invoice, receipts, django_capture_on_commit_callbacks):
    client = Client()
    assert client.post(f"/invoice/{invoice.hosted_token}",
                       {"rail": "bank_transfer"}).status_code == 303
    html = page(client, invoice).content.decode()
    assert 'data-status="processing"' in html and "Transfer ₦15,000.00 to this account" in html
    assert 'id="transfer-account"' in html and 'id="simulate-paid"' in html
    assert f'data-poll-status="/v1/public/invoices/{invoice.hosted_token}/status"' in html
    assert "I&#x27;ve sent the money: check now" in html or "sent the money" in html
    # a second transfer pay while the first is awaited: the same account, no second attempt
    client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    with mode_context("test"):
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
    status = APIClient().get(f"/v1/public/invoices/{invoice.hosted_token}/status").json()
    assert status["data"]["status"] == "processing"
    assert status["data"]["transfer"]["amount"] == 1_500_000
    with django_capture_on_commit_callbacks(execute=True, using="test"):
        response = client.post(f"/invoice/{invoice.hosted_token}/simulate",
                               {"outcome": "paid"})
    assert response.status_code == 303
    invoice, sub = reload(invoice)
    assert invoice.status == "paid" and sub.status == "active" and sub.period_index == 1
    assert receipts == [("test", invoice.pk)]
    assert event_types(merchant.id)[-1] == "subscription_payment_success"
    assert 'data-status="paid"' in page(client, invoice).content.decode()


def test_the_json_simulate_confirms_or_bounces_a_transfer(invoice):
    public = APIClient()
    url = f"/v1/public/invoices/{invoice.hosted_token}/simulate"
    nothing = public.post(url, {"outcome": "paid"}, format="json")
    assert nothing.status_code == 400 and nothing.json()["error"]["param"] == "outcome"
    Client().post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    failed = public.post(url, {"outcome": "failed"}, format="json").json()["data"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "transfer_failed"
    assert reload(invoice)[0].status == "open"
    Client().post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    paid = public.post(url, {"outcome": "paid"}, format="json").json()["data"]
    assert paid == {"status": "paid", "number": 2}
    assert public.post(url, {"outcome": "paid"}, format="json").json()["data"]["status"] == "paid"


def test_a_void_invoice_shows_its_state_and_no_pay_form(invoice):
    with mode_context("test"):
        Invoice.objects.filter(pk=invoice.pk).update(status="void")
    client = Client()
    html = page(client, invoice).content.decode()
    assert 'data-status="void"' in html and "can no longer be paid" in html
    assert "<form" not in html
    client.post(f"/invoice/{invoice.hosted_token}", CARD)
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0


@pytest.mark.parametrize("token", ["in_prod_abc", "cs_test_" + "a" * 32, "in_test_" + "a" * 31,
                                   "in_test_" + "a" * 32 + "!", "../etc/passwd"])
def test_an_unknown_token_is_a_404_touching_no_store(token):
    with queries_by_store() as captured:
        response = Client().get(f"/invoice/{token}")
        api = APIClient().get(f"/v1/public/invoices/{token}")
    assert response.status_code == 404 and api.status_code == 404
    assert "/" in token or "find this invoice" in response.content.decode()
    assert counts(captured) == {"default": 0, "test": 0, "live": 0}


def test_a_well_formed_unknown_token_is_a_404(invoice):
    response = Client().get("/invoice/in_test_" + "A" * 32)
    assert response.status_code == 404


def test_a_live_invoice_has_no_simulate_and_reads_only_the_live_store(acme):
    invoice = open_invoice(acme.merchant.id, mode="live")
    assert invoice.hosted_token.startswith("in_live_")
    client = Client()
    page(client, invoice)  # a warm appearance cache
    with queries_by_store() as captured:
        html = page(client, invoice).content.decode()
    assert counts(captured) == {"default": 0, "test": 0, "live": 1}
    assert "Test mode" not in html and "Test card" not in html
    refused = client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"},
                          follow=True)
    assert "connected processor" in refused.content.decode()
    simulate = APIClient().post(f"/v1/public/invoices/{invoice.hosted_token}/simulate",
                                {"outcome": "paid"}, format="json")
    assert simulate.status_code == 404
    assert client.post(f"/invoice/{invoice.hosted_token}/simulate",
                       {"outcome": "paid"}).status_code == 404


def test_pays_are_rate_limited_per_token(invoice, settings):
    settings.DURO_PAY_RATE_PER_TOKEN = 1
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {**CARD,
                                                     "card_number": "4000 0000 0000 0002"})
    limited = client.post(f"/invoice/{invoice.hosted_token}", CARD)
    assert limited.status_code == 429 and limited["Retry-After"]
    assert "Too many payment attempts" in limited.content.decode()
    assert reload(invoice)[0].status == "open"


def test_a_transfer_that_never_arrives_expires_and_the_page_reopens(invoice):
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    with mode_context("test"):
        assert invoice_attempts_recover(now=timezone.now() + timedelta(minutes=5)) == 0
        assert invoice_attempts_recover(now=timezone.now() + timedelta(minutes=31)) == 1
        attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.failure_code) == ("failed", "transfer_expired")
    html = page(client, invoice).content.decode()
    assert 'data-status="failed"' in html and "expired before any money arrived" in html
    assert 'name="card_number"' in html
    client.post(f"/invoice/{invoice.hosted_token}", CARD)
    assert reload(invoice)[0].status == "paid"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_concurrent_pays_charge_the_invoice_once(merchant, settings):
    import threading

    from django.db import connections

    settings.DURO_PAY_RATE_PER_TOKEN = 100
    invoice = open_invoice(merchant.id)
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def pay():
        try:
            barrier.wait()
            Client().post(f"/invoice/{invoice.hosted_token}", CARD)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    invoice, sub = reload(invoice)
    assert invoice.status == "paid" and sub.period_index == 1 and sub.invoices_paid == 2
    with mode_context("test"):
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
        assert SandboxCharge.objects.count() == 1
    assert event_types(merchant.id).count("subscription_payment_success") == 1


def test_a_transfer_arriving_after_a_cancel_now_is_refunded_and_the_page_shows_void(merchant,
                                                                                   invoice):
    from billing.models import Refund
    from billing.subscriptions import subscription_cancel

    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    with mode_context("test"):
        subscription_cancel(merchant_id=merchant.id, subscription_id=invoice.subscription_id,
                            at_period_end=False, now=timezone.now())
    answer = APIClient().post(f"/v1/public/invoices/{invoice.hosted_token}/simulate",
                              {"outcome": "paid"}, format="json").json()["data"]
    assert answer["status"] == "void"
    invoice_now, sub = reload(invoice)
    assert invoice_now.status == "void" and sub.status == "canceled"
    with mode_context("test"):  # the money is given back, never kept
        refund = Refund.objects.get()
    assert (refund.reason, refund.amount) == ("subscription_canceled", 1_500_000)
    html = page(client, invoice).content.decode()
    assert 'data-status="void"' in html and "<form" not in html


def test_a_blacklisted_customer_is_refused_before_any_charge(invoice):
    from billing.models import Customer

    with mode_context("test"):
        Customer.objects.filter(pk=invoice.customer_id).update(blacklisted=True)
    response = Client().post(f"/invoice/{invoice.hosted_token}", CARD)
    assert "couldn&#x27;t process this payment" in response.content.decode()
    with mode_context("test"):
        assert PaymentAttempt.objects.count() == 0 and SandboxCharge.objects.count() == 0


def test_a_payer_awaited_by_a_transfer_may_pay_by_card_and_a_late_transfer_goes_back(
        merchant, invoice, receipts):
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    waiting = page(client, invoice).content.decode()
    assert 'id="pay-another"' in waiting and 'id="simulate-underpaid"' in waiting
    form = client.get(f"/invoice/{invoice.hosted_token}?another=1").content.decode()
    assert 'id="form-notice"' in form and 'name="card_number"' in form
    assert client.post(f"/invoice/{invoice.hosted_token}", CARD).status_code == 303
    invoice, sub = reload(invoice)
    assert invoice.status == "paid" and sub.period_index == 1
    with mode_context("test"):
        transfer = PaymentAttempt.objects.get(invoice=invoice, rail="bank_transfer")
        payment_confirmed(attempt_id=transfer.pk, result=get_rail("bank_transfer").simulate(
            mode="test", idempotency_key=transfer.pk, outcome="paid"))
        transfer.refresh_from_db()
        [refund] = Refund.objects.all()
    assert transfer.status == "succeeded"
    assert (refund.payment_id, refund.reason, refund.amount) == (transfer.pk, "duplicate",
                                                                 1_500_000)
    assert reload(invoice)[1].period_index == 1  # paid once, renewed once


def test_every_simulate_outcome_works_on_the_invoice_page(merchant, invoice):
    public = APIClient()
    url = f"/v1/public/invoices/{invoice.hosted_token}/simulate"
    Client().post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    short = public.post(url, {"outcome": "underpaid"}, format="json").json()["data"]
    assert short["status"] == "failed" and short["error"]["code"] == "underpaid"
    assert "₦7,500.00 arrived" in page(Client(), invoice).content.decode()
    with mode_context("test"):
        assert Refund.objects.get().reason == "underpayment"
    assert reload(invoice)[0].status == "open"
    Client().post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    more = public.post(url, {"outcome": "overpaid"}, format="json").json()["data"]
    assert more["status"] == "paid"
    with mode_context("test"):
        assert sorted(Refund.objects.values_list("reason", flat=True)) == [
            "overpayment", "underpayment"]


def test_each_state_of_the_invoice_page_is_shown_once(merchant, invoice):
    """One state section per page: the waiting panel, then nothing of another state (a
    botched merge once rendered the states twice, with stray closing tags between)."""
    client = Client()
    client.post(f"/invoice/{invoice.hosted_token}", {"rail": "bank_transfer"})
    waiting = page(client, invoice).content.decode()
    assert waiting.count('id="transfer-account"') == 1
    assert waiting.count('id="invoice-status"') == 1 and waiting.count("</dl>") == 2
    client.post(f"/invoice/{invoice.hosted_token}/simulate", {"outcome": "paid"})
    paid = page(client, invoice).content.decode()
    assert paid.count('id="done-title"') == 1 and 'id="transfer-account"' not in paid
