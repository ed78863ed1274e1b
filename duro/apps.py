"""The core app: merchants, staff, API keys and idempotency records."""

from django.apps import AppConfig


class DuroConfig(AppConfig):
    name = "duro"
    label = "duro"
    verbose_name = "Merchants"
    default_auto_field = "django.db.models.BigAutoField"
