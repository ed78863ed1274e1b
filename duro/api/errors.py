"""The API error envelope and the one exception handler that produces it.

Every failure leaves as ``{"error": {"type", "code", "message", "param"}}``.
Services raise Duro's own exceptions (:mod:`duro.errors`); this module maps
each kind to its status and envelope ``type``, once. DRF's own exceptions are
translated here too.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import exceptions
from rest_framework.response import Response

from duro.errors import Conflict, DuroError, Gone, Invalid, NotFound, PaymentRefused, RateLimited

logger = logging.getLogger(__name__)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is larger than Duro accepts."


class IdempotencyError(Conflict):
    """The Idempotency-Key is in use by another request, or was used with another body."""

    code = "idempotency_conflict"


# The first class an error is an instance of decides its status and envelope type.
STATUS_OF: list[tuple[type[DuroError], int, str]] = [
    (IdempotencyError, 409, "idempotency_error"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "invalid_request_error"),
    (Gone, 410, "invalid_request_error"),
    (PaymentRefused, 402, "payment_error"),
    (RateLimited, 429, "rate_limit_error"),
    (Invalid, 400, "invalid_request_error"),
    (DuroError, 400, "invalid_request_error"),
]


def status_of(exc: DuroError) -> tuple[int, str]:
    return next((status, type_) for cls, status, type_ in STATUS_OF if isinstance(exc, cls))


def camel(name: str | None) -> str | None:
    if not name:
        return None
    return ".".join(camelize_re.sub(underscore_to_camel, part) for part in name.split("."))


def envelope(type_: str, code: str, message: str, param: str | None = None) -> dict:
    return {"error": {"type": type_, "code": code, "message": message, "param": param}}


def _first_validation_error(detail, path: str = "") -> tuple[str | None, str, str]:
    """Walk DRF's nested error detail to the first (param, message, code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            return _first_validation_error(value, sub)
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, dict | list):
            return _first_validation_error(first, path)
        return path or None, str(first), getattr(first, "code", "invalid")
    return path or None, str(detail), getattr(detail, "code", "invalid")


def exception_handler(exc, context):
    if isinstance(exc, DuroError):
        status, type_ = status_of(exc)
        retry_after = getattr(exc, "retry_after", None)
        return Response(envelope(type_, exc.code, exc.message, camel(exc.param)), status=status,
                        headers={"Retry-After": str(retry_after)} if retry_after else None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()

    headers = {}
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        param, message, code = _first_validation_error(exc.detail)
        body = envelope("invalid_request_error", str(code), message, camel(param))
        return Response(body, status=400)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Response(
            envelope("authentication_error", exc.default_code, str(exc.detail)),
            status=401, headers={"WWW-Authenticate": 'Bearer realm="duro"'},
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return Response(envelope("permission_error", "forbidden", str(exc.detail)), status=403)
    if isinstance(exc, exceptions.NotFound):
        return Response(
            envelope("not_found", "resource_missing", "No such resource."), status=404
        )
    if isinstance(exc, exceptions.Throttled):
        return Response(
            envelope("rate_limit_error", "rate_limited", "Too many requests; slow down."),
            status=429, headers=headers,
        )
    if isinstance(exc, exceptions.APIException):
        type_ = "invalid_request_error" if exc.status_code < 500 else "api_error"
        return Response(
            envelope(type_, exc.default_code, str(exc.detail)), status=exc.status_code,
            headers=headers,
        )
    logger.exception("Unhandled API error", exc_info=exc)
    return Response(
        envelope("api_error", "internal_error", "Something went wrong on Duro's side."),
        status=500,
    )


def json_not_found(request, exception=None):
    """404 for unknown URLs under /v1 in the envelope; the HTML page elsewhere."""
    if request.path.startswith("/v1/"):
        return JsonResponse(
            envelope("not_found", "resource_missing", "Unknown API endpoint."), status=404
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_server_error(request):
    if request.path.startswith("/v1/"):
        return JsonResponse(
            envelope("api_error", "internal_error", "Something went wrong on Duro's side."),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
