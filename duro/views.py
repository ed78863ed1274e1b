"""Pages of the core that are not the API or the dashboard: the landing page at ``/``.

It tells whoever opens Duro's own address (an operator, a developer, the admin's
"View site") where to go, instead of a 404 that lists the URL patterns.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _version() -> str:
    try:
        return version("duro")
    except PackageNotFoundError:
        return ""


def landing(request: HttpRequest) -> HttpResponse:
    response = render(request, "duro/landing.html", {"version": _version()})
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")
    return response
