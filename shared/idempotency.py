"""`Idempotency-Key` on HTTP commands: a retried request returns the first result, appends nothing.

The first result is recorded in the same transaction as the events it reports, so either both
exist or neither. A key reused with a different request is refused (422): it is a client bug.
Keys are scoped (`key_scope`, stored in the `principal` column) by the caller's whole identity
and the route, so one `sub` in two organisations, or one key on two routes, never replays.
The result is recorded by `INSERT … ON CONFLICT DO NOTHING`: a twin that recorded first makes
it insert nothing, and the command's transaction is rolled back, its events with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, DriverSQL, driver_rows
from shared.decider import ConcurrencyConflict, InvalidCommand
from shared.envelope import format_time
from shared.schema import idempotency


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any
    replayed: bool


class IdempotencyKeyReused(InvalidCommand):
    code = "idempotency-key-reused"
    title = "Idempotency-Key already used for a different request"


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def key_scope(
    user_id: str,
    org_id: str | None,
    roles: Iterable[str],
    jurisdictions: Iterable[str],
    method: str,
    route: str,
    path_params: Mapping[str, str],
) -> str:
    """Whose keys these are: the whole verified identity and the route, hashed (64 hex digits).

    Two callers with one `sub` but another organisation, role or jurisdiction, and one caller
    on two routes (or two objects of one route), never share a key's first answer.
    """
    identity = {
        "sub": user_id,
        "org": org_id,
        "roles": sorted(roles),
        "jurisdictions": sorted(jurisdictions),
        "method": method.upper(),
        "route": route,
        "path_params": dict(sorted(path_params.items())),
    }
    canonical = json.dumps(identity, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_COLUMNS = ("request_hash", "status_code", "response")
_LOOKUP = DriverSQL(
    f"SELECT {', '.join(_COLUMNS)} FROM idempotency WHERE principal = ? AND key = ?",
    f"SELECT {', '.join(_COLUMNS)} FROM idempotency WHERE principal = $1 AND key = $2",
)
_RECORD = DriverSQL(
    "INSERT INTO idempotency (principal, key, request_hash, status_code, response, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (principal, key) DO NOTHING RETURNING 1",
    "INSERT INTO idempotency (principal, key, request_hash, status_code, response, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING RETURNING 1",
)


class _AnsweredFirst(Exception):
    """A twin recorded this key's result first: roll back, and answer with the twin's."""


async def _lookup(
    conn: AsyncConnection, principal: str, key: str, fingerprint: str
) -> StoredResponse | None:
    rows = await driver_rows(conn, _LOOKUP, (principal, key))
    if rows is None:
        query = select(*(idempotency.c[c] for c in _COLUMNS)).where(
            idempotency.c.principal == principal, idempotency.c.key == key
        )
        rows = [tuple(row) for row in await conn.execute(query)]
    if not rows:
        return None
    request_hash, status_code, response = rows[0]
    if request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for a different request", key=key
        )
    return StoredResponse(int(status_code), json.loads(response), replayed=True)


async def _record(
    conn: AsyncConnection, principal: str, key: str, fingerprint: str, status: int, body: Any
) -> bool:
    """Record the first result of `key`; False when a twin's is there already."""
    values = {
        "principal": principal,
        "key": key,
        "request_hash": fingerprint,
        "status_code": status,
        "response": json.dumps(body, ensure_ascii=False),
        "created_at": format_time(datetime.now(UTC)),
    }
    rows = await driver_rows(conn, _RECORD, tuple(values.values()))
    if rows is None:
        dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        statement = (
            dialect_insert(idempotency)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["principal", "key"])
            .returning(idempotency.c.key)
        )
        rows = [tuple(row) for row in await conn.execute(statement)]
    return bool(rows)


Transaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


#: How often a command that lost a race for a stream (`ConcurrencyConflict.raced`) is decided
#: again on fresh state before the caller hears 409.
RACE_ATTEMPTS = 5


async def once(
    db: Database,
    transaction: Transaction,
    principal: str,
    key: str | None,
    fingerprint: str,
    action: Callable[[AsyncConnection], Awaitable[tuple[int, Any]]],
) -> StoredResponse:
    """Run `action` in a transaction, unless this key already has a result: then return it.

    Two commands that append to one stream at once (the year's certificate register, say)
    are not the caller's conflict: the loser is decided again on fresh state, in a new
    transaction, up to `RACE_ATTEMPTS` times; a stale `If-Match` is a 409 at once.
    """

    async def run_once() -> StoredResponse:
        if key is None:
            async with transaction() as conn:
                status, body = await action(conn)
            return StoredResponse(status, body, replayed=False)
        try:
            async with transaction() as conn:
                earlier = await _lookup(conn, principal, key, fingerprint)
                if earlier is not None:
                    return earlier
                status, body = await action(conn)
                if not await _record(conn, principal, key, fingerprint, status, body):
                    raise _AnsweredFirst(key)
            return StoredResponse(status, body, replayed=False)
        except (IntegrityError, ConcurrencyConflict, _AnsweredFirst):
            # A concurrent twin committed first; our transaction (and its events) rolled back.
            async with db.read_engine.connect() as conn:
                earlier = await _lookup(conn, principal, key, fingerprint)
            if earlier is None:
                raise
            return earlier

    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            return await run_once()
        except ConcurrencyConflict as conflict:
            if not conflict.raced or attempt == RACE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
