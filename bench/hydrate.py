"""Benchmark of hydrate and the hosted page against a bare Django view, side by side.

Brings up, on loopback and one PostgreSQL database:
- Duro under gunicorn (2 sync workers, production settings: DEBUG off, Redis cache);
- the bare baselines of ``bench/bare.py`` under the same gunicorn: one view, one indexed
  SELECT of the same checkout-session row; ``minimal`` with no middleware at all, and
  ``startproject`` with the middleware every new Django project starts with;
and drives each with wrk (50 connections). It prints requests/s and p99 for the bare
views, hydrate (``GET /v1/public/checkout/{token}``) and the hosted page
(``GET /checkout/{token}``), the ratios to each bare view, and how many statements reach
PostgreSQL per request, counted at the server from its log (``log_statement = all``
for this database only, for the counting phase). Rounds alternate the three targets so
that drift on a shared machine hits them alike. It is a script, not a test::

    .venv/bin/python bench/hydrate.py --seconds 10 --rounds 3

Needs wrk (Debian: ``apt-get install wrk``), PostgreSQL and Redis on loopback, and read
access to PostgreSQL's log (``--pg-log``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
DB = "duro_bench_web"
ENV = {
    "DATABASE_URL": f"{PG}/{DB}",
    "CACHE_URL": "redis://127.0.0.1:6379/10",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "k" * 50,
    "DURO_PUBLIC_URL": "http://127.0.0.1:8100",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "duro.settings",
    "BENCH_DATABASE_URL": f"{PG}/{DB}",
}
os.environ.update(ENV)


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')


def log_statements(on: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{DB}" SET log_statement = '
                     + ("'all'" if on else "DEFAULT"))


def seed() -> str:
    """Migrate, make a merchant with a published appearance and one open session."""
    import django

    django.setup()
    from django.core.management import call_command

    from appearance.services import (
        store_config_draft_update,
        store_config_get_or_create,
        store_config_publish,
    )
    from checkout.sessions import session_create
    from duro.merchants import merchant_create
    from duro.modes import mode_context

    for alias in ("default", "test", "live"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)
    stamp = time.time_ns()
    merchant = merchant_create(name="Bench Shop", email=f"bench{stamp}@example.com",
                               password="bench-pw-1").merchant
    store_config_get_or_create(merchant=merchant)
    store_config_draft_update(merchant=merchant, changes={"brand_color": "#0B6E4F"})
    store_config_publish(merchant=merchant)
    with mode_context("test"):
        session = session_create(merchant=merchant, amount=1_500_000, currency="NGN",
                                 description="Bench order", customer_email="ada@example.com")
    return session.token


class Server:
    def __init__(self, app: str, port: int, **env: str):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), app, "-w", "2", "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", "--backlog", "2048"],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True)

    def wait(self, path: str) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{self.url}{path} never answered 200")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def start_servers() -> dict[str, Server]:
    return {"duro": Server("duro.wsgi", 8100),
            "bare": Server("bench.bare", 8101, BENCH_BARE_STACK="minimal"),
            "project": Server("bench.bare", 8102, BENCH_BARE_STACK="startproject")}


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    return rate, float(p99.group(1)) * scale


def profile(server: Server, path: str, out: Path, seconds: int, connections: int) -> None:
    """py-spy on one of the server's workers (CPU only: ``--gil``) while wrk loads it."""
    worker = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True,
                            text=True).stdout.split()[0]
    load = subprocess.Popen(["wrk", "-t2", f"-c{connections}", f"-d{seconds + 2}s",
                             server.url + path], stdout=subprocess.DEVNULL)
    time.sleep(1)
    subprocess.run([str(ROOT / ".venv/bin/py-spy"), "record", "--pid", worker, "--gil",
                    "-d", str(seconds), "-o", str(out)], capture_output=True, check=True)
    load.wait()
    print(f"profile: {out}")


def statements_per_request(log: Path, url: str, requests: int) -> float:
    """Requests sent one by one after a warm-up; the log lines of this database between."""
    for _ in range(20):
        urllib.request.urlopen(url).read()
    time.sleep(0.5)
    start = log.stat().st_size
    for _ in range(requests):
        urllib.request.urlopen(url).read()
    time.sleep(1.0)
    with log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode(errors="replace").splitlines()
    marker = re.compile(rf"@{DB} LOG:  (statement|execute [^:]*):")
    return sum(1 for line in lines if marker.search(line)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also record a py-spy flame graph of one Duro worker per target")
    parser.add_argument("--pg-log", type=Path,
                        default=Path("/var/log/postgresql/postgresql-15-main.log"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing (Debian: apt-get install wrk)")

    ensure_database()
    token = seed()
    targets = {"bare minimal": ("bare", f"/s/{token}"),
               "bare project": ("project", f"/s/{token}"),
               "hydrate": ("duro", f"/v1/public/checkout/{token}"),
               "hosted page": ("duro", f"/checkout/{token}")}

    counts: dict[str, float] = {}
    if args.pg_log.exists():
        log_statements(True)
        try:
            servers = start_servers()
            try:
                for name, (server, path) in targets.items():
                    servers[server].wait(path)
                    counts[name] = statements_per_request(
                        args.pg_log, servers[server].url + path, 200)
            finally:
                for server in servers.values():
                    server.stop()
        finally:
            log_statements(False)

    servers = start_servers()
    rates: dict[str, list[float]] = {name: [] for name in targets}
    p99s: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for server, path in targets.values():
            servers[server].wait(path)
            wrk(servers[server].url + path, 2, args.connections)  # warm every worker
        for _ in range(args.rounds):
            for name, (server, path) in targets.items():
                rate, p99 = wrk(servers[server].url + path, args.seconds, args.connections)
                rates[name].append(rate)
                p99s[name].append(p99)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for name, (server, path) in targets.items():
                if server == "duro":
                    profile(servers[server], path, args.profile / f"{name.replace(' ', '-')}.svg",
                            args.seconds, args.connections)
    finally:
        for server in servers.values():
            server.stop()

    floor = statistics.median(rates["bare minimal"])
    project = statistics.median(rates["bare project"])
    print(f"{args.rounds} rounds of {args.seconds} s, wrk -t2 -c{args.connections}, "
          f"gunicorn 2 sync workers, {os.cpu_count()} cores; medians")
    print(f"{'target':<13} {'req/s':>7} {'/minimal':>9} {'/project':>9} {'p99 ms':>7} "
          f"{'statements':>11}")
    for name in targets:
        rate = statistics.median(rates[name])
        count = f"{counts[name]:.2f}" if name in counts else "n/a"
        print(f"{name:<13} {rate:>7.0f} {rate / floor:>9.2f} {rate / project:>9.2f} "
              f"{statistics.median(p99s[name]):>7.1f} {count:>11}")


if __name__ == "__main__":
    main()
