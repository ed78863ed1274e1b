"""Benchmark of the checkout pay over HTTP: pays per second, latency, and what reaches PostgreSQL.

Seeds a merchant, a plan and N open test-mode checkout sessions, starts gunicorn
(2 workers, DEBUG off) on loopback and pays every session with the sandbox card
that succeeds (``4242 4242 4242 4242``), a new payer each time, from ``--clients``
concurrent keep-alive clients. Then it prints pays/s and p50/p99 latency, the
statements and transactions one pay costs *at the server* (PostgreSQL's own
statement log, not the ORM's), and as a baseline the same row work — the
inserts and updates a pay writes, in the same transactions — driven by pgbench
with as many clients, and the ratio of the two. It is a script, not a test::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_pay_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 CACHE_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/pay.py --sessions 2000 --clients 4

The database named in ``DATABASE_URL`` is created when missing, migrated, and its
checkout, billing and webhooks tables in schema ``test`` are emptied first. The
statement count is taken in a short run of its own (``--counted`` pays) with
``log_statement = 'all'`` set on the database and read back from
``--pg-log`` between two markers; the timed run has statement logging off.
Run it as a user who can read that log (root, or in group ``adm``).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
os.environ.setdefault("LOG_LEVEL", "WARNING")

CARD = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2034, "cvc": "123"}
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
STATEMENT = re.compile(r"\[(\d+)\] \S*@(\S+) LOG:  statement: (.*)")


# --- database --------------------------------------------------------------------------

def _db_url() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/duro_pay_bench (PostgreSQL only).")
    base, name = url.rsplit("/", 1)
    return base, name


def _admin(sql: str) -> None:
    """A statement on the server's maintenance database (CREATE/ALTER DATABASE)."""
    import psycopg

    base, _ = _db_url()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _ensure_database() -> None:
    import psycopg

    base, name = _db_url()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    for alias in ("default", "test", "live"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def _reset() -> None:
    from django.db import connections

    with connections["test"].cursor() as cursor:
        cursor.execute(
            "TRUNCATE checkout_checkoutsession, billing_paymentattempt, billing_invoice, "
            "billing_subscription, billing_card, billing_customer, billing_plan, "
            "billing_invoicecounter, billing_sandboxcharge, webhooks_event CASCADE")


def _seed(count: int) -> list[str]:
    """A merchant with a plan and ``count`` open sessions for it; their tokens."""
    from billing.plans import plan_create
    from checkout.sessions import session_create
    from duro.merchants import merchant_create
    from duro.modes import mode_context

    stamp = time.time_ns()
    merchant = merchant_create(name=f"Bench pay {stamp}", email=f"pay{stamp}@bench.example")
    with mode_context("test"):
        plan = plan_create(merchant_id=merchant.merchant.id, name="Gold", amount=1_500_000,
                           interval="monthly")
        return [session_create(merchant=merchant.merchant, plan_id=plan.id,
                               success_url="https://shop.example/thanks",
                               metadata={"orderId": f"ord_{n}"}).token
                for n in range(count)]


# --- gunicorn --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1",
           "DURO_PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "ERROR",
           "PYTHONWARNINGS": "ignore",  # no collected static files: not served here
           # Every client pays from 127.0.0.1 with the same sandbox card: the per-address
           # and per-card ceilings are not under test.
           "DURO_PAY_RATE_PER_IP": "100000000", "DURO_PAY_RATE_PER_CARD": "100000000"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "duro.wsgi", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/public/checkout/cs_test_none", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def _spies(server: subprocess.Popen, folder: str, kind: str) -> list[subprocess.Popen]:
    """py-spy recording each worker of ``server`` until interrupted: a flame graph (svg)
    or collapsed stacks (txt, one stack and its sample count a line). Waits for
    PostgreSQL and Redis release the GIL and are left out: what remains is the
    workers' own CPU time."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    pids = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                          text=True).stdout.split()
    spies = [subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "--pid", pid,
                               "-o", f"{folder}/worker-{pid}.{kind}", "--rate", "200",
                               "--gil",  # only samples holding the GIL: Python's CPU time
                               "--format", "raw" if kind == "txt" else "flamegraph"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for pid in pids]
    time.sleep(1)  # attached before the clock starts
    return spies


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _server_pids(server: subprocess.Popen) -> tuple[list[int], list[int]]:
    """The gunicorn workers, and the PostgreSQL backends serving the benchmark database."""
    import psycopg

    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(server.pid)],
                                              capture_output=True, text=True).stdout.split()]
    base, name = _db_url()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        backends = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()", [name]).fetchall()]
    return workers, backends


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


# --- load ------------------------------------------------------------------------------

def _drive(port: int, tokens: list[str], clients: int) -> tuple[float, list[float], int]:
    """Pay every token from ``clients`` threads; wall seconds, latencies (ms), failures."""
    import httpx

    todo = list(reversed(tokens))
    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while True:
                with lock:
                    if not todo:
                        return
                    token = todo.pop()
                n = secrets.token_hex(6)
                started = time.perf_counter()
                response = http.post(f"/v1/public/checkout/{token}/pay", json={
                    "email": f"payer{n}@bench.example", "rail": "card",
                    "phone": f"0803{secrets.randbelow(10_000_000):07d}",
                    "card": CARD})
                took = (time.perf_counter() - started) * 1000
                ok = (response.status_code == 200
                      and response.json()["data"]["status"] == "completed")
                with lock:
                    latencies.append(took)
                    failures[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- counting at the server ------------------------------------------------------------

def _mark(label: str) -> str:
    """A statement only this script sends, to find a stretch of the server's log."""
    import psycopg

    base, name = _db_url()
    marker = f"bench-pay-{label}-{secrets.token_hex(4)}"
    with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
        conn.execute(f"SELECT '{marker}'")
    return marker


def _logged(path: str, start: str, end: str, database: str) -> list[str]:
    """The statements logged for ``database`` between the two markers."""
    lines: list[str] = []
    inside = False
    with open(path, errors="replace") as log:
        for line in log:
            if start in line:
                inside = True
                continue
            if end in line:
                break
            found = STATEMENT.search(line)
            if inside and found and found.group(2) == database:
                lines.append(found.group(3).strip())
    return lines


def _count(port: int, tokens: list[str], clients: int, log: str, database: str) -> dict:
    start = _mark("start")
    _, _, failures = _drive(port, tokens, clients)
    time.sleep(0.5)
    end = _mark("end")
    time.sleep(0.5)  # the log is written asynchronously
    statements = _logged(log, start, end, database)
    first = [s.split(None, 1)[0].upper().rstrip(";") if s else "" for s in statements]
    pays = len(tokens)
    return {
        "pays": pays, "failures": failures,
        "statements": len(statements) / pays,
        "transactions": first.count("BEGIN") / pays,
        "commits": first.count("COMMIT") / pays,
        "savepoints": sum(f in ("SAVEPOINT", "RELEASE") for f in first) / pays,
        "health_checks": sum(s.upper() == "SELECT 1" for s in statements) / pays,
        "sample": statements,
    }


# --- pgbench baseline ------------------------------------------------------------------

PGBENCH_TABLES = {
    "checkout_checkoutsession": "session", "billing_paymentattempt": "attempt",
    "billing_sandboxcharge": "charge", "billing_customer": "customer", "billing_card": "card",
    "billing_subscription": "subscription", "billing_invoicecounter": "counter",
    "billing_invoice": "invoice", "webhooks_event": "event",
}


def _template_rows(database_url: str) -> dict[str, tuple[list[str], list]]:
    """One real row of each table a pay writes (the last pay's), to copy in pgbench."""
    import psycopg

    rows = {}
    with psycopg.connect(database_url, options="-c search_path=test") as conn:
        for table in PGBENCH_TABLES:
            cursor = conn.execute(f"SELECT * FROM {table} LIMIT 1")
            rows[table] = ([c.name for c in cursor.description], list(cursor.fetchone()))
    return rows


def _pgbench_script(database_url: str, sessions: int) -> str:
    """Tables like the pay's (``LIKE … INCLUDING ALL``: same columns, keys and indexes, no
    foreign keys) in schema ``pgbench_pay``, and a script doing a pay's row work: lock the
    session, insert the attempt, update the session (claim); the sandbox ledger's row;
    lock session and attempt, insert customer, card, subscription, bump the invoice
    counter, insert the invoice, update attempt and session, insert two events
    (settle)."""
    import psycopg
    from psycopg import ClientCursor

    templates = _template_rows(database_url)
    conn = psycopg.connect(database_url, autocommit=True)
    with conn:
        conn.execute("DROP SCHEMA IF EXISTS pgbench_pay CASCADE")
        conn.execute("CREATE SCHEMA pgbench_pay")
        for table in PGBENCH_TABLES:
            conn.execute(f"CREATE TABLE pgbench_pay.{table} "
                         f"(LIKE test.{table} INCLUDING ALL)")
        conn.execute("INSERT INTO pgbench_pay.checkout_checkoutsession SELECT * FROM "
                     "test.checkout_checkoutsession")
        conn.execute("INSERT INTO pgbench_pay.billing_invoicecounter SELECT * FROM "
                     "test.billing_invoicecounter")
        session_ids = [r[0] for r in conn.execute(
            "SELECT id FROM pgbench_pay.checkout_checkoutsession ORDER BY id").fetchall()]
        conn.execute("CREATE TABLE pgbench_pay.ids (n int PRIMARY KEY, id text)")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO pgbench_pay.ids VALUES (%s, %s)",
                               list(enumerate(session_ids[:sessions], 1)))
    conn = psycopg.connect(database_url, autocommit=True)  # quotes the template values
    mogrify = ClientCursor(conn).mogrify

    def insert(table: str, **override: str) -> str:
        columns, values = templates[table]
        parts = []
        for column, value in zip(columns, values, strict=True):
            if column in override:
                parts.append(override[column])
            else:
                parts.append(mogrify("%s", [psycopg.types.json.Jsonb(value)
                                            if isinstance(value, dict | list) else value]))
        quoted = ", ".join(f'"{column}"' for column in columns)
        return (f"INSERT INTO pgbench_pay.{table} ({quoted}) "
                f"VALUES ({', '.join(parts)});")

    fresh = "'{p}_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24)"
    counter_merchant = templates["billing_invoicecounter"][1][0]
    session_table = "pgbench_pay.checkout_checkoutsession"
    attempt = "('pay_' || :client_id::text || '_' || :r::text)"
    lines = [
        f"\\set s random(1, {len(session_ids[:sessions])})",
        "\\set r random(1, 2000000000)",
        "SELECT id AS sid FROM pgbench_pay.ids WHERE n = :s \\gset",
        "BEGIN;",
        f"SELECT * FROM {session_table} WHERE id = :sid::text FOR UPDATE;",
        insert("billing_paymentattempt", id=attempt, status="'processing'"),
        f"UPDATE {session_table} SET status = 'processing', payment_id = {attempt}, "
        "customer_email = 'payer@bench.example' WHERE id = :sid::text;",
        "COMMIT;",
        insert("billing_sandboxcharge", idempotency_key=attempt),
        "BEGIN;",
        f"SELECT * FROM {session_table} WHERE id = :sid::text FOR UPDATE;",
        f"SELECT * FROM pgbench_pay.billing_paymentattempt WHERE id = {attempt} FOR UPDATE;",
        insert("billing_customer", id=fresh.format(p="cus"),
               email="'payer' || :client_id::text || '_' || :r::text || '@bench.example'"),
        insert("billing_card", id=fresh.format(p="card"),
               fingerprint=fresh.format(p="fp")),
        insert("billing_subscription", id=fresh.format(p="sub")),
        "UPDATE pgbench_pay.billing_invoicecounter SET last_number = last_number + 1 "
        f"WHERE merchant_id = {mogrify('%s', [counter_merchant])} "
        "RETURNING last_number AS num \\gset",
        insert("billing_invoice", id=fresh.format(p="inv"), number=":num::int",
               subscription_id="NULL"),
        f"UPDATE pgbench_pay.billing_paymentattempt SET status = 'succeeded', "
        f"paid_at = now(), updated_at = now() WHERE id = {attempt};",
        f"UPDATE {session_table} SET status = 'completed', completed_at = now() "
        "WHERE id = :sid::text;",
        insert("webhooks_event", id=fresh.format(p="evt")),
        insert("webhooks_event", id=fresh.format(p="evt")),
        "COMMIT;",
    ]
    conn.close()
    return "\n".join(lines) + "\n"


def _pgbench(database_url: str, sessions: int, clients: int, seconds: int) -> float:
    script = _pgbench_script(database_url, sessions)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
         "-T", str(seconds), "-f", f.name, database_url], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"pgbench failed ({f.name}):\n{out.stderr[-2000:]}")
    os.unlink(f.name)
    out = out.stdout
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    assert found, out
    return float(found.group(1))


# --- main ------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000, help="pays in the timed run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--counted", type=int, default=40,
                        help="pays in the run whose statements are counted at the server")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pg-log", default=PG_LOG)
    parser.add_argument("--show-statements", action="store_true",
                        help="print one pay's statements as the server logged them")
    parser.add_argument("--profile", metavar="DIR",
                        help="record each gunicorn worker with py-spy during the timed run "
                             "(DIR/worker-<pid>.svg, or .txt with --profile-format txt)")
    parser.add_argument("--profile-format", choices=["svg", "txt"], default="svg")
    args = parser.parse_args()

    _ensure_database()
    _setup_django()
    _reset()
    from django.core.cache import cache

    cache.clear()  # rate-limit counters of an earlier run
    warm = 20
    tokens = _seed(2 * warm + args.counted + args.show_statements + args.sessions)
    _, database = _db_url()
    port = _free_port()

    # 1. Count statements at the server, in a run of its own with statement logging on.
    _admin(f'ALTER DATABASE "{database}" SET log_statement = \'all\'')
    try:
        server = _gunicorn(port, args.workers)
        try:
            _drive(port, tokens[:warm], args.clients)  # connections opened, code warm
            counted = _count(port, tokens[warm:warm + args.counted], args.clients,
                             args.pg_log, database)
            if args.show_statements:  # one pay alone, so that its lines are not interleaved
                alone = _count(port, tokens[warm + args.counted:][:1], 1, args.pg_log,
                               database)
        finally:
            _stop(server)
    finally:
        _admin(f'ALTER DATABASE "{database}" RESET log_statement')

    # 2. The timed run, statement logging off.
    server = _gunicorn(port, args.workers)
    try:
        _drive(port, tokens[-warm:], args.clients)  # connections opened, code warm
        spies = _spies(server, args.profile, args.profile_format) if args.profile else []
        workers, backends = _server_pids(server)
        cpu = _cpu_seconds(workers), _cpu_seconds(backends)
        seconds, latencies, failures = _drive(
            port, tokens[warm + args.counted + args.show_statements:-warm], args.clients)
        cpu = _cpu_seconds(workers) - cpu[0], _cpu_seconds(backends) - cpu[1]
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    finally:
        _stop(server)
    from duro.celery import app as celery_app

    with celery_app.connection_for_write() as conn:  # the receipts nobody consumed
        conn.default_channel.queue_purge("celery")

    base_url = os.environ["DATABASE_URL"]
    pgbench_tps = _pgbench(base_url, args.sessions, args.clients, args.pgbench_seconds)
    rate = len(latencies) / seconds
    print(f"pays              {len(latencies)} ({failures} not completed), "
          f"{args.clients} clients, gunicorn x{args.workers}")
    print(f"throughput        {rate:.1f} pays/s")
    print(f"latency p50       {statistics.median(latencies):.1f} ms")
    print(f"latency p99       {percentile(latencies, 99):.1f} ms")
    print(f"CPU per pay       {cpu[0] / len(latencies) * 1000:.1f} ms in gunicorn workers, "
          f"{cpu[1] / len(latencies) * 1000:.1f} ms in PostgreSQL backends")
    print(f"at the server     {counted['statements']:.1f} statements per pay, "
          f"{counted['transactions']:.1f} transactions (BEGIN; {counted['commits']:.1f} "
          f"COMMIT), {counted['savepoints']:.1f} SAVEPOINT/RELEASE, "
          f"{counted['health_checks']:.1f} health-check SELECT 1 "
          f"(over {counted['pays']} pays, {counted['failures']} not completed)")
    print(f"pgbench baseline  {pgbench_tps:.1f} pays/s (the same row work, "
          f"{args.clients} clients)")
    print(f"ratio             {rate / pgbench_tps:.3f} of pgbench")
    if args.show_statements:
        for statement in alone["sample"]:
            print("   ", statement[:160])


if __name__ == "__main__":
    main()
