"""The database router: mode-scoped apps go to the store of the current mode.

Checkout, billing and webhooks data live in the ``test`` or ``live`` store,
chosen by :mod:`duro.modes`; everything else (merchants, keys, auth, admin,
sessions, content types, appearance) lives in ``default`` (schema ``core``).
Each table is migrated into its own store only.
"""

from __future__ import annotations

from duro.modes import MODES, current_mode

MODE_SCOPED_APPS = frozenset({"checkout", "billing", "webhooks"})
CORE_ALIAS = "default"


def is_mode_scoped(model) -> bool:
    return model._meta.app_label in MODE_SCOPED_APPS


def store_for(model) -> str:
    return current_mode() if is_mode_scoped(model) else CORE_ALIAS


class ModeRouter:
    def db_for_read(self, model, **hints):
        return store_for(model)

    def db_for_write(self, model, **hints):
        return store_for(model)

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in MODE_SCOPED_APPS:
            return db in MODES
        return db == CORE_ALIAS
