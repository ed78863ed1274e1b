"""Services for webhook endpoints: create, update, delete and rotate the signing secret.

Each write owns its transaction on the current mode's store and checks the
URL with the SSRF guard (:mod:`webhooks.addresses`). The secret is
``whsec_`` + base64 of 32 random bytes; rotating keeps the previous secret
valid for ``DURO_WEBHOOK_ROTATION_GRACE_HOURS`` (24 h) so both signatures
are sent meanwhile.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from duro.db import atomic
from duro.modes import current_mode
from webhooks.addresses import url_validate
from webhooks.models import WebhookEndpoint
from webhooks.signing import SECRET_PREFIX

SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def endpoint_create(*, merchant_id: str, url: str, events: list[str], description: str = "",
                    status: str = WebhookEndpoint.Status.ENABLED) -> WebhookEndpoint:
    mode = current_mode()
    url_validate(url, mode=mode)
    with atomic():
        return WebhookEndpoint.objects.create(
            merchant_id=merchant_id, url=url, events=list(events), description=description,
            status=status, secret=secret_generate(),
        )


def endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None,
                    events: list[str] | None = None, description: str | None = None,
                    status: str | None = None) -> WebhookEndpoint:
    mode = current_mode()
    if url is not None:
        url_validate(url, mode=mode)
        endpoint.url = url
    if events is not None:
        endpoint.events = list(events)
    if description is not None:
        endpoint.description = description
    if status is not None and status != endpoint.status:
        endpoint.status = status
        if status == WebhookEndpoint.Status.ENABLED:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
        else:
            endpoint.disabled_reason = "Disabled by the merchant."
    with atomic():
        endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with atomic():
        endpoint.delete()


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint,
                           now: datetime | None = None) -> WebhookEndpoint:
    now = now or timezone.now()
    grace = timedelta(hours=settings.DURO_WEBHOOK_ROTATION_GRACE_HOURS)
    with atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + grace
        locked.secret = secret_generate()
        locked.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret",
                                   "updated_at"])
    return locked
