"""Prototypes of changes to files this harness may not edit, measured against today's code.

Nothing here is used by the services. Each prototype is the smallest faithful stand-in for a
change recommended in docs/performance.md, so the recommendation comes with a number from
the same run, the same data and the same raw baseline:

- `HeadFromLoad`: `EventStore.append` takes the stream head (version, hash) the Executor's load
  has just read in the same transaction instead of selecting it again (store.py, usecase.py).
  Now in the kernel (`append(..., head=)`): "today" includes it; kept for the outbox trigger.
- `outbox_trigger`: the outbox row is written by an AFTER INSERT trigger on `events` rather
  than by a second INSERT statement (a kernel migration; store.py drops its outbox insert).
- `inline_sqlite`: SQLite writes run on the event loop's thread through one connection, with
  only COMMIT (the fsync) handed to a worker thread, instead of aiosqlite's thread hop for
  every cursor call (db.py).
- `BatchConsumer`: a consumer applies a whole fetch in one transaction (consumer.py).
- `replay_batched`: a rebuild writes each page's read-model rows set-wise (projection.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.codec import EventRegistry
from shared.consumer import Consumer, Outcome
from shared.db import Database
from shared.envelope import GENESIS, Envelope, format_time
from shared.schema import inbox
from shared.store import EventStore, Metadata, PendingEvent
from shared.tests.toy import Counted, Opened

# ----------------------------------------------------------------- the head from the load


@dataclass
class HeadFromLoad(EventStore):
    """Remembers the head `read_stream` saw on a connection; `append` uses it once.

    Safe for the same reason the current re-read is: on SQLite the write transaction holds the
    database's write lock from BEGIN IMMEDIATE, so nobody moves the head in between; on
    PostgreSQL a racing writer loses on UNIQUE(stream_id, version) either way.
    With `trigger_outbox`, the outbox row comes from a trigger instead of a second INSERT.
    """

    trigger_outbox: bool = False
    _heads: dict[tuple[int, str], tuple[int, str]] = field(default_factory=dict, init=False)

    async def read_stream(
        self,
        conn: AsyncConnection,
        stream_id: str,
        after_version: int = 0,
        limit: int | None = None,
    ) -> list[Envelope]:
        read = await super().read_stream(conn, stream_id, after_version, limit)
        if limit is not None:  # a page of the stream: not (necessarily) its head
            return read
        if read:
            self._heads[(id(conn), stream_id)] = (read[-1].streamversion, read[-1].hash)
        elif after_version == 0:
            self._heads[(id(conn), stream_id)] = (0, GENESIS)
        return read

    async def stream_head(self, conn: AsyncConnection, stream_id: str) -> tuple[int, str]:
        known = self._heads.pop((id(conn), stream_id), None)
        return known if known is not None else await super().stream_head(conn, stream_id)

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
        if not self.trigger_outbox:
            return await super().append(
                conn, stream_id, expected_version, pending, meta, now, head=head
            )
        # store.append, less the outbox INSERT (the trigger writes it).
        return await self.write_events(
            conn, stream_id, expected_version, pending, meta, now, head=head
        )


OUTBOX_TRIGGER_SQLITE = """
CREATE TRIGGER events_to_outbox AFTER INSERT ON events
BEGIN INSERT INTO outbox (position, event_id) VALUES (NEW.position, NEW.event_id); END
"""
OUTBOX_TRIGGER_POSTGRES = [
    """CREATE FUNCTION events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO outbox (position, event_id) VALUES (NEW.position, NEW.event_id);
       RETURN NULL; END $$""",
    """CREATE TRIGGER events_to_outbox AFTER INSERT ON events
       FOR EACH ROW EXECUTE FUNCTION events_to_outbox()""",
]


async def outbox_trigger(db: Database) -> None:
    """The prototype landed (migration `kernel_0004_outbox_trigger`): every kernel database has
    the trigger already, so the trials keep their names and this creates nothing.
    `OUTBOX_TRIGGER_SQLITE` / `OUTBOX_TRIGGER_POSTGRES` stay as the prototype's record."""
    del db


# ----------------------------------------------------------------- SQLite without thread hops


class _InlineCursor:
    """The aiosqlite cursor interface SQLAlchemy's adapter uses, run inline."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Any:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> Any:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue: SQLAlchemy puts (future, fn) on it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def put_nowait(self, item: tuple[asyncio.Future[Any], Any]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class _InlineConnection:
    """One sqlite3 connection used from the event loop; COMMIT's fsync goes to a thread."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._tx = _RunNow(self._conn)
        self._connection = self._conn  # SQLAlchemy checks it is there before commit/rollback

    def cursor(self) -> _InlineCursor:
        return _InlineCursor(self._conn.cursor())

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def commit(self) -> None:
        await asyncio.to_thread(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    def stop(self) -> None:
        self._conn.close()


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def inline_sqlite(path: Path, reader: Database) -> Database:
    """A Database whose writes go through one inline connection (pool of one: SQLite has one
    writer anyway, and a second inline BEGIN IMMEDIATE would block the loop on the lock)."""

    async def connect() -> _InlineConnection:
        return _InlineConnection(str(path))

    writer = create_async_engine(
        f"sqlite+aiosqlite:///{path}", async_creator=connect, pool_size=1, max_overflow=0
    )
    event.listen(writer.sync_engine, "connect", _pragmas)

    @event.listens_for(writer.sync_engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return Database(reader.url, writer, reader.read_engine)


# ----------------------------------------------------------------- one commit per fetch


class BatchConsumer(Consumer):
    """Consumer.process's rules for a whole fetch in ONE transaction (one fsync per batch).

    The inbox checks are the same (redelivery, late duplicate, gap), kept per upstream stream
    within the batch; the inbox rows go in with one executemany; messages are acknowledged
    after the commit. If anything in the batch fails, the batch is rolled back and processed
    message by message as today, so failure counting and dead-lettering are unchanged.
    """

    async def fetch_and_process(self, wait: float = 1.0) -> list[str]:
        if self._sub is None:
            await self.start()
        assert self._sub is not None
        try:
            messages = await self._sub.fetch(self.batch, timeout=wait)
        except NatsTimeout:
            return []
        try:
            outcomes = await self._apply_batch(messages)
        except Exception:
            return [await self.process(message) for message in messages]
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome == Outcome.GAP:
                await message.nak(delay=self.gap_delay)
            else:
                await message.ack()
        return outcomes

    async def _apply_batch(self, messages: list[Msg]) -> list[str]:
        outcomes: list[str] = []
        last: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        processed_at = format_time(datetime.now(UTC))
        async with self.db.engine.begin() as conn:
            for message in messages:
                envelope = Envelope.from_json(message.data)
                stream = envelope.subject
                if stream not in last:
                    last[stream] = await self.last_version(conn, stream)
                if envelope.streamversion <= last[stream]:
                    outcomes.append(Outcome.SKIPPED)
                    continue
                if envelope.streamversion > last[stream] + 1:
                    outcomes.append(Outcome.GAP)
                    continue
                handler = self.subscription.handlers.get(envelope.name)
                if handler is not None:
                    await handler(conn, envelope)
                last[stream] = envelope.streamversion
                rows.append(
                    {
                        "consumer": self.durable,
                        "event_id": envelope.id,
                        "upstream_stream": stream,
                        "version": envelope.streamversion,
                        "outcome": Outcome.APPLIED,
                        "envelope": envelope.to_json().decode("utf-8"),
                        "processed_at": processed_at,
                    }
                )
                outcomes.append(Outcome.APPLIED)
            if rows:
                await conn.execute(insert(inbox), rows)
        return outcomes


# ----------------------------------------------------------------- set-based rebuild writes


async def replay_batched(
    db: Database, registry: EventRegistry, table: Table, up_to: int, batch: int = 1000
) -> int:
    """The toy totals rebuilt a page at a time: rows the page touches are read once, folded in
    memory, and written with one executemany INSERT and one executemany UPDATE per page —
    what a projection could do through a batch hook (`apply_many`) in shared.projection."""
    store = EventStore(db, registry.service)
    after, applied = 0, 0
    while after < up_to:
        page = [e for e in await store.read_all(after, batch) if (e.position or 0) <= up_to]
        if not page:
            break
        decoded = [registry.decode(e.type, e.data) for e in page]
        ids = {event.tally_id for event in decoded}
        async with db.engine.begin() as conn:
            existing = {
                row.tally_id: dict(row._mapping)
                for row in await conn.execute(select(table).where(table.c.tally_id.in_(ids)))
            }
            rows = dict(existing)
            for event in decoded:
                if isinstance(event, Opened):
                    rows[event.tally_id] = {
                        "tally_id": event.tally_id,
                        "name": event.name,
                        "total": 0,
                        "events": 1,
                    }
                elif isinstance(event, Counted):
                    row = rows[event.tally_id]
                    row["total"] += event.by
                    row["events"] += 1
            new = [row for key, row in rows.items() if key not in existing]
            changed = [
                {"key": key, "new_total": row["total"], "new_events": row["events"]}
                for key, row in rows.items()
                if key in existing
            ]
            if new:
                await conn.execute(insert(table), new)
            if changed:
                await conn.execute(
                    update(table)
                    .where(table.c.tally_id == bindparam("key"))
                    .values(total=bindparam("new_total"), events=bindparam("new_events")),
                    changed,
                )
        applied += len(page)
        after = page[-1].position or after
    return applied
