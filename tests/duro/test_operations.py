"""Operator surface: migrate creates every store, createmerchant, /healthz."""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from duro.keys import key_resolve

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(databases="__all__")
def test_createmerchant_prints_documented_json():
    out = StringIO()
    call_command("createmerchant", "Mama Put", "--email", "ada@mamaput.ng",
                 "--password", "pw-123456", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) == {"merchantId", "adminUser", "keys"}
    assert result["merchantId"].startswith("mer_") and result["adminUser"] == "ada@mamaput.ng"
    for mode in ("test", "live"):
        assert result["keys"][mode]["secret"].startswith(f"sk_{mode}_")
        assert result["keys"][mode]["publishable"].startswith(f"pk_{mode}_")
        assert key_resolve(result["keys"][mode]["secret"]).mode == mode


def _run_manage(*args, env_extra):
    env = {**os.environ, "DEBUG": "true", **env_extra}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.sqlite
def test_migrate_creates_three_sqlite_stores(tmp_path):
    result = _run_manage("migrate", "-v", "0", env_extra={"DURO_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    for store, table, absent in [("core", "duro_merchant", "billing_plan"),
                                 ("test", "billing_plan", "duro_merchant"),
                                 ("live", "checkout_checkoutsession", "auth_user")]:
        tables = {r[0] for r in sqlite3.connect(tmp_path / f"{store}.sqlite3").execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        assert table in tables and absent not in tables


@pytest.mark.postgres
def test_migrate_creates_schemas_and_migrates_all_stores(tmp_path):
    import psycopg

    base = settings.DATABASES["default"]
    name = f"duro_migrate_{uuid.uuid4().hex[:8]}"
    dsn = dict(host=base["HOST"] or "127.0.0.1", port=base["PORT"] or 5432,
               user=base["USER"], password=base["PASSWORD"] or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **dsn) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://{dsn['user']}@{dsn['host']}:{dsn['port']}/{name}"
        result = _run_manage("migrate", "-v", "0",
                             env_extra={"DATABASE_URL": url, "DURO_DATA_DIR": str(tmp_path)})
        assert result.returncode == 0, result.stderr
        with psycopg.connect(dbname=name, **dsn) as conn:
            rows = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('core', 'test', 'live')").fetchall()
        by_schema: dict[str, set] = {}
        for schema, table in rows:
            by_schema.setdefault(schema, set()).add(table)
        assert "duro_merchant" in by_schema["core"] and "billing_plan" not in by_schema["core"]
        for schema in ("test", "live"):
            assert "billing_plan" in by_schema[schema]
            assert "duro_merchant" not in by_schema[schema]
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **dsn) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_healthz_ok_when_everything_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"core": "ok", "test": "ok", "live": "ok", "broker": "ok"}


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_healthz_fails_when_a_store_is_down(client):
    connection = connections["live"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict["PORT"] = "1"
    else:
        connection.settings_dict["NAME"] = "/nonexistent/dir/live.sqlite3"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["checks"]["live"] == "down"
    assert response.json()["checks"]["core"] == "ok"
