"""Public assets of a merchant's look, served from Duro's own origin.

``/appearance/theme/<merchant>/<version>.css`` is the published theme (only
``:root`` custom properties built from validated tokens) and
``/appearance/logo/<sha256>.png`` a re-encoded logo. Both are immutable:
a new version or a new logo gets a new URL, so they cache for a year.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from appearance.models import Logo
from appearance.selectors import version_tokens
from appearance.theme import theme_css

IMMUTABLE = "public, max-age=31536000, immutable"


def _asset(body: bytes | str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = IMMUTABLE
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # emails and the SDK embed them
    return response


@require_GET
def theme_stylesheet(request, merchant_id: str, version: int):
    tokens = version_tokens(merchant_id, version)
    if tokens is None:
        raise Http404("No such theme")
    return _asset(theme_css(tokens), "text/css; charset=utf-8")


@require_GET
def logo(request, sha256: str):
    row = Logo.objects.filter(pk=sha256).only("data", "content_type").first()
    if row is None:
        raise Http404("No such logo")
    return _asset(bytes(row.data), row.content_type)
