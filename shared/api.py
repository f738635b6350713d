"""HTTP edges of a command: `If-Match`, `Idempotency-Key`, the command context, pagination.

Routes stay thin: they parse, build a command and call `command_response`, which runs the
use case once (idempotently), and answers with the new stream version as a strong `ETag`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal
from shared.idempotency import key_scope, once, request_fingerprint
from shared.problems import HTTPProblem, jsonable
from shared.usecase import CommandContext, Executor

MAX_PAGE_SIZE = 100
#: Every integer the edge accepts fits a signed 64-bit column: larger ones are a 422, not a 500.
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
T = TypeVar("T")


def _refused(value: object) -> str | None:
    """Why a body's value cannot be stored, or None: an integer beyond 64 bits, or a NUL
    character (PostgreSQL text refuses it) anywhere in a string or a key."""
    match value:
        case bool():
            return None
        case int():
            return None if MIN_INT <= value <= MAX_INT else f"integers lie in {MIN_INT}..{MAX_INT}"
        case str():
            return "text may not contain NUL (\\u0000)" if "\x00" in value else None
        case BaseModel():
            return _first(getattr(value, name) for name in type(value).model_fields)
        case list() | tuple() | set() | frozenset():
            return _first(value)
        case dict():
            return _first([*value.keys(), *value.values()])
        case _:
            return None


def _first(values: Iterable[object]) -> str | None:
    return next((why for why in map(_refused, values) if why is not None), None)


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _storable(self) -> Body:
        why = _first(getattr(self, name) for name in type(self).model_fields)
        if why is not None:
            raise ValueError(why)
        return self


def _if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    token = if_match.strip().removeprefix("W/").strip('"')
    if not (token.isascii() and token.isdigit() and int(token) <= MAX_INT):
        raise HTTPProblem(
            400,
            "Bad If-Match",
            f'If-Match must be a stream version such as "3", not {if_match!r}',
        )
    return int(token)


def _idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        raise HTTPProblem(
            400, "Bad Idempotency-Key", "Idempotency-Key must be 1–200 printable characters"
        )
    return key


IfMatch = Annotated[int | None, Depends(_if_match)]
IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]


def command_context(request: Request, principal: Principal) -> CommandContext:
    correlation = getattr(request.state, "correlation_id", None) or getattr(
        request.state, "request_id", "unknown"
    )
    return CommandContext(actor=principal.user_id, correlation_id=str(correlation))


def idempotency_scope(request: Request, principal: Principal) -> str:
    """Whose `Idempotency-Key`s these are: the caller's whole identity, the route and its ids."""
    return key_scope(
        principal.user_id,
        principal.org_id,
        principal.roles,
        principal.jurisdictions,
        request.method,
        getattr(request.scope.get("route"), "path", request.url.path),
        request.path_params,
    )


async def command_response(
    request: Request,
    executor: Executor,
    principal: Principal,
    key: str | None,
    action: Callable[[AsyncConnection], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Run `action` once per Idempotency-Key; answer with its body and the version as ETag.

    `action` returns (status, body); a body with a `version` sets the `ETag` header.
    """
    body = await request.body()
    fingerprint = request_fingerprint(request.method, request.url.path, body)
    scope = idempotency_scope(request, principal)
    stored = await once(executor.db, executor.transaction, scope, key, fingerprint, action)
    headers = {"Idempotency-Replayed": "true"} if stored.replayed else {}
    if isinstance(stored.body, dict) and "version" in stored.body:
        headers["ETag"] = f'"{stored.body["version"]}"'
    return JSONResponse(jsonable(stored.body), status_code=stored.status_code, headers=headers)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> tuple[int, str | None]:
    return limit, cursor


PageParams = Annotated[tuple[int, str | None], Depends(_page_params)]
