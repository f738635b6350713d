"""Snapshots: a stream loaded from its latest snapshot is the stream folded from scratch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter
from sqlalchemy import insert, select

from shared.clock import FixedClock
from shared.db import Database
from shared.decider import Decider
from shared.snapshot import Snapshotting, schema_of, snapshots
from shared.store import EventStore
from shared.usecase import CommandContext, Executor

from .toy import Count, Counted, Open, Tally, TotalsProjection, metadata, registry, tally

CTX = CommandContext(actor="tester", correlation_id="corr-1")
EVERY = 4


def executor_for(database: Database, snapshotting: Snapshotting[Tally] | None) -> Executor:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    return Executor(
        database,
        EventStore(database, "toy"),
        registry,
        clock,
        [TotalsProjection()],
        snapshots={} if snapshotting is None else {tally: snapshotting},
    )


@pytest.fixture
async def database_with_totals(database: Database) -> AsyncIterator[Database]:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    TotalsProjection.fail_on = set()


@pytest.fixture
def snapshotting() -> Snapshotting[Tally]:
    return Snapshotting(TypeAdapter(Tally), every=EVERY)


async def stored(database: Database) -> list[tuple[str, int, str]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            select(snapshots.c.stream_id, snapshots.c.version, snapshots.c.schema).order_by(
                snapshots.c.stream_id, snapshots.c.version
            )
        )
        return [(str(r.stream_id), int(r.version), str(r.schema)) for r in rows]


async def put_snapshot(database: Database, version: int, schema: str, state: str) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(snapshots).values(
                stream_id="tally-t1", version=version, case_id="c1", schema=schema, state=state
            )
        )


async def count_to(executor: Executor, n: int) -> None:
    """Open tally t1 and count 1..n-1, so the stream ends at version n."""
    await executor.execute(tally, "tally-t1", Open("t1", "海智"), ctx=CTX, case_id="c1")
    for by in range(1, n):
        await executor.execute(tally, "tally-t1", Count("t1", by), ctx=CTX)


@pytest.mark.parametrize("length", [3, EVERY, 2 * EVERY + 1, 3 * EVERY])
async def test_a_stream_loaded_from_its_snapshot_equals_the_stream_folded_from_scratch(
    database_with_totals: Database, snapshotting: Snapshotting[Tally], length: int
) -> None:
    with_snapshots = executor_for(database_with_totals, snapshotting)
    await count_to(with_snapshots, length)
    expected_snapshot = length // EVERY * EVERY
    if expected_snapshot:  # only the latest is kept, written by the append that reached it
        assert await stored(database_with_totals) == [
            ("tally-t1", expected_snapshot, snapshotting.schema)
        ]
    else:
        assert await stored(database_with_totals) == []
    from_scratch = await executor_for(database_with_totals, None).load(tally, "tally-t1")
    from_snapshot = await with_snapshots.load(tally, "tally-t1")
    assert from_snapshot == from_scratch
    assert from_scratch.state == Tally("海智", sum(range(length)))
    assert (from_scratch.version, from_scratch.case_id) == (length, "c1")


async def test_the_load_starts_from_the_snapshot_and_folds_only_the_events_after_it(
    database_with_totals: Database, snapshotting: Snapshotting[Tally]
) -> None:
    executor = executor_for(database_with_totals, snapshotting)
    await count_to(executor, EVERY + 2)  # snapshot at EVERY, two events after it
    async with database_with_totals.engine.begin() as conn:  # a planted, recognisable state
        await conn.execute(
            snapshots.update().values(state=snapshotting.encode(Tally("planted", 1000)))
        )
    loaded = await executor.load(tally, "tally-t1")
    assert loaded.state == Tally("planted", 1000 + EVERY + (EVERY + 1))
    assert loaded.version == EVERY + 2


async def test_a_command_on_a_snapshotted_stream_decides_on_the_full_state(
    database_with_totals: Database, snapshotting: Snapshotting[Tally]
) -> None:
    executor = executor_for(database_with_totals, snapshotting)
    await count_to(executor, 2 * EVERY)  # the latest snapshot is the stream's head
    result = await executor.execute(tally, "tally-t1", Count("t1", 100), ctx=CTX)
    assert result.version == 2 * EVERY + 1
    assert result.case_id == "c1"  # from the snapshot: no event after it was read
    assert result.state.total == sum(range(2 * EVERY)) + 100


@pytest.mark.parametrize(
    ("schema", "state"),
    [
        ("v1.0000000000000000", '{"name": "stale", "total": 1}'),  # another shape
        ("other", "not even JSON"),  # foreign
        (None, '{"name": "wrong", "total": "many"}'),  # our schema, but it does not validate
    ],
)
async def test_a_stale_foreign_or_broken_snapshot_is_ignored_and_the_stream_folded_in_full(
    database_with_totals: Database,
    snapshotting: Snapshotting[Tally],
    schema: str | None,
    state: str,
) -> None:
    executor = executor_for(database_with_totals, snapshotting)
    await count_to(executor, 3)
    await put_snapshot(database_with_totals, 3, schema or snapshotting.schema, state)
    from_scratch = await executor_for(database_with_totals, None).load(tally, "tally-t1")
    assert await executor.load(tally, "tally-t1") == from_scratch
    assert from_scratch.state == Tally("海智", 3)


async def test_a_new_version_ignores_the_old_snapshots_and_writes_its_own(
    database_with_totals: Database, snapshotting: Snapshotting[Tally]
) -> None:
    await count_to(executor_for(database_with_totals, snapshotting), EVERY + 1)
    async with database_with_totals.engine.begin() as conn:  # make the v1 snapshot wrong
        await conn.execute(snapshots.update().values(state=snapshotting.encode(Tally("v1", 0))))
    bumped = Snapshotting(TypeAdapter(Tally), every=EVERY, version=2)
    assert bumped.schema != snapshotting.schema
    executor = executor_for(database_with_totals, bumped)
    assert (await executor.load(tally, "tally-t1")).state == Tally("海智", sum(range(EVERY + 1)))
    for by in range(EVERY):
        await executor.execute(tally, "tally-t1", Count("t1", by), ctx=CTX)
    assert await stored(database_with_totals) == [("tally-t1", 2 * EVERY, bumped.schema)]


async def test_a_rolled_back_command_leaves_no_snapshot(
    database_with_totals: Database, snapshotting: Snapshotting[Tally]
) -> None:
    executor = executor_for(database_with_totals, snapshotting)
    await count_to(executor, EVERY - 1)
    TotalsProjection.fail_on = {13}
    with pytest.raises(RuntimeError, match="read model failure"):
        await executor.execute(tally, "tally-t1", Count("t1", 13), ctx=CTX)
    assert await stored(database_with_totals) == []


@dataclass(frozen=True)
class Shapes:
    value: list[int] | tuple[int, ...] = ()


def test_the_schema_follows_the_state_shape_and_the_version() -> None:
    adapter = TypeAdapter(Tally)
    assert schema_of(adapter, 1) == schema_of(TypeAdapter(Tally), 1)
    assert schema_of(adapter, 1) != schema_of(adapter, 2)
    assert schema_of(adapter, 1) != schema_of(TypeAdapter(Shapes), 1)
    with pytest.raises(ValueError, match="every"):
        Snapshotting(adapter, every=0)


async def test_a_state_that_does_not_survive_json_is_not_snapshotted(
    database_with_totals: Database,
) -> None:
    """A tuple comes back from JSON as a list when the state allows both: not faithful."""

    def decide(command: Count, state: Shapes) -> list[Counted]:
        return [Counted(command.tally_id, command.by)]

    def evolve(state: Shapes, event: Counted) -> Shapes:
        return Shapes((1, 2))

    shapes = Decider(decide=decide, evolve=evolve, initial_state=Shapes)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    executor = Executor(
        database_with_totals,
        EventStore(database_with_totals, "toy"),
        registry,
        clock,
        snapshots={shapes: Snapshotting(TypeAdapter(Shapes), every=1)},
    )
    result = await executor.execute(shapes, "shapes-1", Count("s", 1), ctx=CTX, case_id="c")
    assert result.state == Shapes((1, 2))
    assert await stored(database_with_totals) == []
    assert (await executor.load(shapes, "shapes-1")).state == Shapes((1, 2))
