"""What makes ``/v1/openapi.json`` tell the truth about every answer, in one place.

Views declare the bare shape of what they return (``responses=PlanOutput`` or
``PlanOutput(many=True)``); :func:`envelope_responses`, a drf-spectacular
postprocessing hook, then writes the document as the API really answers:

- every success body inside ``{"data": …}``, and lists as
  ``{"data": […], "hasMore": bool}``;
- every error status an operation can answer, each with the ``Error``
  envelope: 400 everywhere, 401/403 with a key, 404 with an id or token in
  the path or a cursor, 409 on writes (idempotency, state), 413/415 with a body, and
  402/410/429 on the public pay;
- the security each operation takes: the secret key, or none (public);
- string query parameters as non-empty (``?status=`` is a 400).

The secret key is declared by :class:`SecretKeyScheme`; the publishable key
is declared too, for the endpoints that take it in the path.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_TYPES = ["invalid_request_error", "authentication_error", "permission_error", "not_found",
               "idempotency_error", "rate_limit_error", "payment_error", "api_error"]

ERROR_COMPONENT = {
    "type": "object",
    "description": "Every failure: `type` is the kind, `code` the reason, `param` the "
                   "offending field (camelCase, dotted when nested) or null.",
    "properties": {"error": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ERROR_TYPES},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "param": {"type": "string", "nullable": True},
        },
        "required": ["type", "code", "message", "param"],
    }},
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": "Bad input: `param` names the field, query parameter or body path.",
    "401": "Missing, unknown or revoked secret key.",
    "402": "The payment was refused before any charge (e.g. a blocked customer).",
    "403": "A publishable key on a secret-key endpoint.",
    "404": "No such object for this merchant and mode (or no such token, or a "
           "`startingAfter` that names no object of the list).",
    "409": "Idempotency-Key in use or reused with another body, or the object's state "
           "forbids it.",
    "410": "The checkout session has expired.",
    "413": "The body is larger than Duro accepts.",
    "415": "The body is not `application/json`.",
    "429": "Too many attempts; wait the `Retry-After` seconds.",
}

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "Seconds to wait before trying again."}}


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "duro.api.authentication.SecretKeyAuthentication"
    name = "SecretKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer sk_test_…` (or `sk_live_…`): the prefix "
                               "sets the mode."}


PUBLISHABLE_KEY = {"type": "apiKey", "in": "header", "name": "X-Duro-Publishable-Key",
                   "description": "`pk_test_…`/`pk_live_…`: public, identifies the merchant "
                                  "where a page or script runs; the endpoints that take it "
                                  "read it from the path."}


def _wrap(schema: dict) -> dict:
    if schema.get("type") == "array":
        return {"type": "object", "properties": {"data": schema, "hasMore": {"type": "boolean"}},
                "required": ["data", "hasMore"]}
    return {"type": "object", "properties": {"data": schema}, "required": ["data"]}


def _error_statuses(path: str, method: str, operation: dict) -> list[str]:
    statuses = ["400"]
    public = path.startswith("/v1/public/")
    if not public:
        statuses += ["401", "403"]
    cursor = any(p.get("name") == "startingAfter" for p in operation.get("parameters", ()))
    if "{" in path or cursor:
        statuses.append("404")
    if method in ("post", "patch", "put", "delete"):
        statuses.append("409")
    if method in ("post", "patch", "put"):
        statuses += ["413", "415"]
    if public and method == "post":
        statuses += ["402", "410", "429"]
    return statuses


def envelope_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: envelopes, error statuses and security."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    components.setdefault("securitySchemes", {})["PublishableKey"] = PUBLISHABLE_KEY
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, item in result.get("paths", {}).items():
        if path in ("/v1/openapi.json", "/v1/docs"):
            continue
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content and "schema" in content:
                    content["schema"] = _wrap(content["schema"])
            for status in _error_statuses(path, method, operation):
                response = responses.setdefault(
                    status, {"description": ERROR_DESCRIPTIONS[status]})
                response["content"] = {"application/json": {"schema": error_ref}}
                if status == "429":
                    response["headers"] = RETRY_AFTER
            if path.startswith("/v1/public/"):
                operation["security"] = [{}]
            for parameter in operation.get("parameters", ()):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)  # empty is refused: leave it out
    return result
