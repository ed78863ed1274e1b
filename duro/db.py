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

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Model, QuerySet

from duro.modes import current_mode

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


def atomic(*, savepoint: bool = True) -> AbstractContextManager:
    """``transaction.atomic`` on the current mode's store (a savepoint when nested).

    ``savepoint=False`` joins an enclosing transaction without a savepoint (two round
    trips fewer): for a block whose error always ends that transaction, never for one
    whose ``IntegrityError`` the caller catches and carries on from."""
    return transaction.atomic(using=current_mode(), savepoint=savepoint)


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


class CompiledRead:
    """A queryset compiled to SQL once per process, then run with new parameters.

    ``CompiledRead(lambda: Session.objects.select_related("plan").filter(token=PARAM))``
    answers ``read.first(token)`` with the same model instances (joined rows attached) as
    ``.filter(token=token).first()``, without building the SQL again: on the hosted page
    and hydrate, compiling a three-table select cost more than the database took to answer
    it. The queryset must take its parameters in the order ``first`` is given them, each
    written as :data:`PARAM` in the filter. One compiled form is kept per database alias.
    """

    def __init__(self, build: Callable[[], QuerySet]):
        self._build = build
        self._compiled: dict[str, tuple] = {}

    def _compile(self, alias: str) -> tuple:
        from django.db.models.query import get_related_populators

        compiler = self._build().query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = [i for i, value in enumerate(params) if value == PARAM]
        info = compiler.klass_info
        columns = info["select_fields"]
        start, end = columns[0], columns[-1] + 1
        names = [column[0].target.attname for column in compiler.select[start:end]]
        # The stubs describe Django 6 (a fetch_mode argument); 5.2 takes three.
        populators = get_related_populators(  # type: ignore[call-arg]
            info, compiler.select, alias)
        converters = compiler.get_converters([s[0] for s in compiler.select[:compiler.col_count]])
        compiled = (compiler, converters, sql, list(params), slots, info["model"], start, end,
                    names, populators)
        self._compiled[alias] = compiled
        return compiled

    def first(self, *values):
        """The first row for these parameter values, or ``None``; on the current mode's store."""
        alias = current_mode()
        compiled = self._compiled.get(alias) or self._compile(alias)
        compiler, converters, sql, params, slots, model, start, end, names, populators = compiled
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        obj = model.from_db(alias, names, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        return obj


PARAM = "\x00duro-compiled-read-parameter\x00"


def unpinged(read: Callable[[], Any]) -> Any:
    """Run a read-only ``read`` on the current mode's store without the health check.

    With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every
    request, doubling the statements of a one-query page. Here the read goes first; if the
    connection died while it sat idle (a database restart, an idle timeout), the read fails
    before anything happened, so the connection is opened again and the read repeated once.
    Inside a transaction nothing is skipped or repeated.
    """
    connection = connections[current_mode()]
    if connection.in_atomic_block:
        return read()
    connection.health_check_done = True  # type: ignore[attr-defined]  # not in the stubs
    try:
        return read()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        connection.close()
        return read()
