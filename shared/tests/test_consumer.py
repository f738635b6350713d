"""Consumers on real NATS and real databases: once in effect, in order, poison to the DLQ."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection

import shared.consumer
from shared.consumer import Consumer, Outcome, Subscription
from shared.db import Database, DriverSQL, driver_rows
from shared.envelope import Envelope
from shared.schema import inbox
from shared.streams import DLQ_STREAM
from shared.testkit.bus import foreign_event, publish, run_until_idle
from shared.testkit.keys import signer, trust

effects_metadata = MetaData()
effects = Table(
    "test_effects",
    effects_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("stream", String(50)),
    Column("version", Integer),
)


def envelope(stream: str, version: int, name: str = "Happened") -> Envelope:
    data = {"stream": stream, "version": version}
    return foreign_event("upstream", name, data, stream_id=stream, version=version)


def resigned(attributes: dict[str, Any]) -> Envelope:
    """An upstream event changed, sealed and signed again as upstream would."""
    return signer("upstream").sign(Envelope.from_attributes(attributes).sealed())


async def record(conn: AsyncConnection, event: Envelope) -> None:
    if event.data.get("poison"):
        raise RuntimeError("this message always fails")
    await conn.execute(insert(effects).values(stream=event.subject, version=event.streamversion))


@pytest.fixture
async def consumer(database: Database, js: JetStreamContext) -> Consumer:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    subscription = Subscription("test-consumer", "upstream", {"Happened": record})
    consumer = Consumer(
        database, js, subscription, max_failures=3, gap_delay=0.1, retry_delay=0.05, trust=trust()
    )
    await consumer.start()
    return consumer


async def applied(database: Database) -> list[tuple[str, int]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            select(effects.c.stream, effects.c.version).order_by(effects.c.seq)
        )
        return [(r.stream, r.version) for r in rows]


async def test_a_message_delivered_twice_has_its_effect_once(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    first = envelope("s-1", 1)
    await publish(js, first)
    await run_until_idle(consumer)
    # The same event again, as after the duplicate window expired: JetStream stores it anew.
    await publish(js, first, msg_id=f"{first.id}-again")
    outcomes = await run_until_idle(consumer)
    assert outcomes == [Outcome.SKIPPED]
    assert await applied(database) == [("s-1", 1)]


async def test_events_out_of_order_are_applied_in_version_order(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    third, first, second = envelope("s-1", 3), envelope("s-1", 1), envelope("s-1", 2)
    for event in (third, second, first):
        await publish(js, event)
    outcomes = await run_until_idle(consumer)
    assert Outcome.GAP in outcomes
    assert await applied(database) == [("s-1", 1), ("s-1", 2), ("s-1", 3)]


async def test_a_poison_message_goes_to_the_dead_letter_stream_and_the_rest_flow(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    bad = envelope("bad", 1)
    bad = resigned({**bad.attributes(), "data": {"poison": True}})
    for event in (bad, envelope("bad", 2), envelope("good", 1), envelope("good", 2)):
        await publish(js, event)
    outcomes = await run_until_idle(consumer)
    assert outcomes.count(Outcome.DEAD_LETTERED) == 1
    assert outcomes.count(Outcome.FAILED) == 2  # delivered max_failures times in all
    assert sorted(await applied(database)) == [("bad", 2), ("good", 1), ("good", 2)]
    dead = await js.get_last_msg(DLQ_STREAM, "haizhidlq.>")
    assert dead.headers is not None
    assert "always fails" in dead.headers["Haizhi-Error"]
    assert dead.headers["Haizhi-Original-Subject"] == bad.nats_subject
    assert Envelope.from_json(dead.data or b"").id == bad.id


async def test_processing_survives_a_restart_without_reapplying(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    for version in (1, 2):
        await publish(js, envelope("s-1", version))
    await run_until_idle(consumer)
    again = Consumer(database, js, consumer.subscription, trust=trust())
    await again.start()
    await publish(js, envelope("s-1", 3))
    await asyncio.wait_for(run_until_idle(again), timeout=20)
    assert await applied(database) == [("s-1", 1), ("s-1", 2), ("s-1", 3)]


async def test_events_without_a_handler_still_advance_the_stream(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    await publish(js, envelope("s-1", 1, name="SomethingElse"))
    await publish(js, envelope("s-1", 2))
    await run_until_idle(consumer)
    assert await applied(database) == [("s-1", 2)]


async def test_an_event_that_must_wait_for_another_upstream_is_deferred_not_dead(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    announced: set[str] = set()

    async def needs_announcement(conn: AsyncConnection, event: Envelope) -> None:
        if event.subject not in announced:
            raise LookupError("not announced yet")
        await record(conn, event)

    subscription = Subscription(
        "deferring", "upstream", {"Happened": needs_announcement}, defer_on=(LookupError,)
    )
    consumer = Consumer(database, js, subscription, max_failures=2, defer_delay=0.05, trust=trust())
    await publish(js, envelope("s-1", 1))
    outcomes = []
    for _ in range(4):  # more deliveries than max_failures: a failure would be dead by now
        outcomes += await consumer.fetch_and_process(wait=1.0)
    assert outcomes == [Outcome.DEFERRED] * 4
    announced.add("s-1")
    await run_until_idle(consumer)
    assert await applied(database) == [("s-1", 1)]


async def test_an_operator_replays_a_dead_letter_once_its_cause_is_fixed(
    database: Database, js: JetStreamContext
) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    broken = True

    async def sometimes_broken(conn: AsyncConnection, event: Envelope) -> None:
        if broken:
            raise RuntimeError("a bug, fixed later")
        await record(conn, event)

    subscription = Subscription("replaying", "upstream", {"Happened": sometimes_broken})
    consumer = Consumer(database, js, subscription, max_failures=2, retry_delay=0.01, trust=trust())
    dead = envelope("s-1", 1)
    await publish(js, dead)
    await run_until_idle(consumer)
    assert [e.id for e in await consumer.dead_letters()] == [dead.id]

    broken = False
    assert await consumer.replay(dead.id) == Outcome.REPLAYED
    assert await applied(database) == [("s-1", 1)]
    assert await consumer.dead_letters() == []
    with pytest.raises(LookupError):
        await consumer.replay(dead.id)  # once only


async def test_a_fetch_in_order_is_applied_in_one_transaction(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    begun = 0

    async def count_begin(_conn: object) -> None:
        nonlocal begun
        begun += 1

    database.on_begin.append(count_begin)
    try:
        sent = [envelope("s-1", version) for version in (1, 2, 3)]
        for event in sent:
            await publish(js, event)
        await publish(js, envelope("s-2", 1, name="SomethingElse"))
        # A late duplicate inside the same fetch (republished after the duplicate window).
        await publish(js, sent[1], msg_id=f"{sent[1].id}-again")
        outcomes = await run_until_idle(consumer)
    finally:
        database.on_begin.remove(count_begin)
    assert outcomes == [Outcome.APPLIED] * 4 + [Outcome.SKIPPED]
    assert begun == 1, "the fetch was not applied in one transaction"
    assert await applied(database) == [("s-1", 1), ("s-1", 2), ("s-1", 3)]
    async with database.read_engine.connect() as conn:
        recorded = (await conn.execute(select(inbox.c.event_id))).all()
    assert len(recorded) == 4


async def test_a_poison_message_inside_a_fetch_leaves_the_others_applied_once(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    bad = envelope("bad", 1)
    bad = resigned({**bad.attributes(), "data": {"poison": True}})
    for event_ in (envelope("good", 1), envelope("good", 2), bad, envelope("good", 3)):
        await publish(js, event_)
    outcomes = await run_until_idle(consumer)
    assert outcomes[:4] == [Outcome.APPLIED, Outcome.APPLIED, Outcome.FAILED, Outcome.APPLIED]
    assert outcomes.count(Outcome.DEAD_LETTERED) == 1
    assert await applied(database) == [("good", 1), ("good", 2), ("good", 3)]
    assert [e.id for e in await consumer.dead_letters()] == [bad.id]
    dead = await js.get_last_msg(DLQ_STREAM, "haizhidlq.>")
    assert Envelope.from_json(dead.data or b"").id == bad.id


async def test_a_gap_inside_a_fetch_falls_back_to_one_message_at_a_time(
    consumer: Consumer, js: JetStreamContext, database: Database
) -> None:
    for event_ in (envelope("s-1", 1), envelope("s-1", 3), envelope("s-2", 1)):
        await publish(js, event_)
    first = await consumer.fetch_and_process(wait=1.0)
    assert first == [Outcome.APPLIED, Outcome.GAP, Outcome.APPLIED]
    await publish(js, envelope("s-1", 2))
    await run_until_idle(consumer)
    assert sorted(await applied(database)) == [("s-1", 1), ("s-1", 2), ("s-1", 3), ("s-2", 1)]


async def test_a_fetch_asks_the_inbox_once_and_keeps_the_received_bytes(
    consumer: Consumer, js: JetStreamContext, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[tuple[str, int]] = []  # (statement, rows written by it)
    engine = database.engine

    @sa_event.listens_for(engine.sync_engine, "before_cursor_execute")
    def seen(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, executemany = args
        rows = len(parameters) if executemany else 1
        statements.append((" ".join(statement.split()).upper(), rows))

    async def on_driver(conn: AsyncConnection, sql: DriverSQL, params: Any) -> Any:
        statement = " ".join(sql.sqlite.split()).upper()
        statements.append((statement, statement.count("),") + 1))
        return await driver_rows(conn, sql, params)

    monkeypatch.setattr(shared.consumer, "driver_rows", on_driver)  # its statements too
    sent = [envelope(f"many-{n}", version) for version in (1, 2) for n in range(10)]
    try:
        for event_ in sent:
            await publish(js, event_)
        outcomes = await run_until_idle(consumer)
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert outcomes == [Outcome.APPLIED] * 20
    inbox_reads = [s for s, _ in statements if s.startswith("SELECT") and "FROM INBOX" in s]
    assert len(inbox_reads) == 1, inbox_reads
    inbox_writes = [rows for s, rows in statements if s.startswith("INSERT INTO INBOX")]
    assert inbox_writes == [20], "the fetch's inbox rows were not written by one statement"
    async with database.read_engine.connect() as conn:
        stored = dict((await conn.execute(select(inbox.c.event_id, inbox.c.envelope))).all())
    assert {e.id: e.to_json().decode() for e in sent} == stored


async def test_a_single_message_asks_the_inbox_once(
    consumer: Consumer, js: JetStreamContext, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    engine = database.engine

    def note(statement: str) -> None:
        statement = " ".join(statement.split()).upper()
        if statement.startswith("SELECT") and "FROM INBOX" in statement:
            reads.append(statement)

    @sa_event.listens_for(engine.sync_engine, "before_cursor_execute")
    def seen(*args: Any) -> None:
        note(str(args[2]))

    async def on_driver(conn: AsyncConnection, sql: DriverSQL, params: Any) -> Any:
        note(sql.sqlite)
        return await driver_rows(conn, sql, params)

    monkeypatch.setattr(shared.consumer, "driver_rows", on_driver)  # its statements too
    try:
        await publish(js, envelope("alone", 1))
        assert await consumer.fetch_and_process(wait=1.0) == [Outcome.APPLIED]
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert len(reads) == 1, reads
    assert await applied(database) == [("alone", 1)]


async def test_a_pull_subscription_hands_over_queued_messages_in_order_and_accounts_them(
    js: JetStreamContext,
) -> None:
    """`eager`: what one socket read queued is taken without a task per message, in order,
    with nats-py's bookkeeping; an empty queue still waits (and times out) as nats-py does."""
    sent = [envelope("eager", version) for version in range(1, 31)]
    for event_ in sent:
        await publish(js, event_)
    config = shared.consumer.consumer_config("eager-test", "haizhi.upstream.>", ack_wait=30)
    pull = shared.consumer.eager(
        await js.pull_subscribe("haizhi.upstream.>", durable="eager-test", config=config)
    )
    try:
        got: list[Msg] = []
        while len(got) < len(sent):
            got += await pull.fetch(64, timeout=2.0)
        assert [Envelope.from_json(m.data).id for m in got] == [e.id for e in sent]
        assert pull.pending_msgs == 0
        assert pull.pending_bytes == 0
        for message in got:
            await message.ack()
        with pytest.raises(TimeoutError):  # nats-py's own TimeoutError is one too
            await pull.fetch(64, timeout=0.2)
    finally:
        await pull.unsubscribe()


def test_a_gap_first_waits_briefly_then_at_the_full_delay(consumer: Consumer) -> None:
    """Most gaps are their predecessor in flight (in another replica, or the same fetch):
    the first three waits are an eighth, a quarter and a half of `gap_delay`, then all of it,
    so a parked gap still waits about `max_gap_deliveries` × `gap_delay` in all."""

    def delivered(times: int) -> Msg:
        # JetStream's reply subject carries the delivery count: $JS.ACK.<stream>.<consumer>.
        # <delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
        return Msg(None, "haizhi.upstream.x.Happened", f"$JS.ACK.HAIZHI.c.{times}.9.9.0.0")  # type: ignore[arg-type]

    waits = [consumer._gap_wait(delivered(n)) for n in range(1, 7)]
    assert waits == pytest.approx([0.0125, 0.025, 0.05, 0.1, 0.1, 0.1])
