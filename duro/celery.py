"""The Celery application. Configured from Django settings (``CELERY_*``).

Celery's Django fix-up closes every database connection before and after each
task, so every task paid for a new PostgreSQL connection (a fifth of a webhook
delivery's time). Here a task ends the way Django ends a request: a connection
that is broken, left inside a transaction or older than ``CONN_MAX_AGE`` is
closed, the others are kept, and ``CONN_HEALTH_CHECKS`` checks a kept one
before the next task uses it.
"""

import os

from celery import Celery
from celery.fixups.django import DjangoFixup, DjangoWorkerFixup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duro.settings")


class _KeepConnectionsWorkerFixup(DjangoWorkerFixup):
    def close_database(self, **kwargs) -> None:
        for conn in self._db.connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()


class _DjangoFixup(DjangoFixup):
    @property
    def worker_fixup(self) -> DjangoWorkerFixup:
        # Made on first use, as Celery's own: the worker fix-up imports django.db.
        if self.__dict__.get("_worker_fixup") is None:
            self._worker_fixup = _KeepConnectionsWorkerFixup(self.app)
        return self.__dict__["_worker_fixup"]


def _fixup(app: Celery) -> _DjangoFixup:
    return _DjangoFixup(app).install()


app = Celery("duro", fixups=[_fixup])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
