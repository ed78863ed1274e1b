"""Appearance models (schema ``core``): a merchant's StoreConfig, its versions, logos.

A :class:`StoreConfig` holds the merchant's *draft* tokens and points at the
*published* :class:`StoreConfigVersion`. Versions are immutable snapshots
numbered 1, 2, 3…; publishing and rolling back each append one, so the
history is linear and says who did what. Logos are stored re-encoded, by the
SHA-256 of their bytes, and served from Duro's own origin.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from appearance.tokens import DEFAULTS
from duro.models import Merchant


def _default_tokens() -> dict:
    return dict(DEFAULTS)


class StoreConfig(models.Model):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE,
                                    related_name="store_config")
    draft = models.JSONField(default=_default_tokens)
    published = models.ForeignKey("StoreConfigVersion", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "appearance"
        verbose_name_plural = "appearance"

    def __str__(self) -> str:
        return f"Appearance of {self.merchant}"


class StoreConfigVersion(models.Model):
    config = models.ForeignKey(StoreConfig, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    tokens = models.JSONField()
    note = models.CharField(max_length=120, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["config", "number"],
                                               name="appearance_version_unique")]

    def __str__(self) -> str:
        return f"v{self.number}"


class Logo(models.Model):
    sha256 = models.CharField(primary_key=True, max_length=64)
    content_type = models.CharField(max_length=32)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.sha256[:12]
