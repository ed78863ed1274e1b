"""The OpenAPI document as clients get it, and a check that a representation matches it.

``assert_documented("SubscriptionOutput", subscription_payload(sub))`` fails
when the payload has a key the component lacks or lacks one it lists, or
when a value's type, null-ness, enum or nested shape is not the documented
one; timestamps must be ISO 8601 in UTC with a ``Z``. The component must
mark every property as required, because a payload always carries every key.
"""

from __future__ import annotations

import json
import re
from functools import cache

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator, FormatChecker

UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


@cache
def openapi() -> dict:
    """The document ``GET /v1/openapi.json`` serves, generated once per test run."""
    with GENERATOR_STATS.silence():  # its warnings are ./manage.py spectacular's business
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


def _json_schema(node):
    """OpenAPI 3.0 → JSON Schema: ``nullable`` as a null alternative, refs into ``$defs``,
    and no key beyond the documented ones."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if isinstance(out.get("$ref"), str):
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if "properties" in node:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _validator(component: str) -> Draft202012Validator:
    defs = _json_schema(openapi()["components"]["schemas"])
    formats = FormatChecker(formats=())
    formats.checks("date-time")(
        lambda value: not isinstance(value, str) or bool(UTC_ISO.fullmatch(value)))
    return Draft202012Validator({"$ref": f"#/$defs/{component}", "$defs": defs},
                                format_checker=formats)


def assert_documented(component: str, payload: dict) -> None:
    documented = openapi()["components"]["schemas"][component]
    properties = set(documented["properties"])
    assert set(payload) == properties, (
        f"{component}: only in the payload {sorted(set(payload) - properties)}, "
        f"only documented {sorted(properties - set(payload))}")
    assert set(documented.get("required", ())) == properties, f"{component}: not all required"
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
              for e in _validator(component).iter_errors(payload)]
    assert not errors, f"{component} does not document what runs:\n" + "\n".join(errors)
