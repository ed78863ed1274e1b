"""The builder's live preview: appearance brings the draft, the hosted page's app renders it.

The page being branded belongs to checkout, a higher layer that appearance
never imports. So checkout passes its renderer down once, when the apps are
ready, and the builder hands it the merchant and the draft :class:`Appearance`:

    preview_register(preview_response)                            # checkout/apps.py
    preview_render(request, merchant=merchant, appearance=draft)  # appearance/admin.py

The renderer answers the whole response, headers included (the page's own
Content-Security-Policy, framable by the admin only).
"""

from __future__ import annotations

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from appearance.selectors import Appearance
from duro.models import Merchant


class PreviewRenderer(Protocol):
    def __call__(self, request: HttpRequest, *, merchant: Merchant,
                 appearance: Appearance) -> HttpResponse: ...


_renderers: list[PreviewRenderer] = []


def preview_register(renderer: PreviewRenderer) -> None:
    """Set the one renderer of the builder's preview (a later call replaces it)."""
    _renderers[:] = [renderer]


def preview_render(request: HttpRequest, *, merchant: Merchant,
                   appearance: Appearance) -> HttpResponse:
    """The hosted page as ``appearance`` themes it, for the builder's frame."""
    if not _renderers:
        raise ImproperlyConfigured("No preview renderer: checkout registers one when ready.")
    return _renderers[0](request, merchant=merchant, appearance=appearance)
