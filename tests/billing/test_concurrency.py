"""Concurrent runners and concurrent invoices on PostgreSQL: one charge per period, no gaps."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections, transaction

from billing.invoices import invoice_number_next
from billing.models import Invoice, InvoiceCounter, PaymentAttempt, SandboxCharge
from billing.renewals import renewals_run
from duro.modes import mode_context
from tests.billing.conftest import subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases="__all__")]


def _in_threads(target, count: int) -> list:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            with mode_context("test"):
                barrier.wait()
                results.append(target())
        except Exception as exc:  # reported below, with the test's failure
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_two_runners_charge_each_period_once(make_merchant):
    merchants = [make_merchant().merchant, make_merchant().merchant]
    subs = [subscribe(merchants[i % 2].id, authorization="sbx_ok_x" if i % 3 else "sbx_fail_y")
            for i in range(60)]
    now = datetime(2025, 4, 20, tzinfo=UTC)  # three periods due (Feb, Mar, Apr) for the good
    reports = _in_threads(lambda: renewals_run(now=now, batch=7), 2)
    assert sum(r.claimed for r in reports) >= len(subs)
    with mode_context("test"):
        for sub in subs:
            rows = list(Invoice.objects.filter(subscription=sub).order_by("period_start"))
            starts = [i.period_start for i in rows]
            assert len(starts) == len(set(starts))
        renewal_invoices = Invoice.objects.exclude(number=1).filter(
            subscription__in=subs, payments__isnull=False).distinct()
        good = [s for i, s in enumerate(subs) if i % 3]
        assert Invoice.objects.filter(subscription__in=good).count() == len(good) * 4
        # One sandbox charge per payment attempt, one succeeded attempt per paid renewal.
        keys = list(PaymentAttempt.objects.values_list("idempotency_key", flat=True))
        assert len(keys) == len(set(keys))
        assert SandboxCharge.objects.count() == len(keys)
        assert PaymentAttempt.objects.filter(status="succeeded").count() == len(good) * 3
        assert renewal_invoices.count() == len(good) * 3 + (len(subs) - len(good))
        for merchant in merchants:
            numbers = sorted(Invoice.objects.filter(merchant_id=merchant.id)
                             .values_list("number", flat=True))
            assert numbers == list(range(1, len(numbers) + 1))


def test_concurrent_invoice_numbers_have_no_gaps_or_duplicates():
    def take() -> list[int]:
        taken = []
        for i in range(10):
            try:
                with transaction.atomic(using="test"):
                    taken.append(invoice_number_next(merchant_id="mer_race"))
                    if i % 4 == 3:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                taken.pop()
        return taken

    results = _in_threads(take, 4)
    numbers = sorted(n for chunk in results for n in chunk)
    assert numbers == list(range(1, len(numbers) + 1))
    with mode_context("test"):
        assert InvoiceCounter.objects.get(pk="mer_race").last_number == len(numbers)


def test_a_hundred_concurrent_refunds_never_give_back_more_than_was_paid(api, acme,
                                                                         monkeypatch):
    """100 requests of ₦200 against a ₦15,000 payment, 20 at a time: exactly 75 are
    refunded, the other 25 are a 400 naming ``amount``, and the rail gave back ₦15,000."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from rest_framework.test import APIClient

    from billing import refunds as service
    from billing.models import Refund, SandboxRefund
    from tests.checkout.factories import make_session, pay
    from tests.conftest import client_for
    from webhooks.models import Event

    session = make_session(api)
    assert pay(APIClient(), session["token"]).json()["data"]["status"] == "completed"
    [payment] = api.get("/v1/payments").json()["data"]
    requests, threads = 100, 20  # bounded: each thread holds two connections (core, test)
    read_left = service._left

    def slow_read(payment):  # a loaded database: what is left was read a moment ago
        left = read_left(payment)
        time.sleep(0.005)
        return left

    monkeypatch.setattr(service, "_left", slow_read)
    barrier = threading.Barrier(threads)

    def refunds(n: int) -> list[tuple[int, str | None]]:
        client = client_for(acme.keys["test"]["secret"])
        answers = []
        try:
            barrier.wait()
            for _ in range(n):
                response = client.post("/v1/refunds", {"paymentId": payment["id"],
                                                       "amount": 20_000}, format="json")
                body = response.json()
                answers.append((response.status_code, body.get("error", {}).get("param")))
        finally:
            connections.close_all()
        return answers

    with ThreadPoolExecutor(threads) as pool:
        answers = [a for chunk in pool.map(refunds, [requests // threads] * threads)
                   for a in chunk]
    assert len(answers) == requests
    assert answers.count((201, None)) == 75
    assert answers.count((400, "amount")) == 25
    after = api.get(f"/v1/payments/{payment['id']}").json()["data"]
    assert after["amountRefunded"] == 1_500_000 and len(after["refunds"]) == 75
    with mode_context("test"):
        assert sum(Refund.objects.values_list("amount", flat=True)) == 1_500_000
        assert set(Refund.objects.values_list("status", flat=True)) == {"succeeded"}
        assert sum(SandboxRefund.objects.values_list("amount", flat=True)) == 1_500_000
        assert Event.objects.filter(type="refund_succeeded").count() == 75
