"""``migrate`` that brings every store up to date: core, test and live.

On PostgreSQL the three schemas are created when missing. Run from the
command line with no ``--database``, every store is migrated in turn; with
``--database`` (or through ``call_command``, as the test set-up does) only
the one named.
"""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from duro.stores import ensure_schemas


class Command(DjangoMigrate):
    help = "Create missing schemas and migrate every store (core, test, live)."
    every_store = False

    def run_from_argv(self, argv):
        self.every_store = not any(a.startswith("--database") for a in argv)
        return super().run_from_argv(argv)

    def handle(self, *args, **options):
        ensure_schemas(options["database"])
        if not self.every_store:
            return super().handle(*args, **options)
        for alias in settings.DATABASES:
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Store {alias!r}:"))
            super().handle(*args, **{**options, "database": alias})
            connections[alias].close()
        return None
