"""``/healthz``: 200 only when every store (core, test, live) and the broker answer."""

from __future__ import annotations

import logging

from django.db import connections
from django.http import JsonResponse

from duro.celery import app as celery_app

logger = logging.getLogger(__name__)


def check_store(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def healthz(request):
    checks = {}
    for alias in ("default", "test", "live"):
        name = "core" if alias == "default" else alias
        try:
            check_store(alias)
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("health: store %s is down", name, extra={"error": str(exc)})
            checks[name] = "down"
            connections[alias].close()
    try:
        check_broker()
        checks["broker"] = "ok"
    except Exception as exc:
        logger.warning("health: broker is down", extra={"error": str(exc)})
        checks["broker"] = "down"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks},
                        status=200 if healthy else 503)
