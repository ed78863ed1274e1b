"""Plan changes over the API (API.md §13), on the subscription's test clock: preview, then
change now or at the period's end; the proration is charged once on the saved card, a
decline leaves the old plan, and two concurrent changes never charge twice."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections

from billing.models import Invoice, PaymentAttempt, Plan, Subscription
from duro.modes import mode_context
from tests.billing.conftest import event_types, subscribe

pytestmark = pytest.mark.django_db(databases="__all__")

# The period paid on 15 January 2025 runs from 00:00 Lagos that day (14 Jan 23:00 UTC) for
# 31 days; this moment is exactly half of it.
HALF = datetime(2025, 1, 30, 11, 0, tzinfo=UTC)


def _plan(merchant_id, amount, interval="monthly", name=None, currency="NGN") -> Plan:
    with mode_context("test"):
        return Plan.objects.create(merchant_id=merchant_id, name=name or f"Plan {amount}",
                                   amount=amount, interval=interval, currency=currency)


def _reload(sub) -> Subscription:
    with mode_context("test"):
        return Subscription.objects.select_related("plan").get(pk=sub.pk)


def _prorations(sub) -> list[Invoice]:
    with mode_context("test"):
        return list(Invoice.objects.filter(subscription_id=sub.pk, purpose="proration"))


def _advance(api, sub, to):
    response = api.post(f"/v1/subscriptions/{sub.id}/advance", {"to": to.isoformat()},
                        format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_an_upgrade_charges_the_unused_half_now_and_keeps_the_billing_day(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    gold = _plan(acme.merchant.id, 3_000_000, name="Gold")
    preview = api.get(f"/v1/subscriptions/{sub.id}/change-preview?planId={gold.pk}").json()
    assert preview["data"] | {} == {
        "amountDueNow": 750_000, "vatDueNow": 0, "currency": "NGN", "credit": 750_000,
        "charge": 1_500_000, "nextInvoiceAmount": 3_000_000,
        "effectiveAt": "2025-01-30T11:00:00Z", "at": "now",
        "direction": "upgrade", "planId": gold.pk, "anchorChanges": False}
    assert _reload(sub).plan_id == sub.plan_id  # a preview changes nothing

    changed = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk},
                       format="json")
    assert changed.status_code == 200, changed.content
    data = changed.json()["data"]
    assert (data["planId"], data["pendingPlanId"]) == (gold.pk, None)
    assert data["currentPeriodEnd"] == "2025-02-14T23:00:00Z"  # the billing day is kept
    [invoice] = _prorations(sub)
    assert (invoice.status, invoice.amount) == ("paid", 750_000)
    assert "subscription_updated" in event_types(acme.merchant.id)
    # The next renewal bills the new price on the same day.
    _advance(api, sub, datetime(2025, 2, 15, 0, 0, tzinfo=UTC))
    with mode_context("test"):
        renewal = Invoice.objects.get(subscription_id=sub.pk, number__gt=invoice.number,
                                      purpose="")
    assert (renewal.amount, renewal.status) == (3_000_000, "paid")
    assert renewal.period_start == datetime(2025, 2, 14, 23, 0, tzinfo=UTC)


def test_a_downgrade_waits_for_the_period_end_and_the_renewal_bills_the_new_price(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    basic = _plan(acme.merchant.id, 900_000, name="Basic")
    preview = api.get(f"/v1/subscriptions/{sub.id}/change-preview?planId={basic.pk}")
    assert preview.json()["data"]["at"] == "period_end"
    assert preview.json()["data"]["amountDueNow"] == 0
    data = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": basic.pk},
                    format="json").json()["data"]
    assert (data["planId"], data["pendingPlanId"]) == (sub.plan_id, basic.pk)
    assert _prorations(sub) == []
    after = _advance(api, sub, datetime(2025, 2, 15, 0, 0, tzinfo=UTC))
    assert (after["planId"], after["pendingPlanId"]) == (basic.pk, None)
    with mode_context("test"):
        renewal = Invoice.objects.filter(subscription_id=sub.pk).order_by("-number").first()
    assert (renewal.amount, renewal.status) == (900_000, "paid")


def test_a_downgrade_now_carries_the_credit_to_the_next_invoice(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    basic = _plan(acme.merchant.id, 900_000, name="Basic")
    data = api.post(f"/v1/subscriptions/{sub.id}/change",
                    {"planId": basic.pk, "at": "now"}, format="json").json()["data"]
    # (900,000 − 1,500,000) × ½ = −300,000: carried, never refunded
    assert (data["planId"], data["creditBalance"]) == (basic.pk, 300_000)
    assert _prorations(sub) == []
    _advance(api, sub, datetime(2025, 2, 15, 0, 0, tzinfo=UTC))
    with mode_context("test"):
        renewal = Invoice.objects.filter(subscription_id=sub.pk).order_by("-number").first()
    assert (renewal.subtotal, renewal.credit_applied, renewal.amount) == (900_000, 300_000,
                                                                          600_000)
    assert _reload(sub).credit_balance == 0


def test_a_change_of_interval_starts_a_new_anchor_and_charges_less_the_credit(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    yearly = _plan(acme.merchant.id, 15_000_000, interval="annually", name="Yearly")
    data = api.post(f"/v1/subscriptions/{sub.id}/change",
                    {"planId": yearly.pk, "at": "now"}, format="json").json()["data"]
    [invoice] = _prorations(sub)
    assert invoice.amount == 15_000_000 - 750_000
    # a new period from 00:00 Lagos on the day of the change, for a year
    assert data["currentPeriodStart"] == "2025-01-29T23:00:00Z"
    assert data["currentPeriodEnd"] == "2026-01-29T23:00:00Z"


def test_a_declined_charge_leaves_the_old_plan(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF, authorization="sbx_fail_0341")
    gold = _plan(acme.merchant.id, 3_000_000)
    answer = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk},
                      format="json")
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "change_declined"
    assert _reload(sub).plan_id == sub.plan_id
    [invoice] = _prorations(sub)
    assert invoice.status == "void"
    assert _reload(sub).status == "active"  # no dunning for a change


def test_refusals(acme, api, make_merchant):
    sub = subscribe(acme.merchant.id, clock=HALF)
    dollars = _plan(acme.merchant.id, 10_000, currency="USD")
    same = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": sub.plan_id},
                    format="json")
    assert same.json()["error"]["code"] == "same_plan"
    other = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": dollars.pk},
                     format="json")
    assert other.json()["error"]["code"] == "currency_mismatch"
    assert api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": "plan_nope"},
                    format="json").status_code == 404
    assert api.get(f"/v1/subscriptions/{sub.id}/change-preview").status_code == 400
    elsewhere = subscribe(make_merchant().merchant.id)
    assert api.get(f"/v1/subscriptions/{elsewhere.id}/change-preview?planId=x").status_code == (
        404)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(status="past_due")
    gold = _plan(acme.merchant.id, 3_000_000)
    busy = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk}, format="json")
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "subscription_not_changeable"


def test_a_subscription_without_a_card_cannot_be_charged_for_an_upgrade(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(card=None)
    gold = _plan(acme.merchant.id, 3_000_000)
    answer = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk},
                      format="json")
    assert answer.status_code == 402 and answer.json()["error"]["code"] == "no_saved_card"
    assert _prorations(sub) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_two_concurrent_changes_never_charge_twice(acme, api):
    sub = subscribe(acme.merchant.id, clock=HALF)
    gold = _plan(acme.merchant.id, 3_000_000)
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def change():
        try:
            barrier.wait()
            answers.append(api.post(f"/v1/subscriptions/{sub.id}/change",
                                    {"planId": gold.pk}, format="json").status_code)
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=change) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(200) == 1, answers
    assert set(answers) <= {200, 400, 409}
    with mode_context("test"):
        paid = PaymentAttempt.objects.filter(invoice__subscription_id=sub.pk,
                                             invoice__purpose="proration", status="succeeded")
        assert [p.amount for p in paid] == [750_000]
    assert _reload(sub).plan_id == gold.pk


def test_an_upgrades_charge_adds_the_merchants_vat(acme, api):
    assert api.patch("/v1/merchant", {"tax": {"vatRate": "7.5"}},
                     format="json").status_code == 200
    sub = subscribe(acme.merchant.id, clock=HALF)
    gold = _plan(acme.merchant.id, 3_000_000)
    preview = api.get(f"/v1/subscriptions/{sub.id}/change-preview?planId={gold.pk}").json()
    assert (preview["data"]["amountDueNow"], preview["data"]["vatDueNow"]) == (806_250, 56_250)
    api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk}, format="json")
    [invoice] = _prorations(sub)
    assert (invoice.subtotal, invoice.vat_amount, invoice.amount) == (750_000, 56_250, 806_250)
    assert invoice.status == "paid"


def test_a_change_once_the_period_is_over_waits_for_the_renewal(acme, api):
    """After the period's end and before the renewal is recorded, a change would be priced
    on a period that has ended and race the renewal's charge: refused, nothing charged."""
    sub = subscribe(acme.merchant.id, clock=datetime(2025, 2, 14, 23, 30, tzinfo=UTC))
    gold = _plan(acme.merchant.id, 3_000_000)
    answer = api.post(f"/v1/subscriptions/{sub.id}/change", {"planId": gold.pk},
                      format="json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "renewal_in_progress"
    assert _prorations(sub) == [] and _reload(sub).plan_id == sub.plan_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_change_while_another_is_being_charged_is_refused(acme, api, monkeypatch):
    """The rail slowed down: the second change (to another plan) arrives while the first
    one's proration is being charged, and is refused; one charge only."""
    import time

    from billing.rails.card import CardRail

    real = CardRail.charge_authorization

    def slow(self, **kwargs):
        time.sleep(0.8)
        return real(self, **kwargs)

    monkeypatch.setattr(CardRail, "charge_authorization", slow)
    sub = subscribe(acme.merchant.id, clock=HALF)
    gold = _plan(acme.merchant.id, 3_000_000, name="Gold")
    platinum = _plan(acme.merchant.id, 4_500_000, name="Platinum")
    answers: dict[str, int] = {}

    def change(plan, delay):
        try:
            time.sleep(delay)
            answers[plan.pk] = api.post(f"/v1/subscriptions/{sub.id}/change",
                                        {"planId": plan.pk}, format="json").status_code
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=change, args=(gold, 0)),
               threading.Thread(target=change, args=(platinum, 0.3))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {gold.pk: 200, platinum.pk: 409}
    with mode_context("test"):
        paid = PaymentAttempt.objects.filter(invoice__subscription_id=sub.pk,
                                             invoice__purpose="proration")
        assert [(p.amount, p.status) for p in paid] == [(750_000, "succeeded")]
    assert _reload(sub).plan_id == gold.pk
