"""The core app: merchants, staff, API keys and idempotency records."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class DuroConfig(AppConfig):
    name = "duro"
    label = "duro"
    verbose_name = "Merchants"
    default_auto_field = "django.db.models.BigAutoField"


class DuroAdminConfig(AdminConfig):
    """Django's admin, as the merchant dashboard (``duro.dashboard.site.DuroAdminSite``)."""

    default_site = "duro.dashboard.site.DuroAdminSite"
