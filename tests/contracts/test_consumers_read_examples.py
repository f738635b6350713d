"""Every consumer reads every example its producers publish, with its real handler.

The last test routes each example through the service's FastStream subscriber on FastStream's
in-memory test broker (wiring and decoding; delivery itself is tested on a real nats-server).

For each event a service lists in its `consumes`, the producer's example is encoded with the
producer's registry into envelope data, exactly as published, and handed to the consumer's
own handler (its use cases, on a migrated database). The handler must issue at least one
command, every command field named like a data field must carry the example's value, and
every field the handler read must be one that docs/contracts.md promises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from faststream.nats import TestNatsBroker
from sqlalchemy import select

from shared.consumer import Consumer as KernelConsumer
from shared.db import open_database
from shared.edge import Consumers, new_broker
from shared.schema import inbox
from shared.streams import STREAM
from shared.testkit.keys import trust

from .contracts_doc import read_contracts
from .world import (
    SPECS,
    Consumer,
    ReadTracking,
    consumed,
    consumer,
    disagreements,
    published,
    shared_fields,
)

CONTRACTS = read_contracts()
#: (consumer, event) -> {command field: the data field it comes from under another name}
RENAMED = {
    ("funding", "BaseRevoked"): {"exited_on": "revoked_on"},
    ("funding", "BaseExpired"): {"exited_on": "expired_on"},
}


def _designation_of_the_assessment_base() -> dict[str, object]:
    """Review's designation, of the base that assessment's examples follow."""
    designated = published("review", "BaseDesignated").data
    base = published("assessment", "BaseRevoked").data
    return {**designated, "base_id": base["base_id"], "case_id": base["case_id"]}


async def _arrange(reader: Consumer, producer: str, event: str) -> None:
    """The history a consumer needs before the event under test can reach a command.

    Funding finds a base's plans in its read model before it acts (a fact about a base
    without a plan is parked for later), so the base must have been designated first.
    """
    if reader.spec.name == "notification":
        await _arrange_the_notifier(reader, producer, event)
        return
    if reader.spec.name != "funding" or event == "BaseDesignated":
        return
    if producer == "review":
        await reader.handle(published("review", "BaseDesignated"))
    else:
        designation = _designation_of_the_assessment_base()
        await reader.handle(published("review", "BaseDesignated", designation))


async def _arrange_the_notifier(reader: Consumer, producer: str, event: str) -> None:
    """The notifier tells a unit's people once its registration has come (application's
    consumer) and a review or designation has named the case (review's): both first."""
    if producer == "application":
        return
    example = published(producer, event).data
    opened = published("review", "ReviewOpened").data
    unit_id = example.get("unit_id", opened["unit_id"])
    registered = published("application", "UnitRegistered").data
    await reader.handle(
        published("application", "UnitRegistered", {**registered, "unit_id": unit_id})
    )
    if "unit_id" not in example:
        case = {**opened, "case_id": example["case_id"]}
        await reader.handle(published("review", "ReviewOpened", case))


@pytest.mark.parametrize(
    ("consumer_name", "producer", "event"),
    consumed(),
    ids=[f"{c}<-{p}.{e}" for c, p, e in consumed()],
)
async def test_the_consumer_reads_the_producers_example(
    consumer_name: str,
    producer: str,
    event: str,
    database_url: tuple[str, str | None],
    tmp_path: Path,
) -> None:
    url, schema = database_url
    db = open_database(url, schema=schema)
    try:
        reader = await consumer(consumer_name, db, tmp_path)
        await _arrange(reader, producer, event)
        envelope = published(producer, event)
        commands = await reader.commands_for(envelope)
    finally:
        await db.dispose()

    data = envelope.data
    assert isinstance(data, ReadTracking)
    assert commands, f"{consumer_name} issued no command for {producer}'s {event} example"
    renamed = RENAMED.get((consumer_name, event))
    wrong = [d for command in commands for d in disagreements(command, data, renamed)]
    assert not wrong, f"{consumer_name} misread {producer}'s {event}: {wrong}"
    carried = shared_fields(commands, data, renamed)
    assert carried, f"no command of {consumer_name} carries what it read of {event}"
    promised = CONTRACTS.fields[producer].get(event, set())
    undocumented = data.read - promised
    assert not undocumented, (
        f"{consumer_name} reads {sorted(undocumented)} of {producer}'s {event}, "
        "which docs/contracts.md does not promise"
    )


@pytest.mark.parametrize("consumer_name", sorted(SPECS))
async def test_the_handlers_are_exactly_what_the_service_says_it_consumes(
    consumer_name: str, database_url: tuple[str, str | None], tmp_path: Path
) -> None:
    url, schema = database_url
    db = open_database(url, schema=schema)
    try:
        reader = await consumer(consumer_name, db, tmp_path)
    finally:
        await db.dispose()
    declared = {(upstream, name) for upstream, names in reader.spec.consumes for name in names}
    assert set(reader.handlers) == declared


@pytest.mark.parametrize(
    ("consumer_name", "producer", "event"),
    consumed(),
    ids=[f"{c}<-{p}.{e}" for c, p, e in consumed()],
)
async def test_the_subscriber_routes_the_producers_example_to_the_consumers_handler(
    consumer_name: str,
    producer: str,
    event: str,
    database_url: tuple[str, str | None],
    tmp_path: Path,
) -> None:
    """The service's FastStream declarations, on FastStream's in-memory broker: the example,
    published on its subject, reaches the service's subscriber of that upstream, is decoded,
    handed to the kernel consumer and its handler, and recorded in that consumer's inbox."""
    url, schema = database_url
    db = open_database(url, schema=schema)
    try:
        reader = await consumer(consumer_name, db, tmp_path)
        await _arrange(reader, producer, event)
        consumers = Consumers()
        broker = new_broker("nats://in-memory", consumer_name)
        broker.include_router(reader.spec.messaging(consumers))
        for subscription in reader.subscriptions:
            # No JetStream here: the consumer acks on a test message and never dead-letters.
            consumers[subscription.name] = KernelConsumer(
                db, cast(Any, None), subscription, trust=trust()
            )
        envelope = published(producer, event)
        reader.executor.dry_run = True
        async with TestNatsBroker(broker) as bus:
            await bus.publish(envelope.to_json(), envelope.nats_subject, stream=STREAM)
        async with db.read_engine.connect() as conn:
            rows = (await conn.execute(select(inbox.c.consumer, inbox.c.outcome))).all()
    finally:
        await db.dispose()
    assert reader.executor.issued, f"{consumer_name}'s handler for {event} issued no command"
    assert [tuple(row) for row in rows] == [(f"{consumer_name}-from-{producer}", "applied")]
