"""``GET /v1/sdk.js``: the inline SDK, a static script shipped with Duro.

The script (``static/checkout/sdk.js``) opens the hosted page in an overlay on the
merchant's site; it learns Duro's origin from its own ``src``, so it is served from Duro's
origin rather than a CDN. Its URL carries no version, so browsers keep it for five minutes
and then revalidate with its ETag: a fix reaches every merchant's page within minutes.
"""

from __future__ import annotations

import functools
import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

SDK_PATH = settings.BASE_DIR / "static" / "checkout" / "sdk.js"
MAX_AGE = 300


@functools.cache
def _script() -> tuple[bytes, str]:
    body = SDK_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@require_safe
def sdk_script(request: HttpRequest) -> HttpResponse:
    body, etag = _script()
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    # Loaded by <script src> on the merchant's pages, which may isolate themselves.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response
