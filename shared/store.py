"""The event store: atomic appends with an expected version, reads, and chain verification.

Appends run inside a caller's transaction (`AsyncConnection`), so the events, their outbox
rows, the read models of the same service and a consumer's inbox record commit together. The
outbox row is written by the database itself, by a trigger on `events` (kernel_0004), in the
event's own `INSERT`. The hot statements (the head and the stream read, the single event's
insert) go to the driver directly (`shared.db.driver_rows`); the rest through SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, DriverSQL, driver_rows
from shared.decider import ConcurrencyConflict
from shared.envelope import GENESIS, Envelope, format_time, new_id
from shared.schema import events
from shared.signing import Signer, TrustedKeys, Untrusted, owned_by

#: Expected version for "whatever the stream is at": only for facts that cannot conflict.
ANY_VERSION = -1

#: The envelope as the UTF-8 bytes it is stored as, which `Envelope.from_stored` parses as they
#: are: no decoding to `str` by the driver and encoding back by orjson, about 1 µs an event
#: of Chinese text. SQLite casts to a BLOB; PostgreSQL's `convert_to` gives `bytea` (a `text`
#: to `bytea` cast would read backslashes as escapes).
_ENVELOPE_BYTES = "CAST(envelope AS BLOB)"
_PG_ENVELOPE_BYTES = "convert_to(envelope, 'UTF8')"
_HEAD = DriverSQL(
    "SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1",
    "SELECT version, hash FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
)
_STREAM = DriverSQL(
    f"SELECT position, {_ENVELOPE_BYTES} FROM events WHERE stream_id = ? AND version > ?"
    " ORDER BY version",
    f"SELECT position, {_PG_ENVELOPE_BYTES} FROM events WHERE stream_id = $1 AND version > $2"
    " ORDER BY version",
)
_AFTER = DriverSQL(
    f"SELECT position, {_ENVELOPE_BYTES} FROM events WHERE position > ? ORDER BY position LIMIT ?",
    f"SELECT position, {_PG_ENVELOPE_BYTES} FROM events WHERE position > $1"
    " ORDER BY position LIMIT $2",
)
_CASE = DriverSQL(
    f"SELECT position, {_ENVELOPE_BYTES} FROM events WHERE case_id = ? AND position > ?"
    " ORDER BY position LIMIT ?",
    f"SELECT position, {_PG_ENVELOPE_BYTES} FROM events WHERE case_id = $1 AND position > $2"
    " ORDER BY position LIMIT $3",
)
_CASE_ALL = DriverSQL(
    f"SELECT position, {_ENVELOPE_BYTES} FROM events WHERE case_id = ? AND position > ?"
    " ORDER BY position",
    f"SELECT position, {_PG_ENVELOPE_BYTES} FROM events WHERE case_id = $1 AND position > $2"
    " ORDER BY position",
)
_LAST = DriverSQL("SELECT max(position) FROM events", "SELECT max(position) FROM events")
_COLUMNS = [column.name for column in events.columns if column.name != "position"]
_INSERT_ONE = DriverSQL(
    f"INSERT INTO events ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _COLUMNS)}) RETURNING position",
    f"INSERT INTO events ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))}) RETURNING position",
)


def _unique_violation(failure: BaseException) -> bool:
    """A UNIQUE constraint refused the insert (SQLAlchemy's error; the driver path reports
    its refusals as SQLAlchemy's too, `shared.db.driver_rows`)."""
    return isinstance(failure, IntegrityError) and (
        "uq_events_stream_version" in str(failure) or "UNIQUE" in str(failure).upper()
    )


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event the use case wants appended: its type name and JSON data."""

    type: str
    data: dict[str, Any]
    policyversion: str | None = None


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who and why: carried on every event of one append."""

    case_id: str
    actor: str
    correlation_id: str
    causation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChainBreak:
    stream_id: str
    version: int
    event_id: str
    problem: str


@dataclass
class SignatureReport:
    """What `EventStore.verify_signatures` found: counts, and each event that fails."""

    signed: int = 0
    #: Unsigned events stored before the signing cut-over (kernel_0003_signing).
    unsigned_legacy: int = 0
    #: event id -> reason (`shared.signing.Untrusted`), for every event that is not trusted.
    bad: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.bad


@dataclass
class EventStore:
    """`signer`: the service's key; every event appended is signed with it (shared/signing.py).
    Without one (tools and tests of the store alone) events are stored unsigned, and no
    consumer will accept them from the bus."""

    db: Database
    service: str
    signer: Signer | None = None
    source: str = field(init=False)

    def __post_init__(self) -> None:
        self.source = f"/haizhi/{self.service}"

    async def stream_head(self, conn: AsyncConnection, stream_id: str) -> tuple[int, str]:
        """(version, hash) of the stream's last event; (0, GENESIS) when it has none."""
        rows = await driver_rows(conn, _HEAD, (stream_id,))
        if rows is not None:
            return (0, GENESIS) if not rows else (int(rows[0][0]), str(rows[0][1]))
        row = (
            await conn.execute(
                select(events.c.version, events.c.hash)
                .where(events.c.stream_id == stream_id)
                .order_by(events.c.version.desc())
                .limit(1)
            )
        ).first()
        return (0, GENESIS) if row is None else (int(row.version), str(row.hash))

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        pending: Sequence[PendingEvent],
        meta: Metadata,
        now: datetime,
        *,
        head: tuple[int, str] | None = None,
    ) -> list[Envelope]:
        """Append `pending` after `expected_version`, atomically, with their outbox rows
        (written by the trigger on `events` in the same statement).

        `head`: the stream's (version, hash) as read earlier IN THIS TRANSACTION (the load the
        decision rests on), saving the head's `SELECT`; without it the head is selected here.
        Safe: on SQLite the write transaction holds the lock since `BEGIN IMMEDIATE`; on
        PostgreSQL a writer that moved the stream in between makes our insert lose on
        `UNIQUE(stream_id, version)`, a `ConcurrencyConflict` as before.
        """
        return await self.write_events(
            conn, stream_id, expected_version, pending, meta, now, head=head
        )

    async def write_events(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        pending: Sequence[PendingEvent],
        meta: Metadata,
        now: datetime,
        *,
        head: tuple[int, str] | None = None,
    ) -> list[Envelope]:
        """The events of an append, sealed into the hash chain and inserted (their outbox rows
        by the trigger on `events`)."""
        if not pending:
            return []
        version, prevhash = head if head is not None else await self.stream_head(conn, stream_id)
        if expected_version not in (ANY_VERSION, version):
            raise ConcurrencyConflict(stream_id, expected_version, version)
        sealed: list[Envelope] = []
        bodies: list[str] = []
        for offset, event in enumerate(pending, start=1):
            envelope = Envelope(
                id=new_id(),
                source=self.source,
                type=event.type,
                subject=stream_id,
                time=now,
                data=event.data,
                streamversion=version + offset,
                caseid=meta.case_id,
                correlationid=meta.correlation_id,
                causationid=meta.causation_id,
                actor=meta.actor,
                policyversion=event.policyversion,
                prevhash=prevhash,
                hash="",
            )
            bodies.append(envelope.seal_new(self.signer).decode("utf-8"))
            prevhash = envelope.hash
            sealed.append(envelope)
        recorded_at = format_time(now)
        rows = [
            {
                "event_id": e.id,
                "stream_id": stream_id,
                "version": e.streamversion,
                "type": e.type,
                "case_id": e.caseid,
                "recorded_at": recorded_at,
                "envelope": body,
                "hash": e.hash,
            }
            for e, body in zip(sealed, bodies, strict=True)
        ]
        try:
            positions = await self._insert(conn, rows)
        except Exception as clash:
            if _unique_violation(clash):
                raise ConcurrencyConflict(
                    stream_id, expected_version, version + 1, raced=True
                ) from clash
            raise
        for envelope, position in zip(sealed, positions, strict=True):
            # Our own envelopes, seen by no one yet: positioned in place, not copied.
            object.__setattr__(envelope, "position", position)
        return sealed

    @staticmethod
    async def _insert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
        """Insert `rows` into `events`; their positions, in order. One row (a command's usual
        append) goes to the driver when it can; several through SQLAlchemy's sorted RETURNING."""
        if len(rows) == 1:
            returned = await driver_rows(conn, _INSERT_ONE, [rows[0][c] for c in _COLUMNS])
            if returned is not None:
                return [int(returned[0][0])]
        result = await conn.execute(
            insert(events).returning(events.c.position, sort_by_parameter_order=True), rows
        )
        return [int(row.position) for row in result]

    async def read_stream(
        self,
        conn: AsyncConnection,
        stream_id: str,
        after_version: int = 0,
        limit: int | None = None,
    ) -> list[Envelope]:
        """The stream's events after `after_version`, in version order (at most `limit`).

        Envelopes read from the store are parsed lazily (`Envelope.from_stored`)."""
        if limit is None:
            rows = await driver_rows(conn, _STREAM, (stream_id, after_version))
            if rows is not None:
                return _envelopes(rows)
        result = await conn.execute(
            select(events.c.position, events.c.envelope)
            .where(events.c.stream_id == stream_id, events.c.version > after_version)
            .order_by(events.c.version)
            .limit(limit)
        )
        return _envelopes(result)

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        conn: AsyncConnection | None = None,
        *,
        settled: bool = False,
    ) -> list[Envelope]:
        """Events after global position `after`, in position order.

        A position is drawn when a row is inserted, not when its transaction commits, so on
        PostgreSQL a reader can see position 11 while 10 is still in flight. A follower that
        keeps `after` as its cursor must ask for `settled`: the read then waits for in-flight
        appends to commit (a SHARE lock, held for the one query) so no position is passed
        over. SQLite's writers take turns, so its reads are always settled.
        """
        return _envelopes(await self._page(after, limit, conn, settled=settled))

    async def _page(
        self, after: int, limit: int, conn: AsyncConnection | None, *, settled: bool
    ) -> Sequence[Sequence[Any]]:
        """`read_all`'s (position, envelope) rows."""

        def query() -> Select[Any]:
            return (
                select(events.c.position, events.c.envelope)
                .where(events.c.position > after)
                .order_by(events.c.position)
                .limit(limit)
            )

        return await self._positioned(_AFTER, (after, limit), query, conn, settled=settled)

    async def _positioned(
        self,
        sql: DriverSQL,
        params: Sequence[Any],
        query: Callable[[], Select[Any]],
        conn: AsyncConnection | None,
        *,
        settled: bool,
    ) -> Sequence[Sequence[Any]]:
        """The (position, envelope) rows selected by `sql` on the driver (or by the same
        `query()` through SQLAlchemy where the driver cannot be used), read in `conn` if
        given, else settled (`read_all` explains) or on the read engine, in a transaction of
        their own: one statement, so one snapshot either way."""
        if conn is not None:
            return await _selected(conn, sql, params, query)
        if settled and not self.db.is_sqlite:
            async with self.db.engine.begin() as locked:
                await settle(locked)
                return await _selected(locked, sql, params, query)
        async with self.db.read_engine.begin() as reader:
            return await _selected(reader, sql, params, query)

    async def iterate_all(
        self, after: int = 0, batch: int = 2000, *, settled: bool = False
    ) -> AsyncGenerator[Envelope, None]:
        """Every event after `after`, read `batch` at a time (as `read_all`); each envelope
        built (`Envelope.from_stored`) as it is handed out, so a reader that does not keep
        them holds one page of rows, not one of envelopes."""
        stored = Envelope.from_stored
        if self.db.is_sqlite:  # statements run on the loop's thread: nothing to overlap
            while True:
                rows = await self._page(after, batch, None, settled=settled)
                if not rows:
                    return
                for position, envelope in rows:
                    yield stored(envelope, position)
                after = rows[-1][0]
        # PostgreSQL: the next page is read (on a connection of its own) while this one is
        # handed out, so the server's work overlaps the reader's.
        pending = asyncio.ensure_future(self._page(after, batch, None, settled=settled))
        try:
            while True:
                rows = await pending
                if not rows:
                    return
                next_after = rows[-1][0]
                pending = asyncio.ensure_future(
                    self._page(next_after, batch, None, settled=settled)
                )
                for position, envelope in rows:
                    yield stored(envelope, position)
        finally:
            await _discard(pending)

    async def read_case(
        self, case_id: str, after: int = 0, limit: int | None = None, *, settled: bool = False
    ) -> list[Envelope]:
        """The case's events after global position `after`, in position order (at most
        `limit`). A reader paging by position asks for `settled`, as `read_all` explains."""

        def query() -> Select[Any]:
            return (
                select(events.c.position, events.c.envelope)
                .where(events.c.case_id == case_id, events.c.position > after)
                .order_by(events.c.position)
                .limit(limit)
            )

        if limit is None:
            rows = await self._positioned(_CASE_ALL, (case_id, after), query, None, settled=settled)
        else:
            rows = await self._positioned(
                _CASE, (case_id, after, limit), query, None, settled=settled
            )
        return _envelopes(rows)

    async def last_position(self) -> int:
        async with self.db.read_engine.begin() as reader:
            rows = await driver_rows(reader, _LAST, ())
            if rows is None:
                value = (await reader.execute(select(func.max(events.c.position)))).scalar()
            else:
                value = rows[0][0]
        return int(value or 0)

    async def verify(self) -> list[ChainBreak]:
        """Walk every stream's hash chain; report each event that does not fit."""
        breaks: list[ChainBreak] = []
        query = select(
            events.c.stream_id,
            events.c.version,
            events.c.event_id,
            events.c.envelope,
            events.c.hash,
        ).order_by(events.c.stream_id, events.c.version)
        current_stream, expected_version, prevhash = None, 0, GENESIS
        async with self.db.read_engine.connect() as reader:
            result = await reader.stream(query)
            async for row in result:
                if row.stream_id != current_stream:
                    current_stream, expected_version, prevhash = row.stream_id, 0, GENESIS
                expected_version += 1
                breaks.extend(_check(row, expected_version, prevhash))
                prevhash = str(row.hash)
                expected_version = int(row.version)
        return breaks

    async def verify_signatures(self, trust: TrustedKeys) -> SignatureReport:
        """Check every stored event's signature under `trust`, and that the signer is us."""
        report = SignatureReport()
        async with self.db.read_engine.connect() as reader:
            legacy_below = await reader.execute(text("SELECT legacy_below FROM signing_cutover"))
            cutover = int(legacy_below.scalar() or 1)
            result = await reader.stream(
                select(events.c.position, events.c.event_id, events.c.envelope).order_by(
                    events.c.position
                )
            )
            async for row in result:
                try:
                    envelope = Envelope.from_json(row.envelope)
                except (ValueError, KeyError, TypeError):
                    report.bad[str(row.event_id)] = "unreadable"
                    continue
                reason = trust.check(envelope)
                if reason == Untrusted.UNSIGNED and int(row.position) < cutover:
                    report.unsigned_legacy += 1
                elif reason is None and not owned_by(envelope, self.service):
                    report.bad[str(row.event_id)] = Untrusted.WRONG_SERVICE
                elif reason is not None:
                    report.bad[str(row.event_id)] = reason
                else:
                    report.signed += 1
        return report


async def _discard(pending: asyncio.Future[Any]) -> None:
    """Cancel a read that is no longer wanted (a reader that stopped early) and wait for it
    to end, so its connection goes back to the pool; its failure, if any, is not reported
    (no one asked for its rows)."""
    if not pending.done():
        pending.cancel()
        await asyncio.wait([pending])
    if not pending.cancelled():
        pending.exception()


def _envelopes(rows: Iterable[Sequence[Any]]) -> list[Envelope]:
    """(position, envelope) rows as envelopes, parsed lazily (`Envelope.from_stored`).

    Python's cyclic collector is off while the page is built: thousands of new objects, none
    in a cycle, would otherwise set off a collection every few hundred (only our code runs
    meanwhile: no await, no caller's code). Left as found if it was off already."""
    stored = Envelope.from_stored
    if not gc.isenabled():
        return [stored(envelope, position) for position, envelope in rows]
    gc.disable()
    try:
        return [stored(envelope, position) for position, envelope in rows]
    finally:
        gc.enable()


async def _selected(
    conn: AsyncConnection,
    sql: DriverSQL,
    params: Sequence[Any],
    query: Callable[[], Select[Any]],
) -> Sequence[Sequence[Any]]:
    """The rows `sql` selects in `conn`'s transaction, on the driver; through SQLAlchemy's
    `query()` (the same statement) when the driver cannot run it there
    (`shared.db.driver_rows`)."""
    rows = await driver_rows(conn, sql, params)
    if rows is None:
        selected: Sequence[Sequence[Any]] = (await conn.execute(query())).all()
        return selected
    return rows


async def settle(conn: AsyncConnection) -> None:
    """Wait until every append in flight has committed, and hold new ones off until the end
    of this transaction (PostgreSQL; SQLite writers take turns anyway)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        await conn.execute(text("LOCK TABLE events IN SHARE MODE"))


def _check(row: Any, expected_version: int, prevhash: str) -> list[ChainBreak]:
    def brk(problem: str) -> ChainBreak:
        return ChainBreak(str(row.stream_id), int(row.version), str(row.event_id), problem)

    try:
        envelope = Envelope.from_json(row.envelope)
    except (ValueError, KeyError) as unreadable:
        return [brk(f"envelope unreadable: {unreadable}")]
    found: list[ChainBreak] = []
    if int(row.version) != expected_version:
        found.append(brk(f"version {row.version} where {expected_version} was expected (gap)"))
    if envelope.prevhash != prevhash:
        found.append(brk("prevhash does not match the previous event's hash"))
    if envelope.computed_hash() != envelope.hash or envelope.hash != row.hash:
        found.append(brk("content does not match its hash"))
    if (envelope.id, envelope.subject, envelope.streamversion) != (
        row.event_id,
        row.stream_id,
        int(row.version),
    ):
        found.append(brk("envelope id, subject or version differ from the row"))
    return found
