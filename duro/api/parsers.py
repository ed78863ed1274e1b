"""The one JSON parser of the API: bounded, strict, and precise about what it refuses.

Every body is read at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (a larger one
is a 413), nested at most :data:`MAX_DEPTH` levels, and holds only text that
PostgreSQL and UTF-8 can carry: a NUL character, a lone surrogate
(``"\\ud800"``) or a non-finite number (``NaN``, ``Infinity``, ``1e999``)
anywhere — metadata keys and values included — is a 400 whose ``param`` is
the path to it (``metadata.orderId``; a bad key names the object holding
it). The message never repeats the offending text, so the error itself
always encodes. Keys then go camelCase → snake_case as before.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError

from duro.api.errors import RequestTooLarge
from duro.errors import Invalid

MAX_DEPTH = 32


class _NonFinite:
    """Stands for NaN/±Infinity until the walk knows where it sits."""


_NON_FINITE = _NonFinite()


def _number(text: str):
    value = float(text)
    return value if math.isfinite(value) else _NON_FINITE


def _path(parts: list[str]) -> str | None:
    return ".".join(parts) or None


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def body_check(value, parts: list[str] | None = None, depth: int = 0) -> None:
    """Raise :class:`Invalid` naming the first value JSON allows but Duro cannot store."""
    parts = parts or []
    if depth > MAX_DEPTH:
        raise Invalid(f"The JSON body is nested more than {MAX_DEPTH} levels deep.",
                      code="too_deep", param=_path(parts[:1]))
    if value is _NON_FINITE:
        raise Invalid("Must be a finite number (NaN and Infinity are not JSON numbers).",
                      code="invalid", param=_path(parts))
    if isinstance(value, str):
        if problem := _bad_text(value):
            raise Invalid(f"This value {problem}.", code="invalid", param=_path(parts))
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := _bad_text(key):
                raise Invalid(f"A key of this object {problem}.", code="invalid",
                              param=_path(parts))
            body_check(item, [*parts, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            body_check(item, [*parts, str(index)] if parts else parts, depth + 1)


class StrictJSONParser(CamelCaseJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, parse_constant=lambda _: _NON_FINITE, parse_float=_number)
        except RecursionError:
            raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.",
                             code="too_deep") from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error: {type(exc).__name__} at byte "
                             f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))}.") from None
        body_check(data)
        return underscoreize(data, **self.json_underscoreize)
