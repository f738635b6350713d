"""What every HTTP edge checks before a route runs, and how its OpenAPI says so.

- Path parameters: every one is a single token of letters, digits, `_` and `-` (Unicode
  letters included: certificate numbers carry Chinese), at most 128 characters. Anything else
  (`.`, `*`, `>`, `/`, spaces, control characters) is a 422 problem before any route, query or
  NATS subject sees it. Routes narrow further with their own types (years, sha256 digests).
- Request bodies: at most `HAIZHI_MAX_JSON_BYTES` (1 MiB by default), refused with 413 by
  their `Content-Length` before anything is read, and while streaming when they lie or send
  none. `multipart/form-data` (attachments) keeps its own, larger limit
  (`HAIZHI_ATTACHMENT_MAX_BYTES`, checked by the upload route the same two ways).
- OpenAPI: every operation documents its problem responses as `application/problem+json`
  with the `Problem` schema, and the formats of the `If-Match` and `Idempotency-Key` headers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import PROBLEM_MEDIA_TYPE, HTTPProblem, problem_response, problem_type

PATH_TOKEN_PATTERN = r"^[\w-]{1,128}$"
_PATH_TOKEN = re.compile(PATH_TOKEN_PATTERN)
_UNLIMITED_MEDIA = ("multipart/form-data",)  # attachments: the upload route's own limit


async def checked_path_parameters(request: Request) -> None:
    """An app-wide dependency: every path parameter is one safe token, and no query value
    holds a NUL (PostgreSQL text refuses it), or the request is a 422."""
    nul = sorted({name for name, value in request.query_params.multi_items() if "\x00" in value})
    if nul:
        raise HTTPProblem(
            422,
            "Invalid request",
            f"NUL in query parameter(s): {', '.join(nul)}.",
            type_=problem_type("invalid-request"),
            errors=[
                {"location": ["query", name], "message": "contains NUL", "type": "value_error"}
                for name in nul
            ],
        )
    invalid = [
        name
        for name, value in request.path_params.items()
        if not (isinstance(value, str) and _PATH_TOKEN.fullmatch(value))
    ]
    if invalid:
        raise HTTPProblem(
            422,
            "Invalid request",
            f"Malformed path parameter(s): {', '.join(invalid)}.",
            type_=problem_type("invalid-request"),
            errors=[
                {
                    "location": ["path", name],
                    "message": "must be 1–128 letters, digits, '_' or '-'",
                    "type": "string_pattern_mismatch",
                }
                for name in invalid
            ],
        )


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"A request body may have at most {max_bytes} bytes.")
        self.max_bytes = max_bytes


def _too_large(max_bytes: int, instance: str | None) -> JSONResponse:
    return problem_response(
        413,
        "Content Too Large",
        f"A request body may have at most {max_bytes} bytes.",
        problem_type("body-too-large"),
        instance=instance,
        max_bytes=max_bytes,
    )


async def _body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return _too_large(exc.max_bytes, request.url.path)


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: by `Content-Length` first, then while it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith(_UNLIMITED_MEDIA):
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes, scope.get("path"))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)


# OpenAPI ----------------------------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; extensions (code, errors, …) may follow.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the problem, or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    400: "Malformed JSON, or a malformed If-Match or Idempotency-Key header",
    401: "No bearer token, or one that was refused",
    403: "The caller's role, jurisdiction or organisation does not allow this",
    404: "Nothing with this id, or nothing the caller may see",
    409: "The command conflicts with the current state or version",
    412: "If-Match names a version that is no longer the latest",
    413: "The request body is too large",
    415: "The body's media type is not accepted",
    422: "Invalid parameters or body, or a command the rules refuse",
    428: "If-Match is required for this command",
    503: "A dependency (identity provider keys, store, NATS) is unavailable",
}
IF_MATCH_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r'^(\*|(W/)?"?[0-9]{1,19}"?)$',
    "description": 'the stream version last read, as its ETag: "3" (or 3); * for any',
    "examples": ['"3"'],
}
IDEMPOTENCY_KEY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": r"^[^\x00-\x1f\x7f]+$",
    "description": "1–200 printable characters, unique per command; a retry with the same "
    "key and body replays the first answer (scoped by the caller and the route)",
    "examples": ["7b6f2c1e-4f7a-4c55-9d1a-1f0e8a4b2c3d"],
}
_OPERATIONS = ("get", "put", "post", "delete", "patch")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    headers = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
    has_path_params = any(p["in"] == "path" for p in operation.get("parameters", []))
    statuses = {422}
    if path == "/readyz":
        statuses.add(503)
    if operation.get("security"):
        statuses |= {401, 403, 503}
    if has_path_params or "security" in operation:
        statuses.add(404)
    if method != "get":
        statuses |= {409}
    if "requestBody" in operation or method != "get":
        statuses |= {400, 413, 415}
    if "if-match" in headers:
        statuses |= {400, 412, 428}
    if "idempotency-key" in headers:
        statuses.add(400)
    return statuses


def _document(responses: dict[str, Any], status: int) -> None:
    """The route's own words win (a list of its problem types); FastAPI's defaults do not."""
    existing = responses.get(str(status), {})
    if PROBLEM_MEDIA_TYPE in existing.get("content", {}):
        return
    description = existing.get("description")
    if not description or description == "Validation Error":
        description = _DESCRIPTIONS.get(status, "A problem")
    responses[str(status)] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses and header formats to an OpenAPI document, in place."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method in _OPERATIONS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                name = parameter["name"].lower()
                if name == "if-match":
                    parameter["schema"] = IF_MATCH_SCHEMA | {"title": "If-Match"}
                elif name == "idempotency-key":
                    parameter["schema"] = IDEMPOTENCY_KEY_SCHEMA | {"title": "Idempotency-Key"}
                elif parameter["in"] == "path":
                    scheme = parameter.setdefault("schema", {})
                    if scheme.get("type") == "string" and "pattern" not in scheme:
                        scheme["pattern"] = PATH_TOKEN_PATTERN
                        scheme.setdefault("maxLength", 128)
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and code >= "400"}
            for status in sorted(_statuses(path, method, operation) | declared):
                _document(responses, status)
    schemas = schema["components"]["schemas"]
    still_used = str(schema.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f"/{unused}'" not in still_used:
            del schemas[unused]
    return schema


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` documents every problem response, once, for every route."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
