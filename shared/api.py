"""HTTP edges of a command: `If-Match`, `Idempotency-Key`, the command context, pagination.

Routes stay thin: they parse, build a command and call `command_response`, which runs the
use case once (idempotently), and answers with the new stream version as a strong `ETag`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal
from shared.idempotency import key_scope, once, request_fingerprint
from shared.problems import HTTPProblem, jsonable, problem_type
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


#: How many items a page holds unless `limit` says otherwise.
DEFAULT_PAGE_SIZE = 50
#: What every paged route says of its pages (its OpenAPI description ends with it).
PAGING = (
    f" Pages of `limit` items (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); pass a"
    " page's `next_cursor` as `cursor` for the next (null: no more)."
)
#: A keyset cursor: the last item's sort key and id, `<key>~<id>`.
KEYSET_CURSOR = r"^[0-9A-Za-z:.+_-]{1,64}~[\w-]{1,128}$"
_KEYSET_CURSOR = re.compile(KEYSET_CURSOR)

Limit = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"items per page: 1–{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE});"
        " outside that a 422",
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="the `next_cursor` of the page before; absent: the first page",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a list: at most `limit` items, and the cursor of the next page."""

    items: list[T]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page; null: this is the last"
    )


def _page_params(limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> tuple[int, str | None]:
    return limit, cursor


#: `limit` and `cursor`, the query parameters of every paged route.
PageParams = Annotated[tuple[int, str | None], Depends(_page_params)]


def page_of(rows: Sequence[T], limit: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """The page of `rows` (read with `limit + 1`: one more says there is a next page)."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items=items, next_cursor=cursor_of(items[-1]) if more else None)


def bad_cursor(name: str = "cursor") -> HTTPProblem:
    """A cursor no page of this route gave: 422, like any invalid query parameter."""
    return HTTPProblem(
        422,
        "Invalid request",
        f"{name} must be a next_cursor this route returned.",
        type_=problem_type("invalid-request"),
        errors=[{"location": ["query", name], "message": "not a cursor", "type": "value"}],
    )


def keyset(cursor: str | None, name: str = "cursor") -> tuple[str, str] | None:
    """`<key>~<id>` as (key, id); None for the first page; a 422 for anything else."""
    if cursor is None:
        return None
    if not _KEYSET_CURSOR.fullmatch(cursor):
        raise bad_cursor(name)
    key, _, ident = cursor.partition("~")
    return key, ident


def position(cursor: str | None, name: str = "cursor") -> int:
    """A cursor that is a version or position (digits, within MAX_INT); 0 for the first page."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit() and int(cursor) <= MAX_INT):
        raise bad_cursor(name)
    return int(cursor)
