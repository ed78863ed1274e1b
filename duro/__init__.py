"""Duro: project wiring and the core (merchants, keys, modes, router, Celery app)."""

from duro.celery import app as celery_app

__all__ = ["celery_app"]
