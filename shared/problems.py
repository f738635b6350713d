"""RFC 9457 problem details: every error a service returns over HTTP has this one shape.

`install_problem_handlers(app)` maps validation errors, HTTP errors, refused commands
(`DomainError`), stale versions, missing preconditions and unexpected failures to
`application/problem+json`. An unexpected failure is logged with its traceback and answered
without internals.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.decider import DomainError
from shared.faults import is_transient
from shared.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://haizhi.example/problems/"
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})
#: How long a client should wait before sending again a request refused for a transient failure.
RETRY_AFTER_SECONDS = 1

log = get_logger(__name__)


class HTTPProblem(Exception):
    """Raise to answer with a problem: auth refusals, readiness, anything not a DomainError."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_
        self.headers = dict(headers or {})
        self.extensions = extensions


class PreconditionRequired(Exception):
    """A command arrived without the `If-Match` version it must name (428)."""

    def __init__(self, detail: str = "Send If-Match with the stream version you last read."):
        super().__init__(detail)
        self.detail = detail


def jsonable(value: Any) -> Any:
    """JSON-ready data; dates as ISO 8601 and decimals as strings, so no precision is lost."""
    match value:
        case None | bool() | int() | float() | str():
            return value
        case datetime() | date() | time():
            return value.isoformat()
        case timedelta():
            return value.total_seconds()
        case Decimal() | uuid.UUID():
            return str(value)
        case enum.Enum():
            return jsonable(value.value)
        case Mapping():
            return {str(key): jsonable(item) for key, item in value.items()}
        case list() | tuple() | set() | frozenset():
            return [jsonable(item) for item in value]
        case _ if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return jsonable(dataclasses.asdict(value))
        case _:
            return str(value)


def problem_type(code: str) -> str:
    return f"{PROBLEM_TYPE_BASE}{code}"


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    type_: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> JSONResponse:
    """An `application/problem+json` response; extensions never override the standard members."""
    return _respond(status, title, detail, type_, instance, headers, extensions)


def _respond(
    status: int,
    title: str,
    detail: str | None,
    type_: str | None,
    instance: str | None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, object] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_ or "about:blank", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    for name, value in (extensions or {}).items():
        if name not in _MEMBERS:
            body[name] = jsonable(value)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": [str(part) for part in error.get("loc", ())],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    malformed = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "invalid JSON")
        return problem_response(
            400,
            "Malformed JSON body",
            f"The body is not valid JSON: {reason}.",
            problem_type("malformed-json"),
            instance=request.url.path,
            errors=errors,
        )
    return problem_response(
        422,
        "Invalid request",
        f"The request has {len(errors)} invalid field(s).",
        problem_type("invalid-request"),
        instance=request.url.path,
        errors=errors,
    )


def _allowed_methods(request: Request) -> str:
    """Every method of every route on the request's path (RFC 9110 §15.5.6: `Allow` lists
    what the resource supports), where Starlette's 405 names only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    title = _phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    extensions: dict[str, object] = {} if isinstance(exc.detail, str) else {"errors": exc.detail}
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return _respond(exc.status_code, title, detail, None, request.url.path, headers, extensions)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPProblem)
    return _respond(
        exc.status,
        exc.title,
        exc.detail,
        exc.type_,
        request.url.path,
        exc.headers,
        exc.extensions,
    )


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return _respond(
        exc.status,
        exc.title,
        exc.detail,
        problem_type(exc.code),
        request.url.path,
        extensions={"code": exc.code, **exc.context},
    )


async def _precondition_required(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PreconditionRequired)
    return problem_response(
        428,
        "Precondition required",
        exc.detail,
        problem_type("precondition-required"),
        instance=request.url.path,
    )


class UnexpectedErrorMiddleware:
    """Answers an exception no handler took with a bare 500 problem, after logging it; a
    transient failure (`shared.faults.is_transient`: the store full or away, a lost
    connection, NATS away) with a 503 and `Retry-After`, since the same request may well
    succeed in a moment — nothing of it was committed.

    Starlette's own 500 handler re-raises after answering, so the server would log the
    failure a second time and tests would see the exception instead of the response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as failure:
            transient = is_transient(failure)
            if transient:
                log.warning(
                    "request.unavailable",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    error=f"{type(failure).__name__}: {failure}"[:500],
                )
            else:
                log.exception("request.failed", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            request_id = structlog.contextvars.get_contextvars().get("request_id")
            extensions = {} if request_id is None else {"request_id": request_id}
            if transient:
                response = _respond(
                    503,
                    "Service Unavailable",
                    "The store or the bus is unavailable for the moment; nothing was recorded. "
                    "Send the same request again (with the same Idempotency-Key) shortly.",
                    problem_type("store-unavailable"),
                    scope.get("path"),
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    extensions={"code": "store-unavailable", **extensions},
                )
            else:
                response = _respond(
                    500,
                    "Internal Server Error",
                    "The server failed to handle the request; the failure has been logged.",
                    None,
                    scope.get("path"),
                    extensions=extensions,
                )
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem. Call before the app starts."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(HTTPProblem, _problem)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(PreconditionRequired, _precondition_required)
    app.add_middleware(UnexpectedErrorMiddleware)
