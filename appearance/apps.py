"""The merchant's appearance config (StoreConfig) that brands the hosted page (core)."""

from django.apps import AppConfig


class AppearanceConfig(AppConfig):
    name = "appearance"
    verbose_name = "Appearance"
