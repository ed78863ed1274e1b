"""Events (the outbox), webhook endpoints, deliveries and their attempts. Mode-scoped.

An :class:`Event` is written in the transaction that made it happen; in the
same transaction one :class:`Delivery` row is written per enabled
:class:`WebhookEndpoint` subscribed to its type. The delivery row is the
source of truth for at-least-once delivery: ``next_attempt_at`` says when it
is due, ``locked_until`` is the lease of the worker sending it, and every
try is kept as a :class:`DeliveryAttempt`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from duro.ids import new_id


def _event_id() -> str:
    return new_id("evt")


def _endpoint_id() -> str:
    return new_id("we")


def _delivery_id() -> str:
    return new_id("dlv")


class Event(models.Model):
    """Something that happened, written in the transaction that made it happen."""

    id = models.CharField(primary_key=True, max_length=32, default=_event_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    type = models.CharField(max_length=64, db_index=True)
    mode = models.CharField(max_length=4)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookEndpoint(models.Model):
    """A merchant's URL that receives the events it subscribed to, signed with its secret."""

    class Status(models.TextChoices):
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"

    id = models.CharField(primary_key=True, max_length=32, default=_endpoint_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    url = models.URLField(max_length=2048)
    events = models.JSONField(default=list, help_text='Event types, or ["*"] for all.')
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ENABLED)
    # The secret signs every delivery, so it is kept usable (not hashed) and never listed.
    secret = models.CharField(max_length=128, editable=False)
    previous_secret = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed delivery since the last success."
    )
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["merchant_id", "-created_at"])]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events

    def signing_secrets(self, now) -> list[str]:
        """The current secret, plus the rotated-out one while it is still valid."""
        secrets = [self.secret]
        if (self.previous_secret and self.previous_secret_expires_at
                and self.previous_secret_expires_at > now):
            secrets.append(self.previous_secret)
        return secrets


class Delivery(models.Model):
    """One event owed to one endpoint; retried until it succeeds or the schedule ends."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"
        CANCELED = "canceled", "Canceled (endpoint disabled)"

    id = models.CharField(primary_key=True, max_length=32, default=_delivery_id, editable=False)
    merchant_id = models.CharField(max_length=32, db_index=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP POST of a delivery: what came back, how long it took, or what broke."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text="The first 1 KB of the response.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
