"""The OpenAPI schema says what every route can answer: each error status, as a problem, and each media type.

FastAPI documents a route's success and its 422 (as application/json, while ours is a problem).
Every route can also answer 400 (an unreadable body), 401, 403, 404, 409, 413 (body limits,
core/limits.py), 422, 429 (login lockout) and 503 (PostgreSQL or Redis away, core/errors.py), all as
application/problem+json (RFC 9457); routes answering files or streams name their media types.
Strings in requests are declared without control characters, which core/input_guard.py refuses.
Clients and the schema fuzzer (tests/core/test_schema_fuzz.py) hold the app to this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_MEDIA = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "status", "detail"],
    "properties": {
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "中文说明 (English beside it)"},
        "reason": {"type": "string", "description": "a stable machine-readable code"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
ERROR_STATUSES = {
    "400": "the body cannot be read",
    "401": "no valid token (or device key)",
    "403": "the user's roles do not allow it",
    "404": "no such thing (or not visible to this user)",
    "409": "conflicts with the current state",
    "413": "the body is larger than this route accepts",
    "422": "invalid input: the detail says which and why",
    "429": "too many tries (failed logins): wait as the detail says",
    "503": "PostgreSQL or Redis is unavailable: retry after Retry-After seconds",
}
# tab, LF and CR are allowed in JSON strings (a multi-line reason); nothing below space in a URL
BODY_TEXT = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
URL_TEXT = "^[^\\x00-\\x1f\\x7f]*$"

MediaTable = Mapping[tuple[str, str], Mapping[str, Any]]  # (method, path) -> success media type -> schema


def install_openapi(app: FastAPI, success_media: MediaTable) -> None:
    """Replace app.openapi by one that completes FastAPI's schema (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = complete(schema, success_media)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def complete(schema: dict[str, Any], success_media: MediaTable) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                if status == "503" and "503" in responses:  # health's own 503 body is its report
                    continue
                responses[status] = {"description": description, "content": problem}
            media = success_media.get((method.upper(), path))
            if media:
                success = next(status for status in responses if status.startswith("2"))
                responses[success]["content"] = {name: {"schema": body} for name, body in media.items()}
            for parameter in operation.get("parameters", []):
                _forbid_controls(parameter.get("schema", {}), URL_TEXT)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _forbid_controls(content.get("schema", {}), BODY_TEXT)
    for name, component in components.items():
        if name != "Problem":
            _forbid_controls(component, BODY_TEXT)
    return schema


def _forbid_controls(node: Any, pattern: str) -> None:
    """Give every free-text string under `node` the pattern the input guard enforces; a date-time also
    takes Unix seconds (pydantic reads a number as one, and the schema says what the app accepts)."""
    if isinstance(node, list):
        for item in node:
            _forbid_controls(item, pattern)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and node.get("format") == "date-time":
        node["anyOf"] = [{"type": "string", "format": "date-time"}, {"type": "number"}]
        del node["type"], node["format"]
        return
    if node.get("type") == "string" and not ({"pattern", "format", "enum", "const"} & node.keys()):
        node["pattern"] = pattern
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for child in value.values():
                _forbid_controls(child, pattern)
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "not", "prefixItems"):
            _forbid_controls(value, pattern)
