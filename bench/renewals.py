"""Benchmark of the renewal engine on PostgreSQL: renewals per second at 10k and 100k.

Seeds N due monthly subscriptions (test mode) with ``bulk_create``: most pay by a
saved sandbox card (``sbx_ok_…``), and ``--async-share`` of them (default 0.3,
spread evenly through the due order) were first paid by bank transfer, USSD or
mobile money and have no card, so their renewal takes the invoice path (an open
invoice with its hosted link, its email queued after commit, ``past_due``). Runs
the engine with one or more runner processes (each claims batches with
``FOR UPDATE SKIP LOCKED``) and checks that every card subscription was charged
exactly once and every other one has exactly one open invoice, one event and one
queued email. It prints, per size, the rate and how the runners' time divides
between the paths, then the 100k/10k time ratio. It is a script, not a test::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_bill_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 CACHE_URL=redis://127.0.0.1:6379/6 \\
        python bench/renewals.py --sizes 10000 100000 --workers 2 --async-share 0.3

The baseline (``bare``) is the same row work with no application: before the
engine runs, the INSERTs and UPDATEs a renewal makes (invoice counter, invoice,
attempt, sandbox charge, their updates, subscription, event) are done for the
whole due set by one set-based SQL statement each, in one transaction that is
then rolled back (and the tables vacuumed). It is the database's floor for these
rows, not a target: the engine also renders every event, asks a rail per charge
and queues every email.

The database named in ``DATABASE_URL`` is created when missing; its billing and
webhooks tables in schema ``test`` are emptied, and the broker's default queue
purged, before each size (the bench's queued emails are never sent).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")
os.environ.setdefault("DEBUG", "true")

PAID_AT = datetime(2025, 1, 15, 9, tzinfo=UTC)
MERCHANTS = 20
TABLES = ("billing_paymentattempt", "billing_invoice", "billing_subscription", "billing_card",
          "billing_customer", "billing_plan", "billing_invoicecounter",
          "billing_sandboxcharge", "billing_customernotice", "webhooks_event")


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


def _queued(*, purge: bool) -> int:
    """Messages waiting in the broker's default queue (the invoice emails the runs queued)."""
    from duro.celery import app

    queue = app.conf.task_default_queue
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        try:
            count = channel.queue_declare(queue=queue, passive=True).message_count
        except Exception:  # no such queue yet (nothing was ever queued)
            return 0
        if purge:
            channel.queue_purge(queue)
        return count


def _reset() -> None:
    from django.db import connections

    with connections["test"].cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    _queued(purge=True)


def _merchants() -> list[str]:
    from duro.merchants import merchant_create
    from duro.models import Merchant

    ids = list(Merchant.objects.filter(slug__startswith="bench-").values_list("id", flat=True))
    while len(ids) < MERCHANTS:
        n = len(ids)
        ids.append(merchant_create(name=f"Bench {n}", email=f"bench{n}@example.com").merchant.id)
    return ids


def _is_async(i: int, share: float) -> bool:
    """Spread the async subscriptions evenly, so that every claimed batch mixes both paths."""
    return int((i + 1) * share) > int(i * share)


def _seed(size: int, merchant_ids: list[str], share: float) -> datetime:
    """``size`` active monthly subscriptions whose first period has just ended, each with
    the paid first invoice the checkout would have made (as in production, the tables
    the engine writes to are not empty when the planner first sees them). A card
    subscription has its saved sandbox card; an async one has none, as a checkout paid by
    bank transfer, USSD or mobile money leaves it."""
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
            carded = [c for i, c in enumerate(customers) if not _is_async(offset + i, share)]
            cards = dict(zip((c.pk for c in carded), Card.objects.bulk_create([
                Card(merchant_id=c.merchant_id, customer=c, brand="visa", last4="4242",
                     exp_month=12, exp_year=2035, authorization=f"sbx_ok_bench_{c.pk}")
                for c in carded
            ]), strict=True))
            subs = Subscription.objects.bulk_create([
                Subscription(
                    merchant_id=p.merchant_id, customer=c, plan=p, card=cards.get(c.pk),
                    status="active", anchor=start.anchor, time_zone="Africa/Lagos",
                    amount=p.amount, currency=p.currency, interval=p.interval,
                    interval_count=p.interval_count, invoice_limit=p.invoice_limit,
                    trial_days=p.trial_days, period_index=0,
                    current_period_start=start.current_period_start,
                    current_period_end=start.current_period_end, invoices_paid=1,
                    next_attempt_at=start.current_period_end,
                )
                for p, c in zip(owners, customers, strict=True)
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


# --- the bare baseline: the same rows, written by one SQL statement each --------------------

_DUE = "SELECT * FROM billing_subscription WHERE next_attempt_at <= %(now)s AND status = 'active'"
BARE = {
    "lock the due subscriptions": f"SELECT id FROM ({_DUE}) d FOR UPDATE",
    # Number the new invoices per merchant from its counter, and insert them open: each a
    # copy of the period before with its id, number, period and status moved on.
    "number and insert the invoices": f"""
        WITH due AS ({_DUE}),
        counts AS (SELECT merchant_id, count(*) AS n FROM due GROUP BY merchant_id),
        bumped AS (UPDATE billing_invoicecounter c SET last_number = c.last_number + counts.n
                   FROM counts WHERE c.merchant_id = counts.merchant_id
                   RETURNING c.merchant_id, c.last_number - counts.n AS base),
        numbered AS (SELECT due.id, due.current_period_end, bumped.base + row_number()
                     OVER (PARTITION BY due.merchant_id ORDER BY due.id) AS number
                     FROM due JOIN bumped USING (merchant_id))
        INSERT INTO billing_invoice SELECT renewal.*
        FROM numbered JOIN billing_invoice i ON i.subscription_id = numbered.id
        CROSS JOIN LATERAL jsonb_populate_record(NULL::billing_invoice,
            to_jsonb(i) || jsonb_build_object(
                'id', 'inv_r' || substr(numbered.id, 5), 'number', numbered.number,
                'status', 'open', 'paid_at', NULL, 'created_at', now(),
                'period_start', numbered.current_period_end,
                'period_end', numbered.current_period_end + interval '1 month')) AS renewal""",
    "insert the attempts (card)": f"""
        INSERT INTO billing_paymentattempt (id, merchant_id, session_id, rail, status, amount,
            currency, card_brand, card_last4, rail_reference, failure_code, failure_message,
            created_at, updated_at, customer_id, invoice_id, idempotency_key, amount_refunded,
            instructions, step, step_url)
        SELECT 'pay_r' || substr(d.id, 5), d.merchant_id, '', 'card', 'processing', d.amount,
            d.currency, '', '', '', '', '', now(), now(), d.customer_id,
            'inv_r' || substr(d.id, 5), 'inv_r' || substr(d.id, 5), 0, '{{}}', '', ''
        FROM ({_DUE}) d WHERE d.card_id IS NOT NULL""",
    "the sandbox rail's charges (card)": f"""
        INSERT INTO billing_sandboxcharge (idempotency_key, rail, amount, currency, outcome,
                                           created_at)
        SELECT 'inv_r' || substr(d.id, 5), 'card', d.amount, d.currency,
            jsonb_build_object('status', 'succeeded', 'reference', 'sbx_' || d.id), now()
        FROM ({_DUE}) d WHERE d.card_id IS NOT NULL""",
    "settle the attempts (card)": f"""
        UPDATE billing_paymentattempt p SET status = 'succeeded', paid_at = now(),
            rail_reference = 'sbx_' || d.id, card_brand = 'visa', card_last4 = '4242',
            card_exp_month = 12, card_exp_year = 2035, updated_at = now()
        FROM ({_DUE}) d WHERE d.card_id IS NOT NULL AND p.id = 'pay_r' || substr(d.id, 5)""",
    "mark the invoices paid (card), link and email (async)": f"""
        UPDATE billing_invoice i SET
            status = CASE WHEN d.card_id IS NULL THEN 'open' ELSE 'paid' END,
            paid_at = CASE WHEN d.card_id IS NULL THEN NULL ELSE now() END,
            receipt_status = CASE WHEN d.card_id IS NULL THEN '' ELSE 'pending' END,
            hosted_token = CASE WHEN d.card_id IS NULL THEN 'in_test_' || md5(d.id) END,
            merchant_name = 'Bench', notice_at = now(),
            notice_status = CASE WHEN d.card_id IS NULL THEN 'pending' ELSE '' END
        FROM ({_DUE}) d WHERE i.id = 'inv_r' || substr(d.id, 5)""",
    "advance (card) or dun (async) the subscriptions": f"""
        UPDATE billing_subscription s SET
            status = CASE WHEN d.card_id IS NULL THEN 'past_due' ELSE 'active' END,
            period_index = d.period_index + (d.card_id IS NOT NULL)::int,
            current_period_start = CASE WHEN d.card_id IS NULL THEN d.current_period_start
                                        ELSE d.current_period_end END,
            current_period_end = CASE WHEN d.card_id IS NULL THEN d.current_period_end
                                      ELSE d.current_period_end + interval '1 month' END,
            invoices_paid = d.invoices_paid + (d.card_id IS NOT NULL)::int,
            dunning_attempts = (d.card_id IS NULL)::int,
            next_attempt_at = d.current_period_end + CASE WHEN d.card_id IS NULL
                THEN interval '1 day' ELSE interval '1 month' END
        FROM ({_DUE}) d WHERE s.id = d.id""",
    # One event each, its data about the size of the engine's (whole rows as JSON).
    "insert the events": """
        INSERT INTO webhooks_event (id, merchant_id, type, mode, data, created_at)
        SELECT 'evt_r' || substr(s.id, 5), s.merchant_id,
            CASE WHEN s.card_id IS NULL THEN 'subscription_payment_failed'
                 ELSE 'subscription_payment_success' END, 'test',
            jsonb_build_object('subscription', to_jsonb(s), 'customer', to_jsonb(c),
                               'invoice', to_jsonb(i), 'payment', to_jsonb(p)), now()
        FROM billing_subscription s JOIN billing_customer c ON c.id = s.customer_id
        JOIN billing_invoice i ON i.id = 'inv_r' || substr(s.id, 5)
        LEFT JOIN billing_paymentattempt p ON p.id = 'pay_r' || substr(s.id, 5)""",
}


def _bare(now: datetime, size: int) -> dict:
    """Time the bare statements in one transaction, check they wrote a renewal's rows, then
    roll back and vacuum (the engine then finds the tables as seeded)."""
    from django.db import connections

    connection = connections["test"]
    steps: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        started = time.perf_counter()
        for what, sql in BARE.items():
            step = time.perf_counter()
            cursor.execute(sql, {"now": now})
            steps[what] = round(time.perf_counter() - step, 2)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM webhooks_event")
        events = cursor.fetchone()[0]
        cursor.execute("ROLLBACK")
        assert events == size, (events, size)
        cursor.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
    return {"seconds": round(seconds, 2), "steps": steps}


# --- the engine -----------------------------------------------------------------------------

def _timed(spent: dict, path: str, fn):
    """``fn``, adding its wall time to ``spent[path]``."""
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[path] += time.perf_counter() - started
    return run


def _runner(now_iso: str, queue) -> None:
    _setup()
    from billing import renewals
    from duro.modes import mode_context

    # Where the runner's time goes, per path: the invoice path (no card) is its step and its
    # events, inside the claim; the card path is its attempts, the charges and the settle.
    # The rest (the claim's query, writing the subscriptions, commits) is shared.
    spent: dict[str, float] = defaultdict(float)
    renewals.invoice_renewals_step = _timed(spent, "async", renewals.invoice_renewals_step)
    renewals._event = _timed(spent, "async", renewals._event)
    renewals.events_emit = _timed(spent, "async", renewals.events_emit)  # the claim's: async
    for name in ("_open_invoices", "_charge", "_settle"):
        setattr(renewals, name, _timed(spent, "card", getattr(renewals, name)))
    started = time.perf_counter()
    with mode_context("test"):
        report = renewals.renewals_run(now=datetime.fromisoformat(now_iso))
    total = time.perf_counter() - started
    queue.put({**report.as_dict(), "seconds": total, "async_s": spent["async"],
               "card_s": spent["card"], "shared_s": total - spent["async"] - spent["card"]})


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


def _check(size: int, n_async: int) -> dict:
    """Every card subscription charged exactly once and advanced; every async one with
    exactly one open invoice (linked, its email pending and queued), one
    ``subscription_payment_failed`` and ``past_due``."""
    from django.db import connections

    n_card = size - n_async
    with connections["test"].cursor() as cursor:
        def one(sql: str) -> int:
            cursor.execute(sql)
            return cursor.fetchone()[0]

        counts = {
            # Each subscription has exactly two invoices: the seeded one and its renewal's.
            "subs_with_two_invoices": one(
                "SELECT count(*) FROM (SELECT subscription_id FROM billing_invoice "
                "GROUP BY subscription_id HAVING count(*) = 2) x"),
            "card_charged_once": one(
                "SELECT count(*) FROM (SELECT s.id FROM billing_subscription s "
                "JOIN billing_invoice i ON i.subscription_id = s.id "
                "JOIN billing_sandboxcharge c ON c.idempotency_key = i.id "
                "WHERE s.card_id IS NOT NULL GROUP BY s.id HAVING count(*) = 1) x"),
            "charges": one("SELECT count(*) FROM billing_sandboxcharge"),
            "card_paid_and_advanced": one(
                "SELECT count(*) FROM billing_subscription s JOIN billing_invoice i "
                "ON i.subscription_id = s.id AND i.period_start = s.current_period_start "
                "JOIN billing_paymentattempt p ON p.invoice_id = i.id "
                "WHERE s.card_id IS NOT NULL AND s.status = 'active' AND s.period_index = 1 "
                "AND i.status = 'paid' AND i.receipt_status = 'pending' "
                "AND p.status = 'succeeded'"),
            "async_invoice_open": one(
                "SELECT count(*) FROM billing_subscription s JOIN billing_invoice i "
                "ON i.subscription_id = s.id AND i.period_start = s.current_period_end "
                "WHERE s.card_id IS NULL AND s.status = 'past_due' AND s.period_index = 0 "
                "AND s.dunning_attempts = 1 AND i.status = 'open' "
                "AND i.hosted_token LIKE 'in_test_%%' AND i.notice_status = 'pending' "
                "AND i.notice_step = 0"),
            "async_attempts": one(
                "SELECT count(*) FROM billing_paymentattempt p JOIN billing_invoice i "
                "ON i.id = p.invoice_id JOIN billing_subscription s "
                "ON s.id = i.subscription_id WHERE s.card_id IS NULL"),
            "events_success": one("SELECT count(DISTINCT data->'subscription'->>'id') "
                                  "FROM webhooks_event "
                                  "WHERE type = 'subscription_payment_success'"),
            "events_failed": one("SELECT count(DISTINCT data->'subscription'->>'id') "
                                 "FROM webhooks_event "
                                 "WHERE type = 'subscription_payment_failed'"),
            "events": one("SELECT count(*) FROM webhooks_event"),
        }
    counts["emails_queued"] = _queued(purge=True)
    expected = {"subs_with_two_invoices": size, "card_charged_once": n_card, "charges": n_card,
                "card_paid_and_advanced": n_card, "async_invoice_open": n_async,
                "async_attempts": 0, "events_success": n_card, "events_failed": n_async,
                "events": size, "emails_queued": n_async}
    assert counts == expected, {k: (v, expected[k]) for k, v in counts.items()
                                if v != expected[k]}
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2, help="runner processes")
    parser.add_argument("--async-share", type=float, default=0.3,
                        help="share of subscriptions without a card (the invoice path)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    args = parser.parse_args()
    if not 0 <= args.async_share <= 1:
        parser.error("--async-share is between 0 and 1")
    _ensure_database()
    _setup()
    _migrate()
    merchant_ids = _merchants()
    results = []
    for size in args.sizes:
        _reset()
        seeded = time.perf_counter()
        now = _seed(size, merchant_ids, args.async_share)
        seed_s = time.perf_counter() - seeded
        n_async = sum(_is_async(i, args.async_share) for i in range(size))
        from django.db import connections

        with connections["test"].cursor() as cursor:
            cursor.execute("ANALYZE")
        bare = None if args.no_bare else _bare(now, size)
        elapsed, reports = _run(now, args.workers)
        counts = _check(size, n_async)
        runner_s = {k: round(sum(r[k] for r in reports), 1)
                    for k in ("seconds", "card_s", "async_s", "shared_s")}
        row = {"size": size, "workers": args.workers, "async": n_async,
               "seconds": round(elapsed, 2), "renewals_per_second": round(size / elapsed, 1),
               "seed_seconds": round(seed_s, 1),
               "claimed_by_runner": [r["claimed"] for r in reports],
               "renewed": sum(r["renewed"] for r in reports),
               "invoiced": sum(r["failed"] for r in reports),
               # Runner-seconds (summed over runners) per path, and per renewal of it.
               "runner_seconds": runner_s,
               "ms_per_card_renewal": round(1000 * runner_s["card_s"] / (size - n_async), 3)
               if size > n_async else None,
               "ms_per_async_renewal": round(1000 * runner_s["async_s"] / n_async, 3)
               if n_async else None,
               "checks": counts}
        if bare is not None:
            row["bare"] = {**bare, "renewals_per_second": round(size / bare["seconds"], 1),
                           "ratio": round(bare["seconds"] / elapsed, 3)}
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
