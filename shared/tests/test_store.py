"""The event store, run against every backend (SQLite always; PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.db import Database, DriverSQL, driver_rows
from shared.decider import ConcurrencyConflict
from shared.envelope import GENESIS
from shared.schema import outbox
from shared.store import EventStore, Metadata, PendingEvent

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
META = Metadata(case_id="case-1", actor="user-1", correlation_id="corr-1")


def pending(n: int, name: str = "Happened") -> list[PendingEvent]:
    return [PendingEvent(f"haizhi.test.{name}.v1", {"n": i, "text": "海智"}) for i in range(n)]


async def append(store: EventStore, stream: str, expected: int, n: int = 1) -> int:
    async with store.db.engine.begin() as conn:
        appended = await store.append(conn, stream, expected, pending(n), META, NOW)
    return appended[-1].streamversion


async def test_appended_events_read_back_in_version_order_with_a_hash_chain(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 3)
    async with database.read_engine.connect() as conn:
        read = await store.read_stream(conn, "s-1")
    assert [e.streamversion for e in read] == [1, 2, 3]
    assert [e.data["n"] for e in read] == [0, 1, 2]
    assert read[0].prevhash == GENESIS
    assert read[1].prevhash == read[0].hash
    assert read[2].prevhash == read[1].hash
    assert all(e.caseid == "case-1" and e.subject == "s-1" for e in read)
    assert await store.verify() == []


async def test_a_stale_expected_version_is_a_conflict_and_appends_nothing(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 2)
    with pytest.raises(ConcurrencyConflict) as conflict:
        await append(store, "s-1", 1)
    assert conflict.value.actual_version == 2
    assert len(await store.read_all()) == 2


async def test_fifty_concurrent_appends_with_the_same_expected_version_one_wins(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "contested", 0)

    async def contender() -> bool:
        try:
            await append(store, "contested", 1)
        except ConcurrencyConflict:
            return False
        return True

    outcomes = await asyncio.gather(*(contender() for _ in range(50)))
    assert outcomes.count(True) == 1
    async with database.read_engine.connect() as conn:
        assert [e.streamversion for e in await store.read_stream(conn, "contested")] == [1, 2]


async def test_read_all_follows_the_global_position(database: Database) -> None:
    store = EventStore(database, "test")
    await append(store, "a", 0, 2)
    await append(store, "b", 0, 2)
    everything = await store.read_all()
    assert [(e.subject, e.streamversion) for e in everything] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("b", 2),
    ]
    after = everything[1].position
    assert after is not None
    assert [e.subject for e in await store.read_all(after)] == ["b", "b"]
    assert await store.read_all(after, limit=1) == everything[2:3]


async def test_iterate_all_reads_every_page_and_stops_cleanly_when_left(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    for stream in ("a", "b", "c"):
        await append(store, stream, 0, 3)
    everything = await store.read_all()
    pages: list[list[tuple[int | None, str]]] = []
    for batch in (1, 2, 4, 9, 100):
        pages.append([(e.position, e.subject) async for e in store.iterate_all(batch=batch)])
    expected = [(e.position, e.subject) for e in everything]
    assert pages == [expected] * 5
    after = everything[3].position or 0
    assert [e async for e in store.iterate_all(after, batch=2, settled=True)] == everything[4:]
    for _ in range(3):  # a reader that stops early leaves no read running, no connection held
        reader = store.iterate_all(batch=2)
        assert (await anext(reader)).subject == "a"
        await reader.aclose()
    checked_out = getattr(database.read_engine.pool, "checkedout", lambda: 0)()
    assert checked_out == 0
    assert await store.last_position() == everything[-1].position


async def test_a_case_reads_back_by_position(database: Database) -> None:
    store = EventStore(database, "test")
    await append(store, "a", 0, 2)
    async with database.engine.begin() as conn:
        other = Metadata(case_id="case-2", actor="user-1", correlation_id="corr-2")
        await store.append(conn, "b", 0, pending(2), other, NOW)
    await append(store, "a", 2, 1)
    mine = await store.read_case("case-1")
    assert [(e.subject, e.streamversion) for e in mine] == [("a", 1), ("a", 2), ("a", 3)]
    assert await store.read_case("case-1", mine[0].position or 0, limit=1) == mine[1:2]
    assert await store.read_case("case-2", settled=True) == [
        e for e in await store.read_all() if e.caseid == "case-2"
    ]


async def test_every_read_gives_back_the_stored_envelope_byte_for_byte(
    database: Database,
) -> None:
    """The readers take the envelope as its stored UTF-8 bytes (SQLite: a BLOB cast;
    PostgreSQL: `convert_to`): backslashes, escapes and text beyond the BMP come back as
    they went in, through the stream, the log, its pages and the case."""
    store = EventStore(database, "test")
    data = {"path": "C:\\基地\\x41\\n", "quote": '"\\"', "emoji": "😀 海智", "nul": "\u0000"}
    async with database.engine.begin() as conn:
        (appended,) = await store.append(
            conn, "s-1", 0, [PendingEvent("haizhi.test.Odd.v1", data)], META, NOW
        )
    async with database.read_engine.connect() as conn:
        (streamed,) = await store.read_stream(conn, "s-1")
    (logged,) = await store.read_all()
    (paged,) = [e async for e in store.iterate_all(batch=1)]
    (cased,) = await store.read_case("case-1")
    for read in (streamed, logged, paged, cased):
        assert read.data == data
        assert read.to_json() == appended.to_json()
        assert read.hash == read.computed_hash() == appended.hash
    assert await store.verify() == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET envelope = '{}'", "DELETE FROM events"],
)
async def test_the_database_refuses_to_change_or_delete_a_stored_event(
    database: Database, statement: str
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 2)
    with pytest.raises((IntegrityError, DBAPIError), match="immutable"):
        async with database.engine.begin() as conn:
            await conn.execute(text(statement))
    assert len(await store.read_all()) == 2


async def test_the_database_refuses_to_empty_the_log_at_once(database: Database) -> None:
    # SQLite's "truncate" is an unqualified DELETE, which the row trigger also refuses.
    statement = "DELETE FROM events" if database.is_sqlite else "TRUNCATE events"
    store = EventStore(database, "test")
    await append(store, "s-1", 0)
    with pytest.raises((IntegrityError, DBAPIError), match="immutable"):
        async with database.engine.begin() as conn:
            await conn.execute(text(statement))
    assert len(await store.read_all()) == 1


async def _behind_the_back(database: Database, statement: str) -> None:
    """Alter the table as an intruder with DDL rights would: triggers off, change, back on."""
    async with database.engine.begin() as conn:
        if database.is_sqlite:
            await conn.execute(text("DROP TRIGGER events_refuse_update"))
            await conn.execute(text("DROP TRIGGER events_refuse_delete"))
        else:
            await conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        await conn.exec_driver_sql(statement)


async def test_an_event_altered_behind_the_databases_back_breaks_the_chain(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 3)
    await _behind_the_back(
        database,
        "UPDATE events SET envelope = REPLACE(envelope, '\"n\":1', '\"n\":9') WHERE version = 2",
    )
    breaks = await store.verify()
    assert [(b.stream_id, b.version) for b in breaks] == [("s-1", 2)]
    assert "hash" in breaks[0].problem


async def test_an_event_removed_behind_the_databases_back_is_a_gap(database: Database) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 3)
    await _behind_the_back(database, "DELETE FROM events WHERE version = 2")
    breaks = await store.verify()
    assert [b.version for b in breaks] == [3, 3]
    assert {b.problem.split(" ")[0] for b in breaks} == {"version", "prevhash"}


async def test_an_append_after_a_given_head_chains_from_it_and_a_stale_head_conflicts(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 2)
    async with database.engine.begin() as conn:
        head = await store.stream_head(conn, "s-1")
        appended = await store.append(conn, "s-1", 2, pending(1), META, NOW, head=head)
    assert appended[0].streamversion == 3
    assert appended[0].prevhash == head[1]
    with pytest.raises(ConcurrencyConflict):  # the stream moved past the head we were given
        async with database.engine.begin() as conn:
            await store.append(conn, "s-1", 2, pending(1), META, NOW, head=head)
    assert len(await store.read_all()) == 3
    assert await store.verify() == []


async def test_each_appended_event_has_its_outbox_row_and_a_rollback_leaves_neither(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "one", 0)  # a single event: the driver's insert
    await append(store, "many", 0, 3)  # several: SQLAlchemy's insert

    async def failing_command() -> None:
        async with database.engine.begin() as conn:
            await store.append(conn, "gone", 0, pending(1), META, NOW)
            raise RuntimeError("the command failed after its append")

    with pytest.raises(RuntimeError):
        await failing_command()
    async with database.read_engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.position, outbox.c.event_id))).all()
    stored = await store.read_all()
    assert sorted((int(r.position), str(r.event_id)) for r in rows) == [
        (e.position, e.id) for e in stored
    ]
    assert [e.subject for e in stored] == ["one", "many", "many", "many"]


async def test_an_insert_that_loses_on_the_stream_version_is_a_raced_conflict(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 2)
    async with database.engine.begin() as conn:
        head = await store.stream_head(conn, "s-1")
    await append(store, "s-1", 2)  # another writer moves the stream past that head
    with pytest.raises(ConcurrencyConflict) as conflict:
        async with database.engine.begin() as conn:
            await store.append(conn, "s-1", 2, pending(1), META, NOW, head=head)
    assert conflict.value.raced
    assert len(await store.read_all()) == 3


async def test_driver_statements_run_in_the_transaction_or_not_at_all(
    database: Database,
) -> None:
    store = EventStore(database, "test")
    await append(store, "s-1", 0, 2)
    head_sql = DriverSQL(
        "SELECT count(*) FROM events WHERE stream_id = ?",
        "SELECT count(*) FROM events WHERE stream_id = $1",
    )
    async with database.read_engine.connect() as reader:
        if database.is_sqlite:  # its BEGIN comes with the first statement: SQLAlchemy's
            assert await driver_rows(reader, head_sql, ("s-1",)) is None
        assert [e.streamversion for e in await store.read_stream(reader, "s-1")] == [1, 2]
        assert await driver_rows(reader, head_sql, ("s-1",)) == [(2,)]

    async def rolled_back() -> None:
        async with database.engine.begin() as conn:
            # The driver's statement comes first in the transaction, and is rolled back in it.
            assert await store.stream_head(conn, "s-1") == (2, await _hash_of(store, 2))
            await store.append(conn, "s-1", 2, pending(1), META, NOW)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert len(await store.read_all()) == 2


async def _hash_of(store: EventStore, version: int) -> str:
    async with store.db.read_engine.connect() as reader:
        return next(
            e.hash for e in await store.read_stream(reader, "s-1") if e.streamversion == version
        )
