"""Hydrate and the hosted page send exactly one statement to PostgreSQL per request.

Counted at the wire, not at the ORM: libpq's trace of the connection shows every message
the server receives, so Django's health-check ``SELECT 1`` (which no ORM hook sees) is
counted too. Requests go through Django's WSGI handler the way gunicorn calls it, so the
request signals (which reset the health check and close old connections) run as they do
in production; the test client switches them off.
"""

from __future__ import annotations

import io
import json
import tempfile
from unittest.mock import patch
from wsgiref.util import setup_testing_defaults

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from psycopg import pq

from tests.checkout.factories import make_session

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__")]


def get(path: str) -> tuple[int, bytes]:
    environ: dict = {"PATH_INFO": path, "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(WSGIHandler()(environ, lambda s, headers, exc=None: status.append(s)))
    return int(status[0].split()[0]), body


def statements_sent(path: str) -> tuple[int, list[str]]:
    """The request's answer, and the statements its connection to the test store sent."""
    connection = connections["test"]
    connection.ensure_connection()
    with tempfile.TemporaryFile(mode="w+") as trace:
        connection.connection.pgconn.trace(trace.fileno())
        connection.connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            code, _ = get(path)
        finally:
            if connection.connection is not None:
                connection.connection.pgconn.untrace()
        trace.seek(0)
        sent = [line for line in trace.read().splitlines()
                if line.startswith("F") and ("\tQuery\t" in line or "\tParse\t" in line)]
    return code, sent


@pytest.fixture
def warm(api):
    """An open session, each path asked once so the caches and the connection are warm."""
    token = make_session(api)["token"]
    paths = [f"/v1/public/checkout/{token}", f"/checkout/{token}"]
    for path in paths:
        assert get(path)[0] == 200
    return token, paths


@pytest.mark.postgres
@pytest.mark.redis
def test_hydrate_and_the_page_send_one_statement(warm):
    assert settings.DATABASES["test"]["CONN_HEALTH_CHECKS"]
    _, paths = warm
    for path in paths:
        code, sent = statements_sent(path)
        assert code == 200
        assert len(sent) == 1, sent
        assert "checkout_checkoutsession" in sent[0]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_cold_cache_costs_the_store_reads_once(warm):
    _, paths = warm
    cache.clear()
    code, cold = statements_sent(paths[0])
    assert code == 200 and len(cold) > 1
    assert len(statements_sent(paths[0])[1]) == 1


@pytest.mark.postgres
@pytest.mark.redis
def test_a_connection_that_died_while_idle_is_opened_again(warm):
    """Without the health check's ping, the read itself finds the dead connection: it is
    opened again and the read repeated, so the customer never sees the restart."""
    _, paths = warm
    connection = connections["test"]
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    db = settings.DATABASES["test"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                         dbname="postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    code, body = get(paths[0])
    assert code == 200
    assert json.loads(body)["data"]["reference"]
    assert connection.connection.info.backend_pid != pid
    code, _ = get(paths[1])
    assert code == 200


@pytest.mark.redis
def test_the_merchants_cached_settings_are_read_in_one_round_trip(warm):
    """Appearance, rails, VAT and framing origins: one ``get_many`` (one MGET on Redis; the
    embedded file cache reads its files one by one), no single ``get``."""
    _, paths = warm
    for path in paths:
        with patch.object(cache, "get", wraps=cache.get) as single, \
                patch.object(cache, "get_many", wraps=cache.get_many) as many:
            assert get(path)[0] == 200
        assert single.call_count == 0
        assert many.call_count == 1
