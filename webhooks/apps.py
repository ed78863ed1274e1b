"""Events, webhook endpoints and their signed deliveries (mode-scoped)."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Developers"
