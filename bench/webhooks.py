"""Benchmark of webhook delivery: deliveries per second and event-to-delivery latency.

Starts a local HTTP receiver on 127.0.0.1, a real Celery worker, writes N
events (each fanned out to one endpoint, committed in small transactions),
and measures how fast they arrive. Not a test; run it against the store and
broker you want to measure (it migrates the database it is given)::

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_wh \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 CACHE_URL=redis://127.0.0.1:6379/4 \\
    .venv/bin/python bench/webhooks.py --events 1000 --concurrency 2
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from duro.celery import app as celery_app  # noqa: E402
from duro.merchants import merchant_create  # noqa: E402
from duro.modes import mode_context  # noqa: E402
from webhooks.endpoints import endpoint_create  # noqa: E402
from webhooks.events import event_emit  # noqa: E402

arrivals: dict[str, float] = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.time()
        with lock:
            arrivals.setdefault(self.headers["Duro-Event-Id"], now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=20, help="events per transaction")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    for alias in ("default", "test", "live"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks"

    merchant = merchant_create(name=f"Bench {time.time_ns()}",
                               email=f"bench{time.time_ns()}@example.com", password="bench-pw-1")
    with mode_context("test"):
        endpoint_create(merchant_id=merchant.merchant.id, url=url, events=["*"])
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "duro", "worker", "--pool", "prefork",
         "--concurrency", str(args.concurrency), "--without-heartbeat", "--without-mingle",
         "--without-gossip", "--loglevel", "WARNING"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, start_new_session=True,
    )
    try:
        time.sleep(4)  # let the worker boot before the clock starts
        committed: dict[str, float] = {}
        started = time.time()
        for start in range(0, args.events, args.batch):
            with mode_context("test"), transaction.atomic(using="test"):
                batch = [event_emit(merchant_id=merchant.merchant.id, type="payment_success",
                                    data={"n": n, "metadata": {"orderId": f"ord_{n}"}})
                         for n in range(start, min(start + args.batch, args.events))]
            now = time.time()
            committed.update((e.id, now) for e in batch)
        emitted = time.time()
        deadline = time.time() + 300
        while len(arrivals) < args.events and time.time() < deadline:
            time.sleep(0.05)
        finished = max(arrivals.values()) if arrivals else time.time()
    finally:
        os.killpg(worker.pid, signal.SIGQUIT)
        worker.wait(timeout=30)
        server.shutdown()

    latencies = [(arrivals[i] - committed[i]) * 1000 for i in committed if i in arrivals]
    print(f"events            {args.events} (batches of {args.batch}, "
          f"worker prefork x{args.concurrency})")
    print(f"delivered         {len(arrivals)}")
    print(f"emit rate         {args.events / (emitted - started):.0f} events/s")
    print(f"delivery rate     {len(arrivals) / (finished - started):.0f} deliveries/s "
          f"(first commit to last arrival)")
    if latencies:
        print(f"latency p50       {statistics.median(latencies):.0f} ms")
        print(f"latency p99       {percentile(latencies, 99):.0f} ms")
        print(f"latency max       {max(latencies):.0f} ms")


if __name__ == "__main__":
    main()
