"""A real Celery worker for tests, pointed at the test databases, plus ``wait_for``.

Use the ``worker`` fixture (one worker for the test) or :func:`worker_start`
to control it (SIGKILL, restart). Tests that use it need
``@pytest.mark.django_db(transaction=True, databases="__all__")`` so that the
worker sees committed rows, and ``@pytest.mark.worker``.

On PostgreSQL the worker gets ``DATABASE_URL`` naming the test database; on
SQLite it gets ``DURO_SQLITE_TEST_FILES=1`` so that it opens the ``test_*``
files. Broker, cache and data folder are inherited from this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connections

from duro.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:g} s waiting for {message}")
        time.sleep(interval)


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "DEBUG": "true", "DURO_DATA_DIR": str(settings.DATA_DIR),
           "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", ""),
           "LOG_LEVEL": os.environ.get("DURO_WORKER_LOG_LEVEL", "WARNING")}
    if settings.USING_POSTGRES:
        url = urlsplit(os.environ["DATABASE_URL"])
        test_name = connections["default"].settings_dict["NAME"]
        env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{test_name}"))
        env["PGAPPNAME"] = WORKER_APP_NAME  # libpq names the worker's sessions
    else:
        env["DURO_SQLITE_TEST_FILES"] = "1"
    env.update(extra or {})
    return env


WORKER_APP_NAME = "duro-test-worker"  # the workers' sessions, as PostgreSQL names them


def worker_sessions() -> set[tuple[int, object]]:
    """On PostgreSQL, the (pid, backend_start) of every session the test workers hold on
    the test database (they keep their connections between tasks)."""
    if not settings.USING_POSTGRES:
        return set()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s",
                       [WORKER_APP_NAME])
        return set(cursor.fetchall())


def broker_purge() -> None:
    """Drop messages left over by earlier tests (their rows are gone), in every queue."""
    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues:
            conn.default_channel.queue_purge(queue.name)


class Worker:
    def __init__(self, *, concurrency: int = 1, env: dict[str, str] | None = None):
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
            prefix="duro-worker-", suffix=".log", delete=False)
        pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork",
                                                             "--concurrency", str(concurrency)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duro", "worker", *pool,
             "--without-heartbeat", "--without-mingle", "--without-gossip",
             "--loglevel", "INFO", "--hostname", f"test-{os.getpid()}-{time.time_ns()}@%h"],
            cwd=ROOT, env=worker_env(env), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> Worker:
        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited early:\n{self.output()[-3000:]}")
            return " ready." in self.output()
        wait_for(ready, timeout=timeout, message="the Celery worker to be ready")
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool children (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)  # cold shutdown: fast
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def worker_start(*, concurrency: int = 1, env: dict[str, str] | None = None) -> Worker:
    return Worker(concurrency=concurrency, env=env).wait_ready()


@pytest.fixture
def worker_factory():
    """Start workers at will; every one started is stopped after the test."""
    started: list[Worker] = []
    broker_purge()

    def start(**kwargs) -> Worker:
        started.append(worker_start(**kwargs))
        return started[-1]

    yield start
    for w in started:
        w.stop()
    if started:
        # PostgreSQL ends a dead worker's sessions a moment after it exits; the test
        # database cannot be dropped (nor the next test's sessions counted) before that.
        wait_for(lambda: not worker_sessions(), timeout=10,
                 message="the stopped workers' database sessions to end")


@pytest.fixture
def worker(worker_factory) -> Worker:
    return worker_factory()
