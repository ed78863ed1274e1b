"""The customer portal: the API's single-use link (201, 404 across merchants and modes, 410
once used or expired), the signed "Manage your subscription" link of emails, the page (two
queries on the token's store), cancel at period end and its undo (CSRF required), and a
``past_due`` subscription recovered by a new card on its invoice's page."""

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.invoice_notices import invoice_notice_send
from billing.models import Invoice, PaymentAttempt, PortalLink, Refund, Subscription
from billing.portal import portal_manage_url
from billing.receipts import invoice_receipt_send
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe
from tests.checkout.test_invoice_page import CARD
from tests.checkout.test_public import counts, queries_by_store
from tests.conftest import client_for
from tests.openapi import assert_documented, openapi

pytestmark = pytest.mark.django_db(databases="__all__")

RENEWAL = datetime(2025, 2, 14, 23, 0, tzinfo=UTC)  # the first renewal of subscribe()'s


@pytest.fixture
def merchant(acme):
    return acme.merchant


def portal_link(api, customer_id: str):
    return api.post(f"/v1/customers/{customer_id}/portal-sessions", format="json")


def open_portal(api, sub: Subscription, client: Client | None = None) -> Client:
    """A browser that opened a fresh portal link for the subscription's customer."""
    client = client or Client()
    url = portal_link(api, sub.customer_id).json()["data"]["url"]
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 303 and response["Location"] == "/portal/"
    return client


def open_invoice(merchant_id: str) -> Invoice:
    """A subscription first paid by transfer (no card) whose renewal opened its invoice
    and its hosted page."""
    sub = subscribe(merchant_id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
        renewals_run(now=RENEWAL + timedelta(minutes=1), subscription_id=sub.pk)
        return Invoice.objects.get(subscription=sub, status="open")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def reload(sub: Subscription) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.select_related("card").get(pk=sub.pk)


# --- the API ----------------------------------------------------------------------------

def test_a_portal_link_is_single_use_hashed_and_carries_the_mode(api, merchant, settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    sub = subscribe(merchant.id)
    before = timezone.now()
    response = portal_link(api, sub.customer_id)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == {"url", "expiresAt"}
    assert re.fullmatch(r"http://testserver/portal/pt_test_[A-Za-z0-9]{32}", data["url"])
    expires = datetime.fromisoformat(data["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - before <= timedelta(hours=1, seconds=5)
    token = data["url"].rsplit("/", 1)[1]
    with mode_context("test"):
        [link] = PortalLink.objects.all()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # never the token

    client = Client()
    first = client.get(f"/portal/{token}")
    assert first.status_code == 303 and first["Location"] == "/portal/"
    cookie = first.cookies["duro_portal"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP here; over HTTPS the cookie is Secure
    assert int(cookie["max-age"]) == 3600
    assert client.get("/portal/").status_code == 200

    again = Client().get(f"/portal/{token}")
    assert again.status_code == 410
    assert "already used or has expired" in again.content.decode()
    assert again["Content-Security-Policy"].startswith("default-src 'none'")
    assert "duro_portal" not in again.cookies


def test_the_session_cookie_is_secure_over_https(api, merchant):
    sub = subscribe(merchant.id)
    url = portal_link(api, sub.customer_id).json()["data"]["url"]
    response = Client().get("/portal/" + url.rsplit("/", 1)[1], secure=True)
    assert response.cookies["duro_portal"]["secure"]


def test_an_expired_link_is_gone(api, merchant):
    sub = subscribe(merchant.id)
    url = portal_link(api, sub.customer_id).json()["data"]["url"]
    with mode_context("test"):
        PortalLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get("/portal/" + url.rsplit("/", 1)[1]).status_code == 410


@pytest.mark.parametrize("token", ["pt_test_" + "a" * 32, "pt_prod_" + "a" * 32, "nope",
                                   "pm_test_" + "x" * 40])
def test_unknown_or_forged_links_are_gone(token):
    assert Client().get(f"/portal/{token}").status_code == 410


def test_another_merchants_or_modes_customer_is_404(api, live_api, merchant, make_merchant):
    sub = subscribe(merchant.id)
    other = client_for(make_merchant().keys["test"]["secret"])
    for client in (other, live_api):
        response = portal_link(client, sub.customer_id)
        assert response.status_code == 404
        assert response.json()["error"]["param"] == "id"


def test_a_live_key_makes_a_live_link_on_the_live_store(live_api, merchant):
    sub = subscribe(merchant.id, mode="live")
    url = portal_link(live_api, sub.customer_id).json()["data"]["url"]
    assert "/portal/pt_live_" in url
    client = Client()
    client.get("/portal/" + url.rsplit("/", 1)[1])
    with queries_by_store() as captured:
        page = client.get("/portal/")
    assert counts(captured)["test"] == 0 and counts(captured)["live"] == 2
    assert sub.plan.name in page.content.decode()


def test_without_a_session_the_portal_says_so(api, merchant):
    response = Client().get("/portal/")
    assert response.status_code == 403 and "Your session has ended" in response.content.decode()
    client = Client()
    client.cookies["duro_portal"] = "forged:value"
    assert client.get("/portal/").status_code == 403


# --- the page ---------------------------------------------------------------------------

def test_the_page_lists_subscriptions_and_invoices_in_two_queries(api, merchant, brand):
    brand(brand_color="#7b1fa2", support_contact="help@acme.test")
    sub = subscribe(merchant.id)
    transfer_invoice = open_invoice(merchant.id)  # another customer's: never shown
    client = open_portal(api, sub)
    client.get("/portal/")  # the steady state: a warm appearance cache
    with queries_by_store() as captured:
        response = client.get("/portal/")
    # One query for the subscriptions (plan, card joined), one for the invoices (the
    # attempt made on their page joined); the appearance is cached and the merchant's
    # name travels in the session, so the core store is not asked.
    assert counts(captured) == {"default": 0, "test": 2, "live": 0}
    html = response.content.decode()
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["X-Frame-Options"] == "DENY" and response["Cache-Control"] == "no-store"
    assert "Acme Gym" in html and "help@acme.test" in html and "Test mode" in html
    assert sub.plan.name in html and "₦15,000.00 / month" in html
    assert 'data-status="active"' in html and "Visa •••• 4242" in html
    assert "15 Jan 2025 – 15 Feb 2025" in html  # its period, in its own zone
    assert "INV-000001" in html and "Paid" in html
    with mode_context("test"):
        created = Invoice.objects.get(subscription=sub).created_at
    lagos = timezone.localtime(created, ZoneInfo("Africa/Lagos"))
    assert f"<td>{lagos.day} {lagos:%b %Y}</td>" in html  # the invoice's date, in its zone
    assert transfer_invoice.customer_id != sub.customer_id
    assert transfer_invoice.hosted_token not in html


def test_an_invoice_with_a_hosted_page_links_to_it(api, merchant):
    invoice = open_invoice(merchant.id)
    with mode_context("test"):
        sub = Subscription.objects.get(pk=invoice.subscription_id)
    html = open_portal(api, sub).get("/portal/").content.decode()
    assert f'href="/invoice/{invoice.hosted_token}"' in html
    assert f"INV-{invoice.number:06d}" in html


def test_cancel_at_period_end_then_undo_while_the_period_runs(api, merchant):
    sub = subscribe(merchant.id, paid_at=timezone.now() - timedelta(days=3))
    client = open_portal(api, sub, Client(enforce_csrf_checks=True))
    token = csrf_of(client.get("/portal/").content.decode())

    response = client.post(f"/portal/subscriptions/{sub.pk}/cancel",
                           {"csrfmiddlewaretoken": token})
    assert response.status_code == 303 and response["Location"] == "/portal/?done=canceled"
    canceled = reload(sub)
    assert canceled.status == "non_renewing" and canceled.cancel_at_period_end
    html = client.get(response["Location"]).content.decode()
    assert "will end at the end of the current period" in html
    assert f'id="keep-{sub.pk}"' in html and f'id="cancel-{sub.pk}"' not in html

    response = client.post(f"/portal/subscriptions/{sub.pk}/keep",
                           {"csrfmiddlewaretoken": token})
    assert response["Location"] == "/portal/?done=kept"
    kept = reload(sub)
    assert kept.status == "active" and not kept.cancel_at_period_end
    assert kept.next_attempt_at == kept.current_period_end  # it renews again
    # The merchant hears both, as from the API's cancel.
    assert event_types(merchant.id) == ["subscription_non_renewing", "subscription_renewing"]
    assert f'id="cancel-{sub.pk}"' in client.get("/portal/").content.decode()


def test_a_cancel_cannot_be_undone_once_the_period_ended(api, merchant):
    sub = subscribe(merchant.id)  # its period ended long ago (15 Feb 2025)
    client = open_portal(api, sub)
    client.post(f"/portal/subscriptions/{sub.pk}/cancel")
    response = client.post(f"/portal/subscriptions/{sub.pk}/keep")
    assert response["Location"] == "/portal/?done=ended"
    assert reload(sub).status == "non_renewing"


def test_posts_without_the_csrf_token_are_refused(api, merchant):
    sub = subscribe(merchant.id)
    client = open_portal(api, sub, Client(enforce_csrf_checks=True))
    for action in ("cancel", "keep", "card"):
        assert client.post(f"/portal/subscriptions/{sub.pk}/{action}").status_code == 403
    assert reload(sub).status == "active" and event_types(merchant.id) == []


def test_another_customers_subscription_is_left_alone(api, merchant):
    mine, theirs = subscribe(merchant.id), subscribe(merchant.id)
    client = open_portal(api, mine)
    response = client.post(f"/portal/subscriptions/{theirs.pk}/cancel")
    assert response["Location"] == "/portal/"
    assert reload(theirs).status == "active"


# --- the card -----------------------------------------------------------------------------

def past_due(merchant_id: str) -> Subscription:
    """A subscription whose saved card declined its first renewal."""
    sub = subscribe(merchant_id, authorization="sbx_fail_renewals")
    with mode_context("test"):
        renewals_run(now=RENEWAL + timedelta(minutes=1), subscription_id=sub.pk)
    sub = reload(sub)
    assert sub.status == "past_due"
    return sub


def test_a_past_due_subscription_is_paid_and_renews_with_the_new_card(api, merchant):
    sub = past_due(merchant.id)
    client = open_portal(api, sub)
    html = client.get("/portal/").content.decode()
    assert 'data-status="past_due"' in html and "Visa •••• 0341" in html
    assert "Your last payment failed" in html

    response = client.post(f"/portal/subscriptions/{sub.pk}/card")
    assert response.status_code == 303
    with mode_context("test"):
        invoice = Invoice.objects.get(subscription=sub, status="open")
    assert response["Location"] == f"/invoice/{invoice.hosted_token}"
    page = client.get(response["Location"]).content.decode()
    assert 'id="back-to-portal"' in page and "kept for your subscription" in page

    declined = client.post(response["Location"], {**CARD, "card_number": "4000000000000002"})
    assert declined.status_code == 303
    assert 'id="form-error"' in client.get(response["Location"]).content.decode()
    assert reload(sub).status == "past_due"  # nothing changed; the portal says why
    assert "Your last payment failed: " in client.get("/portal/").content.decode()

    paid = client.post(response["Location"], CARD)
    assert paid.status_code == 303
    renewed = reload(sub)
    assert renewed.status == "active" and renewed.period_index == 1
    assert renewed.card.last4 == "4242" and renewed.card.authorization.startswith("sbx_ok_")
    with mode_context("test"):
        invoice.refresh_from_db()
        attempts = list(PaymentAttempt.objects.filter(invoice=invoice).order_by("created_at")
                        .values_list("status", flat=True))
    assert invoice.status == "paid" and attempts == ["failed", "failed", "succeeded"]
    assert event_types(merchant.id)[-1] == "subscription_payment_success"
    html = client.get("/portal/").content.decode()
    assert 'data-status="active"' in html and "Visa •••• 4242" in html

    with mode_context("test"):  # the next renewal charges the new card
        report = renewals_run(now=renewed.current_period_end + timedelta(minutes=1),
                              subscription_id=sub.pk)
    assert report.renewed == 1 and reload(sub).invoices_paid == 3


def test_with_nothing_due_a_card_check_saves_the_card_and_is_refunded_at_once(api, merchant):
    sub = subscribe(merchant.id, paid_at=timezone.now() - timedelta(days=3))
    client = open_portal(api, sub)
    response = client.post(f"/portal/subscriptions/{sub.pk}/card")
    assert response.status_code == 303 and response["Location"].startswith("/invoice/in_test_")
    # Asked again before paying: the same check, not a second one.
    assert client.post(f"/portal/subscriptions/{sub.pk}/card")["Location"] == (
        response["Location"])
    page = client.get(response["Location"]).content.decode()
    assert "Check your new card" in page and "₦50.00" in page and "/ month" not in page

    assert client.post(response["Location"], {**CARD, "card_number": "5555555555554444"}
                       ).status_code == 303
    assert 'id="card-saved"' in client.get(response["Location"]).content.decode()
    saved = reload(sub)
    assert saved.card.brand == "mastercard" and saved.card.last4 == "4444"
    assert saved.card.authorization.startswith("sbx_ok_")
    assert saved.status == "active" and saved.period_index == 0  # no period bought
    with mode_context("test"):
        check = Invoice.objects.get(subscription=sub, purpose="card_check")
        [refund] = Refund.objects.filter(payment__invoice=check)
    assert check.status == "paid" and check.amount == 5_000 and check.receipt_status == ""
    assert refund.reason == "card_check" and refund.amount == 5_000
    assert event_types(merchant.id) == []  # no subscription event: nothing was bought
    html = client.get("/portal/").content.decode()
    assert "Mastercard •••• 4444" in html and "Card check" in html

    with mode_context("test"):  # the next renewal charges the new card, on a new invoice
        report = renewals_run(now=saved.current_period_end + timedelta(minutes=1),
                              subscription_id=sub.pk)
    assert report.renewed == 1 and reload(sub).invoices_paid == 2


def test_an_ended_subscription_has_no_card_to_update(api, merchant):
    sub = subscribe(merchant.id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(status="canceled")
    client = open_portal(api, sub)
    assert client.post(f"/portal/subscriptions/{sub.pk}/card")["Location"] == (
        "/portal/?done=ended")


# --- the emails' signed link --------------------------------------------------------------

def test_receipts_and_reminders_carry_a_signed_manage_link(merchant, settings):
    settings.DURO_PUBLIC_URL = "http://testserver"
    sub = subscribe(merchant.id)
    invoice = open_invoice(merchant.id)
    with mode_context("test"):
        first = Invoice.objects.get(subscription=sub, number=1)
        Invoice.objects.filter(pk=first.pk).update(receipt_status="pending")
        invoice_receipt_send(invoice_id=first.pk)
        invoice_notice_send(invoice_id=invoice.pk)
    receipt, notice = mail.outbox
    for email in (receipt, notice):
        [url] = re.findall(r"Manage your subscription: (\S+)", email.body)
        assert url.startswith("http://testserver/portal/pm_test_")
        assert 'id="manage-subscription"' in email.alternatives[0][0]
    url = re.findall(r"Manage your subscription: (\S+)", receipt.body)[0]
    for _ in range(2):  # an email is opened more than once
        client = Client()
        assert client.get(url.removeprefix("http://testserver")).status_code == 303
        assert sub.plan.name in client.get("/portal/").content.decode()
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert Client().get(tampered.removeprefix("http://testserver")).status_code == 410
    relabelled = url.replace("pm_test_", "pm_live_")
    assert Client().get(relabelled.removeprefix("http://testserver")).status_code == 410


def test_a_manage_link_expires_after_seven_days(merchant, monkeypatch):
    sub = subscribe(merchant.id)
    real = time.time
    with monkeypatch.context() as patched, mode_context("test"):
        patched.setattr(time, "time", lambda: real() - 7 * 86400 - 60)
        url = portal_manage_url(sub.customer)
    path = url[url.index("/portal/"):]
    assert Client().get(path).status_code == 410


def test_the_answer_is_what_the_document_says(api, merchant):
    sub = subscribe(merchant.id)
    assert_documented("PortalSessionOutput", portal_link(api, sub.customer_id).json()["data"])
    operation = openapi()["paths"]["/v1/customers/{id}/portal-sessions"]["post"]
    assert set(operation["responses"]) >= {"201", "401", "404"}


def test_a_paused_subscription_says_so_and_offers_nothing_to_charge(api, merchant):
    sub = subscribe(merchant.id, clock=datetime(2025, 1, 20, tzinfo=UTC))
    assert api.post(f"/v1/subscriptions/{sub.id}/pause", {}, format="json").status_code == 200
    page = open_portal(api, sub).get("/portal/").content.decode()
    assert 'data-status="paused">Paused<' in page
    assert "nothing is charged until it resumes" in page
    assert f"update-card-{sub.pk}" not in page and f"cancel-{sub.pk}" not in page
    assert "Current period" not in page
