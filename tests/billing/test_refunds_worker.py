"""End to end with a real Celery worker: money from a renewal charged during a *cancel now*
goes back to the customer, and the merchant's endpoint receives ``refund_succeeded``."""

from datetime import UTC, datetime

import pytest

from billing.models import PaymentAttempt, Refund, SandboxRefund, Subscription
from billing.rails import get_rail
from billing.renewals import renewals_run
from billing.subscriptions import subscription_cancel
from duro.modes import mode_context
from tests.billing.conftest import subscribe
from tests.webhooks.factories import endpoint_make
from tests.worker import wait_for
from webhooks.signing import verify

pytestmark = [pytest.mark.worker,
              pytest.mark.django_db(transaction=True, databases="__all__")]

NOW = datetime(2025, 2, 14, 23, 1, tzinfo=UTC)  # a minute into the renewal (Lagos midnight)


def test_a_renewal_paid_after_a_cancel_now_is_refunded_by_the_worker(acme, receiver, worker,
                                                                      monkeypatch):
    merchant_id = acme.merchant.id
    endpoint = endpoint_make(merchant_id, receiver.url("/refunds"), events=["refund_succeeded"])
    sub = subscribe(merchant_id)
    with mode_context("test"):
        Subscription.objects.filter(pk=sub.pk).update(metadata={"memberId": "M-12"})
    rail = get_rail("card")
    charge = rail.charge_authorization

    def charge_while_the_merchant_cancels(**kwargs):
        subscription_cancel(merchant_id=merchant_id, subscription_id=sub.pk,
                            at_period_end=False, now=NOW)
        return charge(**kwargs)

    monkeypatch.setattr(rail, "charge_authorization", charge_while_the_merchant_cancels)
    with mode_context("test"):
        renewals_run(now=NOW)  # commits; the refund task is queued after commit
        attempt = PaymentAttempt.objects.get(status="succeeded")

    wait_for(lambda: receiver.at("/refunds"), timeout=30, message="refund_succeeded")
    [delivery] = receiver.at("/refunds")
    event = verify(endpoint.secret, delivery.headers, delivery.body)
    assert event["type"] == "refund_succeeded"
    data = event["data"]
    assert data["refund"]["reason"] == "subscription_canceled"
    assert data["refund"]["status"] == "succeeded" and data["refund"]["amount"] == attempt.amount
    assert data["payment"]["id"] == attempt.pk
    assert data["payment"]["amountRefunded"] == attempt.amount
    assert data["invoice"]["status"] == "void" and data["invoice"]["amountRefunded"] == (
        attempt.amount)
    assert data["metadata"] == {"memberId": "M-12"}
    with mode_context("test"):
        assert Refund.objects.get().status == "succeeded"
        assert SandboxRefund.objects.count() == 1  # the rail gave it back once
        assert Subscription.objects.get(pk=sub.pk).status == "canceled"
