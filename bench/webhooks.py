"""Benchmark of webhook delivery against its own bare baseline, a raw HTTP loop.

Three phases, all against one local receiver (a separate process on
127.0.0.1, HTTP/1.1 with keep-alive, counting TCP connections), with a real
Celery worker (prefork, ``--concurrency`` processes, every queue as under
``./dev up``) running and warmed up by one delivery:

1. **worker, backlog** — ``--events`` events (one delivery each) are written
   in one transaction, so that they are all due at once, and queued after
   its commit; deliveries/s is counted from the first arrival to the last.
2. **worker, sustained** — events are emitted at ``--rate`` per second for
   ``--seconds``, each in its own small transaction as a pay would, and
   created→received is the time from the commit to the receiver's clock; at
   the same time customers pay ``--pays`` times a second over HTTP (Duro under
   gunicorn, 2 workers, the sandbox card), and their events' created→received
   is printed too.
3. **raw loop** (worker stopped) — ``--concurrency`` processes, each with one
   ``httpx.Client``, POST the backlog's bodies, signed by the same code as
   the worker's, as fast as the receiver answers: the ceiling here.

It prints both rates, their ratio and the latency percentiles. Use a database
and broker of its own (it migrates the database and purges the queues)::

    SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/duro_wh_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 CACHE_URL=redis://127.0.0.1:6379/4 \\
    .venv/bin/python bench/webhooks.py --events 2000 --rate 200 --seconds 20

``--py-spy FILE.svg`` records the worker (and its pool processes) with
py-spy during the backlog (a flame graph; any other suffix: collapsed
stacks, one line each, to read as text).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import signal
import socket
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
# As in production (DEBUG off: no query log in the worker), but the receiver is local.
os.environ.setdefault("DURO_WEBHOOK_ALLOW_LOOPBACK", "true")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.pay import CARD, _free_port, _gunicorn, _stop  # noqa: E402
from billing.plans import plan_create  # noqa: E402
from checkout.sessions import session_create  # noqa: E402
from duro.celery import app as celery_app  # noqa: E402
from duro.merchants import merchant_create  # noqa: E402
from duro.modes import mode_context  # noqa: E402
from webhooks.delivery import delivery_headers, event_body  # noqa: E402
from webhooks.endpoints import endpoint_create  # noqa: E402
from webhooks.events import event_emit  # noqa: E402
from webhooks.models import Delivery, Event, WebhookEndpoint  # noqa: E402
from webhooks.signing import sign_all  # noqa: E402

# --- The receiver: its own process, so that its GIL is not the emitter's ----------

def _receiver_main(port_out, ready) -> None:
    arrivals: dict[str, float] = {}
    connections_opened = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any real receiver

        def setup(self):
            nonlocal connections_opened
            super().setup()
            # Answers go out as headers then body: without this, Nagle and the
            # client's delayed ACK add 40 ms to every request on a kept connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with lock:
                connections_opened += 1

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            event_id = self.headers.get("webhook-id", "")
            with lock:
                arrivals.setdefault(event_id, now)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self):  # the bench reads what arrived, then forgets it
            nonlocal connections_opened
            with lock:
                body = json.dumps({"arrivals": arrivals,
                                   "connections": connections_opened}).encode()
                arrivals.clear()
                connections_opened = 0
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    port_out.value = server.server_port
    ready.set()
    server.serve_forever()


class Receiver:
    def __init__(self):
        ctx = multiprocessing.get_context("fork")
        port, ready = ctx.Value("i", 0), ctx.Event()
        self.process = ctx.Process(target=_receiver_main, args=(port, ready), daemon=True)
        self.process.start()
        ready.wait(10)
        self.base = f"http://127.0.0.1:{port.value}"

    def take(self) -> tuple[dict[str, float], int]:
        """What arrived since the last call (event id → time) and TCP connections opened."""
        answer = httpx.get(f"{self.base}/arrivals", timeout=30).json()
        return answer["arrivals"], answer["connections"]

    def wait_for(self, count: int, timeout: float) -> tuple[dict[str, float], int]:
        """Poll until ``count`` deliveries arrived (or the deadline); returns them."""
        arrivals: dict[str, float] = {}
        opened = 0
        deadline = time.time() + timeout
        while len(arrivals) < count and time.time() < deadline:
            time.sleep(0.25)
            more, conns = self.take()
            arrivals.update(more)
            opened += conns
        return arrivals, opened

    def close(self):
        self.process.terminate()


# --- Phase 1: the raw loop -------------------------------------------------------

def _raw_loop(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> None:
    with httpx.Client(timeout=15) as client:
        for body, headers in requests:
            client.post(url, content=body, headers=headers).raise_for_status()


def raw_rate(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int) -> float:
    connections.close_all()  # the children must not share the parent's sockets
    ctx = multiprocessing.get_context("fork")
    slices = [requests[i::concurrency] for i in range(concurrency)]
    procs = [ctx.Process(target=_raw_loop, args=(url, s)) for s in slices]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    took = time.perf_counter() - started
    if any(p.exitcode for p in procs):
        sys.exit("the raw loop failed")
    return len(requests) / took


def signed_requests(events: list[Event], endpoint: WebhookEndpoint):
    """The bodies and headers the worker sends for these events, made by the same code."""
    now = timezone.now()
    secrets = endpoint.signing_secrets(now)
    out = []
    for event in events:
        body = event_body(event)
        timestamp = int(now.timestamp())
        out.append((body, delivery_headers(
            event_id=event.id, timestamp=timestamp,
            signature=sign_all(secrets, event.id, timestamp, body))))
    return out


# --- Phases 2 and 3: the worker ----------------------------------------------------

def worker_start(concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "duro", "worker", "--pool", "prefork",
         "--concurrency", str(concurrency), "--without-heartbeat",
         "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, start_new_session=True,
        stdout=subprocess.DEVNULL,  # the banner; warnings and errors go to stderr
    )


def worker_stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGQUIT)  # cold shutdown: fast
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a prefork pool can hang in its own shutdown
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=15)


def emit(merchant_id: str, n: int) -> Event:
    with mode_context("test"), transaction.atomic(using="test"):
        return event_emit(merchant_id=merchant_id, type="payment_success",
                          data={"n": n, "metadata": {"orderId": f"ord_{n}"}})


PAYERS = 2  # HTTP clients paying in phase 2


def sessions_for(merchant, count: int) -> list[str]:
    """``count`` open sessions of a monthly plan of ``merchant``; their tokens."""
    if not count:
        return []
    with mode_context("test"):
        plan = plan_create(merchant_id=merchant.id, name="Gold", amount=1_500_000,
                           interval="monthly")
        return [session_create(merchant=merchant, plan_id=plan.id).token
                for _ in range(count)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="backlog (phases 1 and 3)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--rate", type=float, default=200, help="events/s emitted in phase 2")
    parser.add_argument("--seconds", type=float, default=20, help="length of phase 2")
    parser.add_argument("--emitters", type=int, default=4, help="threads emitting in phase 2")
    parser.add_argument("--pays", type=float, default=20,
                        help="pays/s over HTTP (gunicorn) during phase 2; 0 for none")
    parser.add_argument("--py-spy", metavar="FILE", help="record the worker in phase 1")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise

    for alias in ("default", "test", "live"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)
    with mode_context("test"):  # what earlier runs left behind is not this run's work
        WebhookEndpoint.objects.update(status=WebhookEndpoint.Status.DISABLED)
        Delivery.objects.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CANCELED, next_attempt_at=None)
    # Earlier runs' dead rows would slow this one's due-delivery scans until autovacuum
    # gets to them (or forever, where it is off): every run starts from a vacuumed table.
    with connections["test"].cursor() as cursor:
        for model in (Delivery, Event):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    receiver = Receiver()
    url = f"{receiver.base}/hooks"
    stamp = time.time_ns()
    merchant = merchant_create(name=f"Bench {stamp}", email=f"bench{stamp}@example.com",
                               password="bench-pw-1").merchant
    with mode_context("test"):
        endpoint = endpoint_create(merchant_id=merchant.id, url=url, events=["*"])
    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues or [celery_app.conf.task_default_queue]:
            conn.default_channel.queue_purge(getattr(queue, "name", queue))

    worker = worker_start(args.concurrency)
    profiler = None
    try:
        emit(merchant.id, -1)  # the worker is up (and connected) once this one arrives
        receiver.wait_for(1, timeout=120)
        if args.py_spy:
            profiler = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses",
                 "--pid", str(worker.pid),
                 "--output", args.py_spy, "--rate", "200", "--nonblocking",
                 "--format", "flamegraph" if args.py_spy.endswith(".svg") else "raw"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)  # attached
        # Phase 2: the backlog appears at once (one commit), its messages right after.
        with mode_context("test"), transaction.atomic(using="test"):
            events = [event_emit(merchant_id=merchant.id, type="payment_success",
                                 data={"n": n, "metadata": {"orderId": f"ord_{n}"}})
                      for n in range(args.events)]
            requests = signed_requests(events, endpoint)  # phase 1's bodies
        arrivals, worker_connections = receiver.wait_for(args.events, timeout=600)
        if profiler:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        first, last = min(arrivals.values()), max(arrivals.values())
        delivered = (len(arrivals) - 1) / (last - first)

        # Phase 2: a steady stream, one small transaction per event, from a few threads
        # (as from several web workers) so that one slow commit does not hold the rest,
        # while customers pay over HTTP (each pay emits two events of its own).
        committed: dict[str, float] = {}
        interval = 1 / args.rate
        total = int(args.rate * args.seconds)
        tokens = sessions_for(merchant, int(args.pays * args.seconds))
        server = _gunicorn(port := _free_port(), 2) if tokens else None
        paid: list[bool] = []
        started = time.perf_counter()

        def emitter(first: int) -> None:
            for n in range(first, total, args.emitters):
                pause = started + n * interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                event = emit(merchant.id, args.events + n)
                committed[event.id] = time.time()
            connections.close_all()

        def payer(first: int) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for n in range(first, len(tokens), PAYERS):
                    pause = started + n / args.pays - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    answer = http.post(f"/v1/public/checkout/{tokens[n]}/pay", json={
                        "email": f"payer{n}.{stamp}@bench.example", "rail": "card",
                        "card": CARD})
                    paid.append(answer.status_code == 200)

        threads = [threading.Thread(target=emitter, args=(k,)) for k in range(args.emitters)]
        threads += [threading.Thread(target=payer, args=(k,)) for k in range(PAYERS * bool(tokens))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        emit_took = time.perf_counter() - started
        if server:
            _stop(server)
        with mode_context("test"):
            pay_events = dict(Event.objects.filter(
                merchant_id=merchant.id, type__startswith="subscription_").values_list(
                "id", "created_at"))
        stream, _ = receiver.wait_for(total + len(pay_events), timeout=120)
        worker_stop(worker)
        raw = raw_rate(url, requests, args.concurrency)  # with the worker stopped
        _, raw_connections = receiver.take()
    finally:
        worker_stop(worker)
        receiver.close()

    latencies = [(stream[i] - committed[i]) * 1000 for i in committed if i in stream]
    print("receiver          HTTP/1.1 keep-alive, 127.0.0.1, separate process")
    print(f"raw httpx loop    {raw:7.0f} deliveries/s  ({args.concurrency} processes, "
          f"{args.events} signed bodies, {raw_connections} TCP connections)")
    print(f"celery worker     {delivered:7.0f} deliveries/s  (prefork x{args.concurrency}, "
          f"{len(arrivals)}/{args.events} arrived, {worker_connections} TCP connections)")
    print(f"ratio             {delivered / raw:7.2f}  (worker / raw loop)")
    print(f"sustained         {total / emit_took:7.0f} events/s emitted for {emit_took:.1f} s, "
          f"one per transaction ({args.emitters} threads); "
          f"{sum(i in stream for i in committed)}/{total} arrived")
    if latencies:
        print(f"created→received  p50 {statistics.median(latencies):.0f} ms, "
              f"p99 {percentile(latencies, 99):.0f} ms, max {max(latencies):.0f} ms")
    if tokens:
        waits = [(stream[i] - at.timestamp()) * 1000 for i, at in pay_events.items()
                 if i in stream]
        print(f"while paying      {sum(paid)}/{len(tokens)} pays completed at "
              f"{len(paid) / emit_took:.0f} pays/s over HTTP (gunicorn x2); their "
              f"{len(waits)}/{len(pay_events)} events created→received "
              f"p50 {statistics.median(waits):.0f} ms, p99 {percentile(waits, 99):.0f} ms "
              "(from the event's own timestamp, just before its commit)")


if __name__ == "__main__":
    main()
