"""The use-case loop and idempotent commands, on every backend."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from structlog.testing import capture_logs

from shared.clock import FixedClock
from shared.db import Database
from shared.decider import ConcurrencyConflict, Decider, NotFound
from shared.idempotency import IdempotencyKeyReused, once
from shared.projection import REBUILD_PAGE, TableProjection, rebuild_and_compare
from shared.store import EventStore
from shared.usecase import CommandContext, Executor, retry_on_conflict

from .toy import (
    Count,
    Counted,
    Open,
    Tally,
    TallyRefused,
    TotalsProjection,
    metadata,
    registry,
    tally,
    totals,
)

CTX = CommandContext(actor="tester", correlation_id="corr-1")


@pytest.fixture
async def executor(database: Database) -> AsyncIterator[Executor]:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    yield Executor(database, EventStore(database, "toy"), registry, clock, [TotalsProjection()])
    TotalsProjection.fail_on = set()


async def total(executor: Executor, tally_id: str = "t1") -> tuple[int, int] | None:
    async with executor.db.read_engine.connect() as conn:
        row = (await conn.execute(select(totals).where(totals.c.tally_id == tally_id))).first()
    return None if row is None else (row.total, row.events)


async def test_a_command_appends_its_events_and_updates_the_read_model_together(
    executor: Executor,
) -> None:
    opened = await executor.execute(tally, "tally-t1", Open("t1", "海智"), ctx=CTX, case_id="c1")
    counted = await executor.execute(tally, "tally-t1", Count("t1", 5), ctx=CTX)
    assert (opened.version, counted.version) == (1, 2)
    assert counted.state.total == 5
    assert counted.case_id == "c1"  # the case id comes from the stream once it exists
    assert [e.actor for e in counted.events] == ["tester"]
    assert await total(executor) == (5, 2)


async def test_an_idempotent_repeat_appends_nothing(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
    again = await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX)
    assert again.events == ()
    assert len(await executor.store.read_all()) == 1


async def test_a_refused_command_appends_nothing(executor: Executor) -> None:
    with pytest.raises(NotFound):
        await executor.execute(tally, "tally-none", Count("none", 0), ctx=CTX)
    with pytest.raises(Exception, match="cannot Count"):
        await executor.execute(tally, "tally-none", Count("none", 1), ctx=CTX, case_id="c")
    assert await executor.store.read_all() == []


async def test_a_failing_read_model_rolls_the_events_back(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
    TotalsProjection.fail_on = {13}
    with pytest.raises(RuntimeError, match="read model failure"):
        await executor.execute(tally, "tally-t1", Count("t1", 13), ctx=CTX)
    assert len(await executor.store.read_all()) == 1
    assert await total(executor) == (0, 1)


async def test_a_stale_if_match_version_is_a_conflict(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
    with pytest.raises(ConcurrencyConflict):
        await executor.execute(tally, "tally-t1", Count("t1", 1), ctx=CTX, expected_version=0)
    done = await executor.execute(tally, "tally-t1", Count("t1", 1), ctx=CTX, expected_version=1)
    assert done.version == 2


async def _ten_racing_counts(executor: Executor) -> None:
    """Open tally t1, then ten concurrent Count commands, each retried on conflict."""
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")

    async def count_one() -> object:
        return await retry_on_conflict(
            lambda: executor.execute(tally, "tally-t1", Count("t1", 1), ctx=CTX), attempts=50
        )

    await asyncio.gather(*(count_one() for _ in range(10)))


async def test_policies_retry_on_conflict_until_every_count_is_in(executor: Executor) -> None:
    await _ten_racing_counts(executor)
    assert await total(executor) == (10, 11)


async def test_a_retried_request_with_the_same_key_returns_the_first_result(
    executor: Executor,
) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")

    async def count(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
        result = await executor.execute(tally, "tally-t1", Count("t1", 2), ctx=CTX, conn=conn)
        return 200, {"version": result.version}

    first = await once(executor.db, executor.transaction, "u1", "key-1", "fp", count)
    again = await once(executor.db, executor.transaction, "u1", "key-1", "fp", count)
    assert (first.body, first.replayed) == ({"version": 2}, False)
    assert (again.body, again.replayed) == ({"version": 2}, True)
    assert await total(executor) == (2, 2)
    with pytest.raises(IdempotencyKeyReused):
        await once(executor.db, executor.transaction, "u1", "key-1", "other", count)


async def test_concurrent_twins_with_one_key_append_once(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")

    async def count(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
        result = await executor.execute(tally, "tally-t1", Count("t1", 3), ctx=CTX, conn=conn)
        return 200, {"version": result.version}

    twins = await asyncio.gather(
        *(once(executor.db, executor.transaction, "u1", "k", "fp", count) for _ in range(5))
    )
    assert {t.body["version"] for t in twins} == {2}
    assert await total(executor) == (3, 2)


@pytest.mark.postgresql_only
async def test_a_twin_that_records_its_result_first_answers_for_both(
    executor: Executor,
) -> None:
    """The twin commits its result while ours is in flight (no stream in common, so nothing
    else conflicts): our record inserts nothing, our events roll back, the twin's answer is
    ours. PostgreSQL only: SQLite's writers take turns, so a twin cannot commit meanwhile."""
    for n in (1, 2):
        await executor.execute(tally, f"tally-t{n}", Open(f"t{n}", "a"), ctx=CTX, case_id="c1")

    async def twin(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
        await executor.execute(tally, "tally-t2", Count("t2", 5), ctx=CTX, conn=conn)
        return 200, {"tally": 2}

    async def ours(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
        await executor.execute(tally, "tally-t1", Count("t1", 7), ctx=CTX, conn=conn)
        first = await once(executor.db, executor.transaction, "u1", "k", "fp", twin)
        assert not first.replayed
        return 200, {"tally": 1}

    answer = await once(executor.db, executor.transaction, "u1", "k", "fp", ours)
    assert (answer.body, answer.replayed) == ({"tally": 2}, True)
    assert await total(executor, "t1") == (0, 1)  # our Count rolled back
    assert await total(executor, "t2") == (5, 2)


async def test_commands_racing_for_one_stream_are_decided_again_not_refused(
    executor: Executor,
) -> None:
    """Eight callers count on one tally at once, none pinning a version: on PostgreSQL all
    but one lose the append race at first; each is decided again and none hears 409."""
    await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")

    async def count(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
        result = await executor.execute(tally, "tally-t1", Count("t1", 1), ctx=CTX, conn=conn)
        return 200, {"version": result.version}

    racers = await asyncio.gather(
        *(once(executor.db, executor.transaction, "u1", f"k{n}", "fp", count) for n in range(4))
    )
    assert sorted(r.body["version"] for r in racers) == [2, 3, 4, 5]
    assert await total(executor) == (4, 5)


async def test_a_rebuilt_read_model_equals_the_live_one(executor: Executor) -> None:
    for n in range(1, 4):
        tally_id = f"t{n}"
        await executor.execute(
            tally, f"tally-{tally_id}", Open(tally_id, "x"), ctx=CTX, case_id="c"
        )
        for by in range(n):
            await executor.execute(tally, f"tally-{tally_id}", Count(tally_id, by + 1), ctx=CTX)
    assert await rebuild_and_compare(executor.db, registry, [TotalsProjection()], batch=2) == []


async def test_a_read_model_that_drifted_from_the_log_is_reported(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "x"), ctx=CTX, case_id="c")
    async with executor.db.engine.begin() as conn:
        await conn.execute(totals.update().values(total=99))
    differences = await rebuild_and_compare(executor.db, registry, [TotalsProjection()])
    assert [(d.table, d.missing, d.extra) for d in differences] == [("toy_totals", 1, 1)]


class LoopingTotals(TotalsProjection):
    """The toy projection without its set-wise page writes: the default `apply_many`."""

    apply_many = TableProjection.apply_many


async def test_a_rebuild_by_pages_equals_one_by_one_and_the_live_model(executor: Executor) -> None:
    for n in range(1, 6):
        tally_id = f"t{n}"
        await executor.execute(
            tally, f"tally-{tally_id}", Open(tally_id, "x"), ctx=CTX, case_id="c"
        )
        for by in range(n):
            await executor.execute(tally, f"tally-{tally_id}", Count(tally_id, by + 1), ctx=CTX)
    for batch in (1, 3, 7, REBUILD_PAGE):
        for projection in (TotalsProjection(), LoopingTotals()):
            assert await rebuild_and_compare(executor.db, registry, [projection], batch) == []


class FailingTotals(TotalsProjection):
    async def apply_many(self, conn: AsyncConnection, items: Any) -> None:
        raise RuntimeError("read model failure")


async def test_a_rebuild_leaves_the_garbage_collector_as_it_found_it(executor: Executor) -> None:
    await executor.execute(tally, "tally-t1", Open("t1", "x"), ctx=CTX, case_id="c")
    await executor.execute(tally, "tally-t1", Count("t1", 2), ctx=CTX)
    assert gc.isenabled()
    assert await rebuild_and_compare(executor.db, registry, [TotalsProjection()], 1) == []
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="read model failure"):
        await rebuild_and_compare(executor.db, registry, [FailingTotals()])
    assert gc.isenabled()
    gc.disable()
    try:
        assert await rebuild_and_compare(executor.db, registry, [TotalsProjection()], 1) == []
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_command_appends_after_the_head_its_load_read(
    executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_second_select(*_args: object) -> tuple[int, str]:
        raise AssertionError("the append selected the head the load had read")

    monkeypatch.setattr(executor.store, "stream_head", no_second_select)
    await executor.execute(tally, "tally-t1", Open("t1", "x"), ctx=CTX, case_id="c")
    result = await executor.execute(tally, "tally-t1", Count("t1", 2), ctx=CTX)
    assert result.version == 2
    assert await executor.store.verify() == []


async def test_every_command_is_logged_with_its_case(executor: Executor) -> None:
    with capture_logs() as logs:
        await executor.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
        with pytest.raises(TallyRefused):
            await executor.execute(tally, "tally-t9", Count("t9", 1), ctx=CTX, case_id="c9")
    accepted = [e for e in logs if e["event"] == "command accepted"]
    refused = [e for e in logs if e["event"] == "command refused"]
    assert [(e["command"], e["case_id"], e["events"]) for e in accepted] == [
        ("Open", "c1", ["Opened"])
    ]
    assert [(e["command"], e["case_id"]) for e in refused] == [("Count", "c9")]


# Without read models (nor snapshots) a command's one write is its event's INSERT: on
# PostgreSQL it runs without a transaction around the load and the insert.


@pytest.fixture
async def bare(database: Database) -> Executor:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    return Executor(database, EventStore(database, "toy"), registry, clock)


async def test_without_read_models_racing_commands_each_count_once(bare: Executor) -> None:
    await _ten_racing_counts(bare)
    loaded = await bare.load(tally, "tally-t1")
    assert (loaded.version, loaded.state.total) == (11, 10)
    assert await bare.store.verify() == []
    with pytest.raises(ConcurrencyConflict):  # a stale expected version appends nothing
        await bare.execute(tally, "tally-t1", Count("t1", 1), ctx=CTX, expected_version=3)
    assert (await bare.load(tally, "tally-t1")).version == 11


async def test_without_read_models_several_events_append_together(bare: Executor) -> None:
    def decide_twice(command: Count, state: Tally) -> list[Counted]:
        return [Counted(command.tally_id, 1), Counted(command.tally_id, command.by)]

    twice = Decider(decide=decide_twice, evolve=tally.evolve, initial_state=Tally)
    await bare.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
    result = await bare.execute(twice, "tally-t1", Count("t1", 5), ctx=CTX)
    assert (result.version, result.state.total) == (3, 6)
    stored = await bare.store.read_all()
    assert [(e.id, e.position) for e in result.events] == [(e.id, e.position) for e in stored[1:]]
    assert await bare.store.verify() == []


async def test_without_read_models_a_failing_evolve_appends_nothing(bare: Executor) -> None:
    def refuses(state: Tally, event: object) -> Tally:
        if isinstance(event, Counted):
            raise RuntimeError("evolve failed")
        return tally.evolve(state, event)  # type: ignore[arg-type]

    broken = Decider(decide=tally.decide, evolve=refuses, initial_state=Tally)
    await bare.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
    with pytest.raises(RuntimeError):
        await bare.execute(broken, "tally-t1", Count("t1", 1), ctx=CTX)
    assert (await bare.load(tally, "tally-t1")).version == 1


async def test_lines_logged_during_a_command_carry_its_stream_and_actor(
    database: Database,
) -> None:
    seen: list[dict[str, object]] = []

    class Peeking:
        async def apply(self, conn: AsyncConnection, envelope: object, event: object) -> None:
            seen.append(structlog.contextvars.get_contextvars())

    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    peeking = Executor(database, EventStore(database, "toy"), registry, clock, [Peeking()])
    structlog.contextvars.bind_contextvars(actor="outer")
    try:
        await peeking.execute(tally, "tally-t1", Open("t1", "a"), ctx=CTX, case_id="c1")
        with pytest.raises(TallyRefused):
            await peeking.execute(tally, "tally-t2", Count("t2", 1), ctx=CTX, case_id="c2")
        assert seen == [{"stream_id": "tally-t1", "actor": "tester"}]
        assert structlog.contextvars.get_contextvars() == {"actor": "outer"}  # restored
    finally:
        structlog.contextvars.unbind_contextvars("actor")
