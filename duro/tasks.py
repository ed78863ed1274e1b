"""The base of Duro's Celery tasks: the first argument is the mode, set for the whole run.

    @shared_task(base=ModeTask, name="webhooks.sweep")
    def sweep(mode: str) -> int:
        return deliveries_sweep()          # runs on the store of ``mode``

A task is handed ids and the mode (never model instances), so the mode is
set once here, at the edge, as for a request; no task repeats it.
"""

from __future__ import annotations

from celery import Task

from duro.modes import MODES, mode_context


class ModeTask(Task):
    """Runs the task inside ``mode_context(mode)``, ``mode`` being its first argument."""

    def __call__(self, *args, **kwargs):
        mode = args[0] if args else kwargs.get("mode")
        if mode not in MODES:
            raise ValueError(f"{self.name}: the first argument must be a mode, not {mode!r}")
        with mode_context(mode):
            return super().__call__(*args, **kwargs)
