"""The outbox relay against real NATS and real databases: once, in stream order, never skipped."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy import func, select

from shared.db import Database
from shared.decider import ConcurrencyConflict
from shared.envelope import event_type, new_id
from shared.nats_server import EmbeddedNats, free_port
from shared.outbox import MSG_ID, OutboxRelay, Outgoing, PublishFailedError, publish_in_stream_order
from shared.reconcile import StoredMessage, stored_messages
from shared.schema import events, outbox
from shared.store import EventStore, Metadata, PendingEvent
from shared.streams import STREAM, ensure_streams

SERVICE = "probe"
REPO = Path(__file__).resolve().parents[2]


def pending(count: int) -> list[PendingEvent]:
    return [PendingEvent(event_type(SERVICE, "Probed", 1), {"n": n}) for n in range(count)]


async def append(
    db: Database,
    stream_id: str,
    count: int = 1,
    *,
    hold: float = 0.0,
    relay: OutboxRelay | None = None,
) -> None:
    """Append `count` events at the stream's head, in a transaction of its own (re-read on a
    conflict); `hold` keeps the transaction open that long before it commits."""
    store = EventStore(db, SERVICE)
    meta = Metadata(case_id=f"case-{stream_id}", actor="tester", correlation_id=new_id())
    while True:
        try:
            async with db.engine.begin() as conn:
                version, _ = await store.stream_head(conn, stream_id)
                await store.append(
                    conn, stream_id, version, pending(count), meta, datetime.now(UTC)
                )
                if hold:
                    await asyncio.sleep(hold)  # the scenario: a slow transaction, not a wait
            break
        except ConcurrencyConflict:
            continue
    if relay is not None:
        relay.wake()


async def haizhi(js: JetStreamContext) -> list[StoredMessage]:
    return [message async for message in stored_messages(js, "haizhi.>")]


async def stored_event_ids(db: Database) -> set[str]:
    async with db.read_engine.connect() as reader:
        return {str(i) for i in (await reader.execute(select(events.c.event_id))).scalars()}


async def assert_once_and_in_order(db: Database, js: JetStreamContext) -> list[StoredMessage]:
    """Every stored event is in HAIZHI exactly once, each stream's events in version order."""
    messages = await haizhi(js)
    ids = [m.msg_id for m in messages]
    assert len(ids) == len(set(ids)), "an event is in the stream twice"
    assert set(ids) == await stored_event_ids(db)
    assert (await js.stream_info(STREAM)).state.messages == len(messages)
    versions: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        envelope = json.loads(message.data)
        assert envelope["id"] == message.msg_id
        versions[envelope["subject"]].append(envelope["streamversion"])
    for stream_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{stream_id} out of order: {seen}"
    return messages


@pytest.fixture
async def relays() -> AsyncIterator[list[OutboxRelay]]:
    """Relays to close after the test: on PostgreSQL each may hold its lock's connection."""
    made: list[OutboxRelay] = []
    yield made
    for relay in made:
        await relay.close()


def relay_for(made: list[OutboxRelay], *args: Any, **kwargs: Any) -> OutboxRelay:
    relay = OutboxRelay(*args, **kwargs)
    made.append(relay)
    return relay


async def test_an_appended_event_is_published_under_its_case_subject_with_its_id(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    await append(database, "base-1", 2)
    relay = relay_for(relays, database, js)

    assert await relay.lag() == 2
    assert await relay.drain_once() == 2
    assert await relay.lag() == 0
    messages = await assert_once_and_in_order(database, js)
    assert [m.subject for m in messages] == ["haizhi.probe.case-base-1.Probed"] * 2
    assert await relay.drain_once() == 0


async def test_concurrent_writers_with_slow_commits_reach_the_stream_once_and_in_order(
    database: Database, js: JetStreamContext, backend: str, relays: list[OutboxRelay]
) -> None:
    relay = relay_for(relays, database, js, batch_size=16, poll_interval=0.05)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    slow = {0: 1.0, 1: 1.5}

    async def writer(i: int) -> None:
        await append(database, f"own-{i}", 2, hold=slow.get(i, 0.0), relay=relay)
        await append(database, f"shared-{i % 3}", relay=relay)
        await append(database, f"own-{i}", relay=relay)
        await append(database, f"shared-{(i + 1) % 3}", 2, relay=relay)

    await asyncio.gather(*(writer(i) for i in range(20)))
    stop.set()
    await relaying
    await relay.drain_once()

    assert await relay.lag() == 0
    messages = await assert_once_and_in_order(database, js)
    assert len(messages) == 20 * 6
    if backend == "postgresql":
        # The slow transactions took their positions first and committed last: the stream
        # holds events of higher positions before theirs, and still holds theirs.
        async with database.read_engine.connect() as reader:
            rows = (await reader.execute(select(events.c.event_id, events.c.position))).all()
        position = {str(r.event_id): int(r.position) for r in rows}
        in_stream = [position[str(m.msg_id)] for m in messages]
        assert in_stream != sorted(in_stream), "no transaction committed after a later one"


@pytest.mark.postgresql_only  # only there can a later position commit first
async def test_a_transaction_committing_after_a_later_one_is_relayed_not_skipped(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    relay = relay_for(relays, database, js)
    store = EventStore(database, SERVICE)
    meta = Metadata(case_id="case-x", actor="tester", correlation_id=new_id())
    async with database.engine.begin() as early:
        first = await store.append(early, "early", 0, pending(1), meta, datetime.now(UTC))
        await append(database, "late", 1)
        assert await relay.drain_once() == 1
    assert await relay.drain_once() == 1

    messages = await assert_once_and_in_order(database, js)
    assert messages[-1].msg_id == first[0].id


async def test_a_relay_killed_between_publishing_and_recording_duplicates_nothing(
    database: Database,
    database_url: tuple[str, str | None],
    js: JetStreamContext,
    nats_url: str,
    relays: list[OutboxRelay],
) -> None:
    for n in range(6):
        await append(database, f"stream-{n % 3}", 5)
    url, schema = database_url

    victim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.tests.relay_victim",
        url,
        schema or "-",
        nats_url,
        "10",
        cwd=REPO,
    )
    assert await asyncio.wait_for(victim.wait(), 30) == -9

    assert (await js.stream_info(STREAM)).state.messages == 10
    relay = relay_for(relays, database, js)
    assert await relay.lag() == 30, "the victim recorded progress it should not have"
    await drain_while_the_dead_session_lets_go(relay)
    assert await relay.lag() == 0
    assert len(await assert_once_and_in_order(database, js)) == 30


async def drain_while_the_dead_session_lets_go(relay: OutboxRelay, within: float = 10.0) -> None:
    """On PostgreSQL a killed relay's advisory lock lasts until the server notices the closed
    socket; poll (bounded) until this relay can lead."""
    deadline = time.monotonic() + within
    while await relay.drain_once() == 0 and await relay.lag():
        assert time.monotonic() < deadline, "the killed relay's lock was never released"
        await asyncio.sleep(0.05)


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """A NATS of this test's own, to stop and restart on the same port and data."""
    (tmp_path / "nats").mkdir()
    server = EmbeddedNats(tmp_path / "nats", port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
async def own_client(own_nats: EmbeddedNats) -> AsyncIterator[Client]:
    """A connection to `own_nats` that keeps reconnecting while it is down."""
    client = await nats.connect(
        own_nats.url_as(), max_reconnect_attempts=-1, reconnect_time_wait=0.05, connect_timeout=1
    )
    yield client
    await client.close()


async def test_the_backlog_written_while_nats_is_down_arrives_in_order_after_restart(
    database: Database, own_nats: EmbeddedNats, own_client: Client, relays: list[OutboxRelay]
) -> None:
    js = own_client.jetstream()
    await ensure_streams(js)
    drained = asyncio.Event()
    relay = relay_for(
        relays,
        database,
        js,
        batch_size=8,
        ack_timeout=0.3,
        max_backoff=0.3,
        on_lag=lambda lag: drained.set() if lag == 0 else drained.clear(),
    )
    await append(database, "before", 3)
    assert await relay.drain_once() == 3

    own_nats.stop()
    for n in range(12):
        await append(database, f"during-{n % 3}", 2)  # commands succeed: they only write the DB
    with pytest.raises(PublishFailedError):
        await relay.drain_once()
    assert await relay.lag() == 24
    drained.clear()

    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    own_nats.start()
    try:
        await asyncio.wait_for(drained.wait(), 20)
    finally:
        stop.set()
        await relaying
    # The 3 stored before the stop survived it (file storage); the 24 arrived, in order.
    assert len(await assert_once_and_in_order(database, js)) == 27


async def test_wake_relays_without_waiting_for_the_poll(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    relayed = asyncio.Event()
    relay = relay_for(
        relays,
        database,
        js,
        poll_interval=3600,
        on_lag=lambda lag: relayed.set() if lag == 0 else None,
    )
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    await asyncio.wait_for(relayed.wait(), 5)  # the first, empty pass
    relayed.clear()

    await append(database, "woken", 1, relay=relay)
    await asyncio.wait_for(relayed.wait(), 5)
    stop.set()
    await relaying
    assert len(await haizhi(js)) == 1


@pytest.mark.postgresql_only  # SQLite is one process's store: its relay takes no lock
async def test_only_one_relay_leads_on_one_postgresql_store(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    leader, standby = relay_for(relays, database, js), relay_for(relays, database, js)
    await append(database, "a", 1)
    assert await leader.drain_once() == 1

    await append(database, "a", 1)
    assert await standby.drain_once() == 0
    assert await standby.lag() == 1

    await leader.close()
    assert await standby.drain_once() == 1


class LossyJetStream:
    """Acknowledges every publish at once, except those of `lost` ids, which never answer."""

    def __init__(self, lost: set[str]) -> None:
        self.lost = lost
        self.sent: list[str] = []

    async def publish_async(
        self, subject: str, payload: bytes, *, stream: str, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        event_id = headers[MSG_ID]
        self.sent.append(event_id)
        answer: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        if event_id not in self.lost:
            answer.set_result(PubAck(stream=stream, seq=len(self.sent)))
        return answer


async def test_a_streams_next_event_is_not_sent_until_the_previous_is_stored() -> None:
    def out(position: int, stream_id: str) -> Outgoing:
        return Outgoing(position, f"e{position}", stream_id, f"haizhi.probe.{stream_id}.X", b"{}")

    batch = [out(1, "a"), out(2, "b"), out(3, "a"), out(4, "c"), out(5, "b"), out(6, "a")]
    lossy = LossyJetStream(lost={"e2"})

    acked, failure = await publish_in_stream_order(
        cast(JetStreamContext, lossy), batch, ack_timeout=0.05
    )

    # e1, e2 and e4 (the first of a, b and c) went out together; e2's loss stops e5 (b's next)
    # and everything after, while what was stored is reported as such.
    assert lossy.sent == ["e1", "e2", "e4"]
    assert [item.event_id for item in acked] == ["e1", "e4"]
    assert isinstance(failure, TimeoutError)


async def test_a_pass_that_empties_the_outbox_reports_no_lag_without_counting(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    seen: list[int] = []
    relay = relay_for(relays, database, js, batch_size=2, on_lag=seen.append, lag_interval=3600)
    await append(database, "s", 5)
    counted = 0
    count = relay.lag

    async def counting() -> int:
        nonlocal counted
        counted += 1
        return await count()

    relay.lag = counting  # type: ignore[method-assign]
    assert await relay.drain_once() == 5
    assert seen == [0]
    assert counted == 0, "a drained pass counted the outbox"
    relay.lag = count  # type: ignore[method-assign]
    assert await relay.lag() == 0


async def test_a_burst_of_wake_ups_is_served_by_few_passes(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    passes = 0
    drained = asyncio.Event()
    relay = relay_for(
        relays,
        database,
        js,
        poll_interval=3600,
        coalesce=0.05,
        on_lag=lambda lag: drained.set() if lag == 0 else None,
    )
    batch = relay._relay_batch

    async def counted_batch() -> tuple[int, int]:
        nonlocal passes
        passes += 1
        return await batch()

    relay._relay_batch = counted_batch  # type: ignore[method-assign]
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    await asyncio.wait_for(drained.wait(), 5)  # the first, empty pass
    before = passes
    for n in range(5):
        await append(database, f"burst-{n}", 1, relay=relay)
    for _ in range(10):
        drained.clear()
        if await relay.lag() == 0:
            break
        await asyncio.wait_for(drained.wait(), 5)
    stop.set()
    await relaying
    assert len(await haizhi(js)) == 5
    assert passes - before < 5, "every wake-up had a pass of its own"


async def outbox_rows(db: Database) -> int:
    async with db.read_engine.connect() as reader:
        return int((await reader.execute(select(func.count()).select_from(outbox))).scalar() or 0)


async def test_passes_confirm_and_the_deletes_come_batched_when_due_and_at_the_stop(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    drained = asyncio.Event()
    passes: list[int] = []  # each pass reports its lag

    def reported(lag: int) -> None:
        passes.append(lag)
        if lag == 0:
            drained.set()

    relay = relay_for(relays, database, js, poll_interval=0.02, delete_after=3600, on_lag=reported)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    for n in range(3):
        await append(database, f"pass-{n}", 2, relay=relay)
        for _ in range(10):
            drained.clear()
            if await relay.lag() == 0:
                break
            await asyncio.wait_for(drained.wait(), 5)
    # Three passes, no delete yet: the rows wait, excluded from the lag and from the reads.
    assert await outbox_rows(database) == 6
    assert await relay.lag() == 0
    for _ in range(3):  # three idle passes (each reports lag 0): they republish nothing
        drained.clear()
        await asyncio.wait_for(drained.wait(), 5)
    assert len(await haizhi(js)) == 6
    stop.set()
    await relaying
    assert await outbox_rows(database) == 0, "the stop deletes what was confirmed"
    assert len(await assert_once_and_in_order(database, js)) == 6

    soon = relay_for(relays, database, js, poll_interval=0.02, delete_after=0.05)
    stop = asyncio.Event()
    relaying = asyncio.create_task(soon.run(stop))
    await append(database, "later", 2, relay=soon)
    deadline = time.monotonic() + 5
    while await outbox_rows(database):
        assert time.monotonic() < deadline, "confirmed rows never deleted while running"
        await asyncio.sleep(0.02)
    stop.set()
    await relaying
    assert len(await assert_once_and_in_order(database, js)) == 8


async def test_rows_confirmed_before_a_crash_are_published_again_and_dropped(
    database: Database, js: JetStreamContext, relays: list[OutboxRelay]
) -> None:
    crashed = relay_for(relays, database, js, delete_after=3600)
    await append(database, "c", 3)
    read, relayed = await crashed._relay_batch()  # a pass, its deletes still due
    assert (read, relayed) == (3, 3)
    assert await outbox_rows(database) == 3  # the process dies here: the memory is lost

    successor = relay_for(relays, database, js)
    assert await successor.lag() == 3
    assert await successor.drain_once() == 3
    assert await outbox_rows(database) == 0
    assert len(await assert_once_and_in_order(database, js)) == 3
