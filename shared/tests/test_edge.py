"""The kernel's consumer driven by FastStream's subscriber, as a service runs it, on real NATS.

`test_consumer.py` steps the consumer by hand; here the broker fetches and the rules must hold
the same: order per stream with gaps waiting, one effect per event, poison to the dead letters
while the rest flows, and a restart that neither loses nor reapplies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import Consumer, Subscription
from shared.db import Database
from shared.edge import Consumers, declare_subscriber, jetstream, new_broker
from shared.envelope import Envelope
from shared.streams import DLQ_STREAM, ensure_streams
from shared.testkit.bus import foreign_event, publish
from shared.testkit.keys import trust
from shared.testkit.service import eventually

effects_metadata = MetaData()
effects = Table(
    "edge_effects",
    effects_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("stream", String(50)),
    Column("version", Integer),
)
DURABLE = "edge-from-upstream"


def event(stream: str, version: int, *, poison: bool = False) -> Envelope:
    data = {"poison": True} if poison else {"stream": stream}
    return foreign_event("upstream", "Happened", data, stream_id=stream, version=version)


async def record(conn: AsyncConnection, envelope: Envelope) -> None:
    if envelope.data.get("poison"):
        raise RuntimeError("this message always fails")
    await conn.execute(
        insert(effects).values(stream=envelope.subject, version=envelope.streamversion)
    )


@pytest.fixture
async def js(nats_client: NatsClient, database: Database) -> JetStreamContext:
    async with database.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    js = nats_client.jetstream()
    await ensure_streams(js)
    return js


class Service:
    """A broker with one subscriber feeding one kernel consumer, started and stopped by hand."""

    def __init__(self, nats_url: str, database: Database) -> None:
        self.consumers = Consumers(ack_wait=2.0)
        self.broker = new_broker(nats_url, "edge-test")
        self.database = database
        declare_subscriber(self.broker, self.consumers, DURABLE, "upstream", ["Happened"])

    async def start(self) -> Consumer:
        await self.broker.connect()
        subscription = Subscription(DURABLE, "upstream", {"Happened": record})
        consumer = Consumer(
            self.database, jetstream(self.broker), subscription, max_failures=3, gap_delay=0.1,
            retry_delay=0.05, ack_wait=2.0, trust=trust(),
        )  # fmt: skip
        self.consumers[DURABLE] = consumer
        await self.broker.start()
        return consumer

    async def stop(self) -> None:
        await self.broker.stop()


@pytest.fixture
async def service(nats_url: str, database: Database) -> AsyncIterator[Service]:
    running = Service(nats_url, database)
    yield running
    await running.stop()


async def applied(database: Database) -> list[tuple[str, int]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            select(effects.c.stream, effects.c.version).order_by(effects.c.seq)
        )
        return [(r.stream, r.version) for r in rows]


async def idle(consumer: Consumer) -> bool:
    return await consumer.pending() == 0


async def test_the_subscriber_applies_in_order_once_and_dead_letters_poison(
    service: Service, js: JetStreamContext, database: Database
) -> None:
    bad = event("bad", 1, poison=True)
    for envelope in (event("s-1", 3), bad, event("s-1", 1), event("bad", 2), event("s-1", 2)):
        await publish(js, envelope)
    await publish(js, event("s-1", 1), msg_id="again")  # a late duplicate, stored anew
    consumer = await service.start()
    await eventually(lambda: idle(consumer), within=20)
    assert sorted(await applied(database)) == [("bad", 2), ("s-1", 1), ("s-1", 2), ("s-1", 3)]
    per_stream = [v for s, v in await applied(database) if s == "s-1"]
    assert per_stream == [1, 2, 3]
    assert [e.id for e in await consumer.dead_letters()] == [bad.id]
    dead = await js.get_last_msg(DLQ_STREAM, "haizhidlq.>")
    assert Envelope.from_json(dead.data or b"").id == bad.id


async def test_a_restarted_service_goes_on_where_it_stopped(
    nats_url: str, js: JetStreamContext, database: Database
) -> None:
    first = Service(nats_url, database)
    consumer = await first.start()
    for version in (1, 2):
        await publish(js, event("s-1", version))
    await eventually(lambda: idle(consumer), within=20)
    await first.stop()
    await publish(js, event("s-1", 3))
    again = Service(nats_url, database)
    try:
        consumer = await again.start()
        await eventually(lambda: idle(consumer), within=20)
    finally:
        await again.stop()
    assert await applied(database) == [("s-1", 1), ("s-1", 2), ("s-1", 3)]
