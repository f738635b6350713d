"""Transient is not poison: a full disk or a lost connection while consuming is retried until
it goes through, never dead-lettered; what is dead-lettered is listed exactly as HAIZHI_DLQ
holds it, unreadable envelopes included."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import Consumer, Outcome, Subscription
from shared.db import Database, open_database
from shared.envelope import Envelope
from shared.migrate import upgrade
from shared.schema import inbox
from shared.streams import DLQ_STREAM, ensure_streams
from shared.testkit.bus import foreign_event, publish, run_until_idle
from shared.testkit.keys import signer, trust

effects_metadata = MetaData()
effects = Table(
    "transient_effects",
    effects_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("stream", String(50)),
    Column("version", Integer),
)

PAD = "x" * 6000  # each event needs new pages: a database held to its size cannot take it


def envelope(stream: str, version: int, **data: Any) -> Envelope:
    return foreign_event(
        "upstream", "Happened", {"pad": PAD, **data}, stream_id=stream, version=version
    )


async def record(conn: AsyncConnection, event: Envelope) -> None:
    if event.data.get("poison"):
        raise RuntimeError("this message always fails")
    await conn.execute(insert(effects).values(stream=event.subject, version=event.streamversion))


class Disk:
    """A SQLite database whose size an operator can freeze (`PRAGMA max_page_count`, checked
    by SQLite itself at every write): frozen, every write needing a page fails with
    SQLITE_FULL, "database or disk is full", as a full file system makes it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.limit: int | None = None
        db.on_begin.append(self._on_begin)

    async def _on_begin(self, conn: AsyncConnection) -> None:
        limit = 2_147_483_646 if self.limit is None else self.limit
        await conn.exec_driver_sql(f"PRAGMA max_page_count = {limit}")

    async def fill(self) -> None:
        async with self.db.read_engine.connect() as conn:
            self.limit = int((await conn.execute(text("PRAGMA page_count"))).scalar() or 0)

    def free(self) -> None:
        self.limit = None


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'consumer.db'}")
    await upgrade(db)
    async with db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    yield db
    await db.dispose()


def new_consumer(db: Database, js: JetStreamContext, name: str = "transient") -> Consumer:
    subscription = Subscription(name, "upstream", {"Happened": record})
    return Consumer(
        db, js, subscription, max_failures=3, retry_delay=0.02, max_backoff=0.2, trust=trust()
    )


async def run_until(consumer: Consumer, failed: list[str], count: int) -> list[str]:
    """Pull until `count` transient failures were reported (`on_transient`)."""
    outcomes: list[str] = []
    stop_at = time.monotonic() + 30.0
    while len(failed) < count:
        assert time.monotonic() < stop_at, f"not enough transient failures: {outcomes}"
        outcomes += await consumer.fetch_and_process(wait=0.3)
    return outcomes


async def applied(db: Database) -> list[tuple[str, int]]:
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(select(effects.c.stream, effects.c.version))
        return sorted((r.stream, r.version) for r in rows)


async def inbox_outcomes(db: Database, consumer: str) -> list[str]:
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(select(inbox.c.outcome).where(inbox.c.consumer == consumer))
        return sorted(r.outcome for r in rows)


async def dlq_letters(js: JetStreamContext) -> set[tuple[str, str]]:
    """(consumer, dead-letter id) of every message HAIZHI_DLQ holds."""
    info = await js.stream_info(DLQ_STREAM)
    letters = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        message = await js.get_msg(DLQ_STREAM, seq)
        assert message.headers is not None
        letters.add((message.headers["Haizhi-Consumer"], message.headers["Haizhi-Dead-Letter"]))
    return letters


async def test_a_full_disk_while_consuming_is_retried_and_applied_once_space_returns(
    sqlite_db: Database, js: JetStreamContext
) -> None:
    disk = Disk(sqlite_db)
    consumer = new_consumer(sqlite_db, js)
    seen: list[bool] = []
    transient: list[str] = []
    consumer.on_store, consumer.on_transient = seen.append, transient.append
    events = [envelope(f"s-{n}", 1) for n in range(3)] + [envelope("s-0", 2)]
    await disk.fill()
    for e in events:
        await publish(js, e)
    # More failed tries than max_failures (3) per event: one of them had more than 3 at least.
    during = await run_until(consumer, transient, len(events) * consumer.max_failures + 1)
    assert set(during) == {Outcome.TRANSIENT}
    assert consumer.store_available is False
    assert await applied(sqlite_db) == []
    disk.free()
    after = await run_until_idle(consumer)
    assert Outcome.DEAD_LETTERED not in after
    assert await applied(sqlite_db) == [("s-0", 1), ("s-0", 2), ("s-1", 1), ("s-2", 1)]
    assert await inbox_outcomes(sqlite_db, consumer.durable) == [Outcome.APPLIED] * 4
    assert (await js.stream_info(DLQ_STREAM)).state.messages == 0
    assert consumer.store_available is True
    assert seen == [False, True]  # the gauge: down once, up once


@pytest.mark.postgresql_only
async def test_a_lost_postgresql_connection_while_consuming_is_retried_not_dead_lettered(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    kills = {"left": 5}  # more than max_failures

    async def loses_its_connection(conn: AsyncConnection, event: Envelope) -> None:
        if kills["left"] > 0:
            kills["left"] -= 1
            await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await record(conn, event)

    subscription = Subscription("pg-lost", "upstream", {"Happened": loses_its_connection})
    consumer = Consumer(
        database, js, subscription, max_failures=3, retry_delay=0.02, max_backoff=0.2, trust=trust()
    )
    for version in (1, 2):
        await publish(js, envelope("s-1", version))
    outcomes = await run_until_idle(consumer)
    assert kills["left"] == 0
    assert Outcome.TRANSIENT in outcomes
    assert Outcome.DEAD_LETTERED not in outcomes
    assert Outcome.FAILED not in outcomes
    assert await applied(database) == [("s-1", 1), ("s-1", 2)]
    assert await inbox_outcomes(database, "pg-lost") == [Outcome.APPLIED] * 2
    assert (await js.stream_info(DLQ_STREAM)).state.messages == 0
    assert consumer.store_available is True


async def test_poison_still_dead_letters_after_max_failures_and_later_events_flow(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    consumer = new_consumer(database, js, "poisoned")
    bad = signer("upstream").sign(
        Envelope.from_attributes({**envelope("bad", 1).attributes(), "data": {"poison": True}})
        .sealed()
    )  # fmt: skip
    for e in (bad, envelope("bad", 2), envelope("good", 1)):
        await publish(js, e)
    outcomes = await run_until_idle(consumer)
    assert outcomes.count(Outcome.FAILED) == consumer.max_failures - 1
    assert outcomes.count(Outcome.DEAD_LETTERED) == 1
    assert await applied(database) == [("bad", 2), ("good", 1)]
    assert [e.id for e in await consumer.dead_letters()] == [bad.id]
    assert await dlq_letters(js) == {("poisoned", bad.id)}


async def test_the_listed_dead_letters_are_what_the_dlq_holds_unreadable_included(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    consumer = new_consumer(database, js, "listing")
    bad = signer("upstream").sign(
        Envelope.from_attributes({**envelope("bad", 1).attributes(), "data": {"poison": True}})
        .sealed()
    )  # fmt: skip
    await publish(js, bad)
    garbage = await js.publish("haizhi.upstream.case-9.Happened", b"\x00not an envelope\xff")
    await publish(js, envelope("good", 1))
    await run_until_idle(consumer)
    listed = {(consumer.durable, e.id) for e in await consumer.dead_letters()}
    unread = await consumer.unreadable_letters()
    listed |= {(consumer.durable, letter["id"]) for letter in unread}
    assert listed == await dlq_letters(js)
    assert listed == {("listing", bad.id), ("listing", f"#{garbage.seq}")}
    assert unread[0]["subject"] == "haizhi.upstream.case-9.Happened"
    assert "unreadable envelope" in unread[0]["error"]
    # Delivered again (as after a crash between the record and the ack): no second letter.
    again = new_consumer(database, js, "listing")
    await again.start()
    await js.publish("haizhi.upstream.case-9.Happened", b"{}")  # one more unreadable
    await run_until_idle(again)
    assert len(await dlq_letters(js)) == 3
    assert len(await again.unreadable_letters()) == 2
    assert await applied(database) == [("good", 1)]


async def test_a_dead_letter_whose_publication_failed_is_published_when_it_comes_back(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    consumer = new_consumer(database, js, "ghostless")
    bad = signer("upstream").sign(
        Envelope.from_attributes({**envelope("bad", 1).attributes(), "data": {"poison": True}})
        .sealed()
    )  # fmt: skip
    await publish(js, bad)
    await js.delete_stream(DLQ_STREAM)  # the dead-letter stream is away: publishing fails
    failed: list[str] = []
    consumer.on_transient = failed.append
    outcomes = await run_until(consumer, failed, 2)
    assert outcomes.count(Outcome.FAILED) == consumer.max_failures - 1
    assert Outcome.DEAD_LETTERED not in outcomes
    assert [e.id for e in await consumer.dead_letters()] == [bad.id]  # recorded first
    await ensure_streams(js)  # back
    await run_until_idle(consumer)
    assert await dlq_letters(js) == {("ghostless", bad.id)}  # published once, listed once
    assert [e.id for e in await consumer.dead_letters()] == [bad.id]
