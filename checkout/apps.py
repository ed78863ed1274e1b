"""Checkout sessions, the hosted page and the pay (mode-scoped)."""

from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = "Checkout"
