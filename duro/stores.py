"""The three stores (core, test, live): schema creation and naming."""

from django.conf import settings
from django.db import connections

SCHEMAS = settings.STORES  # alias -> schema


def ensure_schemas(alias: str = "default") -> None:
    """On PostgreSQL, create the core/test/live schemas when missing (idempotent)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for schema in SCHEMAS.values():
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
