"""Benchmark of the renewal engine on PostgreSQL: renewals per second at 10k and 100k.

Seeds N due monthly subscriptions (test mode, sandbox card ``sbx_ok_…``)
with ``bulk_create``, runs the engine with one or more runner processes
(each claims batches with ``FOR UPDATE SKIP LOCKED``), checks that every
subscription was charged exactly once, and prints the rates and the
100k/10k time ratio. It is a script, not a test::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_bill_bench \\
        python bench/renewals.py --sizes 10000 100000 --workers 2

The database named in ``DATABASE_URL`` is created when missing and its
billing and webhooks tables in schema ``test`` are emptied before each size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")
os.environ.setdefault("DEBUG", "true")

PAID_AT = datetime(2025, 1, 15, 9, tzinfo=UTC)
MERCHANTS = 20


def _ensure_database() -> None:
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/duro_bill_bench (PostgreSQL only).")
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup() -> None:
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    for alias in ("default", "test", "live"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def _reset() -> None:
    from django.db import connections

    with connections["test"].cursor() as cursor:
        cursor.execute(
            "TRUNCATE billing_paymentattempt, billing_invoice, billing_subscription, "
            "billing_card, billing_customer, billing_plan, billing_invoicecounter, "
            "billing_sandboxcharge, webhooks_event CASCADE"
        )


def _merchants() -> list[str]:
    from duro.merchants import merchant_create
    from duro.models import Merchant

    ids = list(Merchant.objects.filter(slug__startswith="bench-").values_list("id", flat=True))
    while len(ids) < MERCHANTS:
        n = len(ids)
        ids.append(merchant_create(name=f"Bench {n}", email=f"bench{n}@example.com").merchant.id)
    return ids


def _seed(size: int, merchant_ids: list[str]) -> datetime:
    """``size`` active monthly subscriptions whose first period has just ended, each with
    the paid first invoice the checkout would have made (as in production, the tables
    the engine writes to are not empty when the planner first sees them)."""
    from billing.cycle import subscription_start
    from billing.models import Card, Customer, Invoice, InvoiceCounter, Plan, Subscription
    from duro.modes import mode_context

    start = subscription_start(interval="monthly", interval_count=1, trial_days=0,
                               paid_at=PAID_AT, tz="Africa/Lagos")
    with mode_context("test"):
        plans = Plan.objects.bulk_create([
            Plan(merchant_id=m, name="Bench plan", amount=1_500_000, interval="monthly")
            for m in merchant_ids
        ])
        chunk = 5000
        for offset in range(0, size, chunk):
            count = min(chunk, size - offset)
            owners = [plans[(offset + i) % len(plans)] for i in range(count)]
            customers = Customer.objects.bulk_create([
                Customer(merchant_id=p.merchant_id, email=f"c{offset + i}@bench.example")
                for i, p in enumerate(owners)
            ])
            cards = Card.objects.bulk_create([
                Card(merchant_id=c.merchant_id, customer=c, brand="visa", last4="4242",
                     exp_month=12, exp_year=2035, authorization=f"sbx_ok_bench{offset + i}")
                for i, c in enumerate(customers)
            ])
            subs = Subscription.objects.bulk_create([
                Subscription(
                    merchant_id=p.merchant_id, customer=c, plan=p, card=card, status="active",
                    anchor=start.anchor, time_zone="Africa/Lagos", amount=p.amount,
                    currency=p.currency, interval=p.interval, interval_count=p.interval_count,
                    invoice_limit=p.invoice_limit, trial_days=p.trial_days, period_index=0,
                    current_period_start=start.current_period_start,
                    current_period_end=start.current_period_end, invoices_paid=1,
                    next_attempt_at=start.current_period_end,
                )
                for p, c, card in zip(owners, customers, cards, strict=True)
            ])
            Invoice.objects.bulk_create([
                Invoice(merchant_id=s.merchant_id, number=offset + i + 1, customer=s.customer,
                        subscription=s, status="paid", amount=1_500_000, currency="NGN",
                        period_start=start.current_period_start,
                        period_end=start.current_period_end, paid_at=PAID_AT)
                for i, s in enumerate(subs)
            ])
        # Numbers above were unique across merchants; continue each merchant after the top.
        InvoiceCounter.objects.bulk_create([InvoiceCounter(merchant_id=m, last_number=size)
                                            for m in merchant_ids])
    return start.current_period_end + timedelta(minutes=1)


def _runner(now_iso: str, queue) -> None:
    _setup()
    from billing.renewals import renewals_run
    from duro.modes import mode_context

    with mode_context("test"):
        report = renewals_run(now=datetime.fromisoformat(now_iso))
    queue.put(report.as_dict())


def _run(now: datetime, workers: int) -> tuple[float, list[dict]]:
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_runner, args=(now.isoformat(), queue)) for _ in range(workers)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    reports = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return time.perf_counter() - started, reports


def _check(size: int) -> dict:
    from billing.models import Invoice, PaymentAttempt, SandboxCharge, Subscription
    from duro.modes import mode_context
    from webhooks.models import Event

    with mode_context("test"):
        counts = {
            "invoices": Invoice.objects.count() - size,  # less the seeded first invoices
            "paid": Invoice.objects.filter(status="paid").count() - size,
            "charges": SandboxCharge.objects.count(),
            "payments": PaymentAttempt.objects.filter(status="succeeded").count(),
            "events": Event.objects.count(),
            "renewed_subscriptions": Subscription.objects.filter(period_index=1).count(),
        }
    assert all(v == size for v in counts.values()), counts
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2, help="runner processes")
    args = parser.parse_args()
    _ensure_database()
    _setup()
    _migrate()
    merchant_ids = _merchants()
    results = []
    for size in args.sizes:
        _reset()
        seeded = time.perf_counter()
        now = _seed(size, merchant_ids)
        seed_s = time.perf_counter() - seeded
        from django.db import connections

        with connections["test"].cursor() as cursor:
            cursor.execute("ANALYZE")
        elapsed, reports = _run(now, args.workers)
        counts = _check(size)
        row = {"size": size, "workers": args.workers, "seconds": round(elapsed, 2),
               "renewals_per_second": round(size / elapsed, 1), "seed_seconds": round(seed_s, 1),
               "claimed_by_runner": [r["claimed"] for r in reports], **counts}
        results.append(row)
        print(json.dumps(row), flush=True)
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(json.dumps({
            "time_ratio": round(large["seconds"] / small["seconds"], 2),
            "size_ratio": large["size"] / small["size"],
        }), flush=True)


if __name__ == "__main__":
    main()
