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
