"""Leadership among replicas: one relay, one scheduler per store, and a standby that takes over."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.clock import FixedClock
from shared.db import Database, open_database
from shared.lease import Lease
from shared.scheduler import LEASE_KEY, run_scheduler

NOON = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)


async def test_the_single_process_store_always_leads(tmp_path: Path) -> None:
    """SQLite is the embedded store of one process per service: nobody to share with."""
    database = open_database(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        first, second = Lease(database, 1, "task"), Lease(database, 1, "task")
        assert await first.hold()
        assert await second.hold()
    finally:
        await database.dispose()


@pytest.mark.postgresql_only
async def test_one_replica_leads_and_a_standby_takes_over_when_it_lets_go(
    database: Database,
) -> None:
    told: dict[str, list[bool]] = {"leader": [], "standby": []}
    leader = Lease(database, 1, "task", told["leader"].append)
    standby = Lease(database, 1, "task", told["standby"].append)
    other_task = Lease(database, 2, "another task")
    try:
        assert await leader.hold()
        assert await leader.hold(), "a leader keeps its lease from pass to pass"
        assert not await standby.hold()
        assert await other_task.hold(), "each task has a lease of its own"
        await leader.release()
        assert await standby.hold()
        assert not await leader.hold()
        assert told == {"leader": [True, False], "standby": [True]}  # the `leads` gauge
    finally:
        for lease in (leader, standby, other_task):
            await lease.release()


@pytest.mark.postgresql_only
async def test_a_leader_whose_session_died_no_longer_leads_and_its_standby_does(
    database: Database,
) -> None:
    """A replica killed, or cut off from the database: the server ends its session and the
    lock with it. The standby takes the lease; the old leader, back, finds it taken."""
    leader, standby = Lease(database, 1, "task"), Lease(database, 1, "task")
    try:
        assert await leader.hold()
        assert leader._session is not None
        pid = (await leader._session.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with database.engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert await standby.hold()
        assert not await leader.hold()
    finally:
        await leader.release()
        await standby.release()


@pytest.mark.postgresql_only
async def test_of_two_replicas_only_the_leader_ticks_and_the_other_takes_over(
    database: Database,
) -> None:
    clock = FixedClock(NOON)
    ticks: asyncio.Queue[tuple[str, datetime]] = asyncio.Queue()

    def ticker(name: str) -> Callable[[datetime], Awaitable[None]]:
        async def tick(now: datetime) -> None:
            await ticks.put((name, now))

        return tick

    first, second = Lease(database, LEASE_KEY, "scheduler"), Lease(database, LEASE_KEY, "scheduler")
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    assert await first.hold()  # the first replica starts first
    running = [
        asyncio.create_task(run_scheduler(clock, ticker("first"), stop_first, 60, first)),
        asyncio.create_task(run_scheduler(clock, ticker("second"), stop_second, 60, second)),
    ]
    try:
        assert await asyncio.wait_for(ticks.get(), 10) == ("first", NOON)
        for day in range(1, 4):
            moved = clock.advance(timedelta(days=1))
            assert await asyncio.wait_for(ticks.get(), 10) == ("first", moved), day
        stop_first.set()
        clock.advance(timedelta(days=1))  # wakes both: the first stops and lets go
        await asyncio.wait_for(running[0], 10)
        moved = clock.advance(timedelta(days=1))
        seen = [await asyncio.wait_for(ticks.get(), 10)]
        while seen[-1][1] != moved:  # the second may already have led at the wake before
            seen.append(await asyncio.wait_for(ticks.get(), 10))
        assert {name for name, _ in seen} == {"second"}
    finally:
        stop_first.set()
        stop_second.set()
        clock.advance(timedelta(seconds=1))
        await asyncio.gather(*running)


@pytest.mark.postgresql_only
async def test_a_take_cancelled_just_after_the_lock_leaves_no_lock_behind(
    database: Database, database_url: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica stopped while taking the lead: the connection that took the lock must not go
    back to the pool still holding it, or no other replica could ever lead."""
    execute = AsyncConnection.execute

    async def cancelled_after_the_lock(self: AsyncConnection, *args: Any, **kwargs: Any) -> Any:
        result = await execute(self, *args, **kwargs)
        if "pg_try_advisory_lock" in str(args[0]):
            raise asyncio.CancelledError
        return result

    monkeypatch.setattr(AsyncConnection, "execute", cancelled_after_the_lock)
    with pytest.raises(asyncio.CancelledError):
        await Lease(database, 1, "task").hold()
    monkeypatch.undo()
    url, schema = database_url
    other_replica = open_database(url, schema=schema)
    standby = Lease(other_replica, 1, "task")
    try:
        assert await standby.hold()
    finally:
        await standby.release()
        await other_replica.dispose()
