"""Events (the outbox) and, with the webhooks issue, endpoints and deliveries. Mode-scoped."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from duro.ids import new_id


def _event_id() -> str:
    return new_id("evt")


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

    def payload(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "mode": self.mode,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
