"""Reconcile a store with `HAIZHI`, against real NATS and real databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext
from sqlalchemy import delete

from shared.db import Database
from shared.envelope import Envelope, event_type, new_id
from shared.outbox import MSG_ID, OutboxRelay
from shared.reconcile import reconcile, stored_messages
from shared.schema import outbox
from shared.store import EventStore, Metadata, PendingEvent
from shared.streams import STREAM

SERVICE = "probe"


async def append(db: Database, stream_id: str, count: int = 1) -> list[Envelope]:
    store = EventStore(db, SERVICE)
    meta = Metadata(case_id=f"case-{stream_id}", actor="tester", correlation_id=new_id())
    pending = [PendingEvent(event_type(SERVICE, "Probed", 1), {"n": n}) for n in range(count)]
    async with db.engine.begin() as conn:
        version, _ = await store.stream_head(conn, stream_id)
        return await store.append(conn, stream_id, version, pending, meta, datetime.now(UTC))


async def lose_from_outbox(db: Database, envelope: Envelope) -> None:
    """As if JetStream acknowledged the event and then lost it."""
    async with db.engine.begin() as conn:
        await conn.execute(delete(outbox).where(outbox.c.event_id == envelope.id))


@pytest.fixture
async def relay(database: Database, js: JetStreamContext) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(database, js)
    yield relay
    await relay.close()


async def test_a_store_and_stream_that_agree_reconcile_clean(
    database: Database, js: JetStreamContext, relay: OutboxRelay
) -> None:
    await append(database, "a", 3)
    await append(database, "b", 2)
    await relay.drain_once()

    report = await reconcile(database, js, SERVICE, repair=False)

    assert report.clean
    assert (report.in_store, report.in_stream, report.pending) == (5, 5, 0)


async def test_reconcile_finds_an_event_the_stream_lacks_and_repair_republishes_it(
    database: Database, js: JetStreamContext, relay: OutboxRelay
) -> None:
    await append(database, "a", 2)
    await relay.drain_once()
    [lost] = await append(database, "a")
    await lose_from_outbox(database, lost)
    await append(database, "b")  # committed, still in the outbox: in flight, not missing

    found = await reconcile(database, js, SERVICE, repair=False)

    assert found.missing == (lost.id,)
    assert (found.extra, found.altered, found.duplicated, found.republished) == ((), (), (), ())
    assert (found.in_store, found.in_stream, found.pending) == (4, 2, 1)
    assert not found.clean

    repaired = await reconcile(database, js, SERVICE, repair=True)
    assert repaired.republished == (lost.id,)

    await relay.drain_once()
    again = await reconcile(database, js, SERVICE, repair=False)
    assert again.clean
    assert (again.in_store, again.in_stream, again.pending) == (4, 4, 0)
    republished = [m async for m in stored_messages(js, "haizhi.probe.case-a.>")]
    assert [m.msg_id for m in republished][-1] == lost.id
    assert republished[-1].data == lost.to_json()


async def test_reconcile_reports_what_the_stream_holds_and_the_store_does_not(
    database: Database, js: JetStreamContext, relay: OutboxRelay
) -> None:
    [kept, forged] = await append(database, "a", 2)
    await relay.drain_once()
    stranger = new_id()
    await js.publish("haizhi.probe.case-a.Probed", b"{}", stream=STREAM, headers={MSG_ID: stranger})
    # A copy of a stored event with other data, published without a Nats-Msg-Id (so not
    # dropped as a duplicate): it is known by the envelope's own id.
    altered = json.loads(forged.to_json())
    altered["data"] = {"n": 99}
    await js.publish("haizhi.probe.case-a.Probed", json.dumps(altered).encode(), stream=STREAM)
    await js.publish("haizhi.other.case-a.Probed", b"{}", stream=STREAM)  # not this service's

    report = await reconcile(database, js, SERVICE, repair=True)

    assert report.extra == (stranger,)
    assert report.altered == (forged.id,)
    assert report.duplicated == (forged.id,)
    assert report.missing == report.republished == ()
    assert (report.in_store, report.in_stream) == (2, 4)
    assert kept.id not in report.altered
