"""Database infrastructure written once: the current mode's transaction, claim locks,
after-commit work and bulk row updates.

Every mode-scoped write runs in ``atomic()``, which opens a transaction on the
store of the current mode (:mod:`duro.modes`); rows that several workers
compete for are taken with ``claimable()``; work that must only happen if the
transaction commits (queueing a task) is registered with ``after_commit()``::

    with atomic():
        due = list(claimable(Delivery.objects.filter(...))[:100])
        after_commit(partial(deliveries_enqueue, ids=[d.id for d in due], mode=current_mode()))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.models import Model, QuerySet

from duro.modes import current_mode

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


def atomic() -> AbstractContextManager:
    """``transaction.atomic`` on the current mode's store (a savepoint when nested)."""
    return transaction.atomic(using=current_mode())


def in_atomic() -> bool:
    return connections[current_mode()].in_atomic_block


def claimable(queryset: QuerySet[M]) -> QuerySet[M]:
    """Lock the rows a worker claims, skipping rows another worker holds.

    PostgreSQL: ``FOR UPDATE OF <table> SKIP LOCKED`` (joined rows are not
    locked, so two workers never skip each other's unrelated rows). SQLite has
    no row locks; its write lock serialises the claims instead.
    """
    if connections[queryset.db].features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update()


def after_commit(work: Callable[[], object], *, what: str) -> None:
    """Run ``work`` once the current mode's transaction commits, never failing the caller.

    Used to hand ids to the broker: the rows are already committed, so a
    broker that is down is logged and left to the sweep that re-queues them.
    """
    def run() -> None:
        try:
            work()
        except Exception:  # any broker/transport failure: the sweep picks the rows up
            logger.exception("after-commit work failed; the sweep will redo it",
                             extra={"what": what})

    transaction.on_commit(run, using=current_mode())


def update_rows(model: Any, objs: list, fields: list[str]) -> None:
    """``UPDATE … WHERE pk = %s`` for each object, sent as one ``executemany``.

    Django's ``bulk_update`` builds a ``CASE`` per field in Python, which
    dominated a renewal's cost; psycopg pipelines an ``executemany``. Like
    ``bulk_update``, this skips ``save()`` and signals.
    """
    if not objs:
        return
    connection = connections[current_mode()]
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from model _meta only
        quote(meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns),
        quote(meta.pk.column),
    )
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
