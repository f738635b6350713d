"""The database engines' own rules (SQLite always; PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, DriverSQL, _HeldWriter, driver_rows, open_database
from shared.faults import is_transient


async def _driver(conn: AsyncConnection) -> Any:
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


@pytest.fixture
async def one_connection(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    """The test's database with a pool of one connection: what `begin()` holds is all there
    is, so a connection left behind in a transaction would show at the next one."""
    url, schema = database_url
    db = open_database(url, schema=schema, pool_size=1)
    try:
        yield db
    finally:
        await db.dispose()


async def test_a_connection_back_in_the_pool_is_never_left_in_a_transaction(
    database: Database,
) -> None:
    # Committed: nothing left to roll back (SQLite's pool skips the rollback then).
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO signing_cutover (legacy_below) VALUES (-1)"))
    # Begun on the driver behind SQLAlchemy's back, then given back: the pool rolls it back.
    async with database.engine.connect() as conn:
        driver = await _driver(conn)
        if database.is_sqlite:
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO signing_cutover (legacy_below) VALUES (-2)")
    async with database.engine.connect() as conn:
        driver = await _driver(conn)
        if database.is_sqlite:
            assert not driver.in_transaction
        else:
            assert not driver.is_in_transaction()
    async with database.read_engine.connect() as reader:
        rows = await reader.execute(text("SELECT legacy_below FROM signing_cutover"))
        assert sorted(int(value) for value in rows.scalars()) == [-1, 1]


@pytest.mark.postgresql_only
async def test_a_driver_statement_on_a_connection_the_server_ended_is_transient(
    database: Database,
) -> None:
    """The pool hands out a connection a failover (here: `pg_terminate_backend`) has ended;
    the command's first statement goes to the driver. Reported as a lost connection, so the
    consumer retries and an HTTP command answers 503, as on SQLAlchemy's own path."""
    async with database.engine.connect() as admin:
        async with database.engine.connect() as victim:
            pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar()
            await victim.commit()
        # Back in the pool, first in line; ended by the server meanwhile.
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await admin.commit()

    with pytest.raises(SQLAlchemyError) as lost:
        async with database.engine.begin() as conn:
            await driver_rows(conn, DriverSQL("SELECT 1", "SELECT 1"), ())
    assert is_transient(lost.value)


async def test_a_sqlite_writer_waiting_for_the_lock_leaves_the_loop_running(
    tmp_path: Any,
) -> None:
    """Statements run on the loop's thread; one that must wait for another connection's
    write lock waits on aiosqlite's thread instead, so the loop goes on (here: the holder's
    own task, which must run to release the lock) and the waiter proceeds once it is free."""
    db = open_database(f"sqlite:///{tmp_path}/lock.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holding, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                await release.wait()  # needs the loop: a blocked loop would deadlock here

        async def waiter() -> None:
            await holding.wait()
            async with db.engine.begin() as conn:  # BEGIN IMMEDIATE: busy, waits off the loop
                await conn.execute(text("INSERT INTO t VALUES (2)"))

        held, waiting = asyncio.create_task(holder()), asyncio.create_task(waiter())
        await holding.wait()
        for _ in range(20):  # the waiter is parked on its thread; the loop still turns
            await asyncio.sleep(0)
        assert not waiting.done()
        release.set()
        await asyncio.wait_for(asyncio.gather(held, waiting), timeout=30)
        assert await _numbers(db) == [1, 2]
    finally:
        await db.dispose()


async def test_a_sqlite_lock_held_by_another_process_is_waited_for(
    tmp_path: Any,
) -> None:
    """Another process's writer (here: a plain sqlite3 connection) holds the lock: our write
    transaction cannot begin in place, waits for it off the loop, and once it commits ours
    goes through."""
    path = tmp_path / "other.db"
    db = open_database(f"sqlite:///{path}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")

        async def ours() -> None:
            async with db.begin() as conn:  # the Executor's transaction: begun in place if it can
                await conn.execute(text("INSERT INTO t VALUES (2)"))

        task = asyncio.create_task(ours())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        await asyncio.to_thread(other.execute, "COMMIT")
        await asyncio.wait_for(task, timeout=30)
        other.close()
        assert await _numbers(db) == [1, 2]
    finally:
        await db.dispose()


async def _numbers(db: Database) -> list[int]:
    """What table `t` of the SQLite tests holds, read on a connection of its own."""
    async with db.read_engine.connect() as reader:
        rows = await reader.execute(text("SELECT n FROM t ORDER BY n"))
        return [int(n) for n in rows.scalars()]


_CUTOVER = DriverSQL(
    "INSERT INTO signing_cutover (legacy_below) VALUES (?) RETURNING legacy_below",
    "INSERT INTO signing_cutover (legacy_below) VALUES ($1) RETURNING legacy_below",
)


async def _cutovers(database: Database) -> list[int]:
    async with database.read_engine.connect() as reader:
        rows = await reader.execute(text("SELECT legacy_below FROM signing_cutover"))
        return sorted(int(value) for value in rows.scalars())


async def test_a_write_transaction_commits_driver_and_core_statements_together(
    database: Database,
) -> None:
    async with database.begin() as conn:
        assert await driver_rows(conn, _CUTOVER, (-1,)) is not None
        await conn.execute(text("INSERT INTO signing_cutover (legacy_below) VALUES (-2)"))
    async with database.begin() as conn:  # SQLAlchemy's statement first, then the driver's
        await conn.execute(text("INSERT INTO signing_cutover (legacy_below) VALUES (-3)"))
        assert await driver_rows(conn, _CUTOVER, (-4,)) is not None
    async with database.begin() as conn:  # nothing written: nothing to commit
        pass
    assert await _cutovers(database) == [-4, -3, -2, -1, 1]
    async with database.engine.connect() as conn:  # the pool's connection is clean
        assert not conn.in_transaction()
        driver = await _driver(conn)
        assert not (driver.in_transaction if database.is_sqlite else driver.is_in_transaction())


async def test_a_failed_write_transaction_rolls_back_all_of_it(database: Database) -> None:
    async def fails_in_python() -> None:
        async with database.begin() as conn:
            await driver_rows(conn, _CUTOVER, (-1,))
            await conn.execute(text("INSERT INTO signing_cutover (legacy_below) VALUES (-2)"))
            _ = 1 / 0

    async def fails_in_a_statement() -> None:  # the transaction is aborted
        async with database.begin() as conn:
            await driver_rows(conn, _CUTOVER, (-3,))
            await conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(ZeroDivisionError):
        await fails_in_python()
    with pytest.raises(SQLAlchemyError):
        await fails_in_a_statement()
    assert await _cutovers(database) == [1]
    async with database.begin() as conn:  # and the pool's connections still work
        assert await driver_rows(conn, _CUTOVER, (-5,)) is not None
    assert await _cutovers(database) == [-5, 1]


async def test_a_refused_write_transaction_keeps_its_connection_for_the_next(
    database: Database,
) -> None:
    """A statement refused mid-transaction (a 409's unique violation) rolls the transaction
    back, and the connection `begin()` holds serves the next one: no reconnect per
    conflict, no transaction left over."""

    async def backend() -> Any:
        async with database.begin() as conn:
            if database.is_sqlite:
                return id(await _driver(conn))
            return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()

    async def duplicate() -> None:
        async with database.begin() as conn:
            await driver_rows(conn, _CUTOVER, (-1,))
            await driver_rows(conn, _CUTOVER, (1,))  # the migration's row: refused

    before = await backend()
    with pytest.raises(IntegrityError):
        await duplicate()
    assert await backend() == before
    async with database.begin() as conn:
        assert await driver_rows(conn, _CUTOVER, (-2,)) is not None
    assert await _cutovers(database) == [-2, 1]


@pytest.mark.postgresql_only
async def test_a_write_transaction_whose_connection_the_server_ends_is_transient(
    database: Database,
) -> None:
    """Ended mid-transaction (a failover, an admin's kill): nothing committed, reported as a
    lost connection, and the connection is not handed out again."""

    async def ended_midway() -> None:
        async with database.begin() as conn:
            await driver_rows(conn, _CUTOVER, (-1,))
            async with database.engine.connect() as admin:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                await admin.commit()
            await driver_rows(conn, _CUTOVER, (-2,))

    with pytest.raises(SQLAlchemyError) as lost:
        await ended_midway()
    assert is_transient(lost.value)
    for value in range(-12, 0):  # more than the pool holds: each connection is alive
        async with database.begin() as conn:
            await driver_rows(conn, _CUTOVER, (value,))
    assert await _cutovers(database) == [*range(-12, 0), 1]


async def test_a_writer_cancelled_while_it_waits_for_the_lock_leaves_nothing_behind(
    tmp_path: Any,
) -> None:
    """A write transaction waiting for another connection's lock (on aiosqlite's thread) is
    cancelled, and the held write connection goes to the next writer while the thread still
    waits with it. That writer queues behind the thread instead of running on the loop beside
    it (which held the loop for the whole busy timeout, so the lock's holder could never
    finish), and the transaction the cancelled call began is rolled back, not inherited."""
    db = open_database(f"sqlite:///{tmp_path}/cancel.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holding, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:  # another connection (a pooled one) holds the lock
            async with db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                await release.wait()

        async def writer(n: int) -> None:
            async with db.begin() as conn:
                await conn.execute(text(f"INSERT INTO t VALUES ({n})"))

        lag = 0.0

        async def ticker() -> None:
            nonlocal lag
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)  # measuring the loop's lag, not waiting for anything
                lag = max(lag, time.monotonic() - before - 0.01)

        ticking = asyncio.create_task(ticker())
        held = asyncio.create_task(holder())
        await holding.wait()
        cancelled = asyncio.create_task(writer(2))
        for _ in range(10):  # the held connection, then straight on to the thread's wait
            await asyncio.sleep(0)
        assert not cancelled.done()
        cancelled.cancel()  # its clean-up (a rollback) queues behind the thread's wait too
        following = asyncio.create_task(writer(3))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not following.done()
        release.set()
        await asyncio.wait_for(asyncio.gather(held, following), timeout=20)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        ticking.cancel()
        assert lag < 1.0, f"the loop stood still for {lag:.1f} s"
        assert await _numbers(db) == [1, 3]
        async with db.begin() as conn:  # the held connection writes afresh
            await conn.execute(text("INSERT INTO t VALUES (4)"))
    finally:
        await db.dispose()


async def test_the_tasks_of_one_process_take_turns_on_the_sqlite_write_connection(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Database.begin()` on SQLite: one held connection, one task at a time. A second task
    waits for the first with the loop running and then writes; a write transaction opened
    inside another in the same task can never get it and fails after the busy timeout as
    SQLite's own lock would ("database is locked"), leaving the outer one to commit."""
    db = open_database(f"sqlite:///{tmp_path}/turns.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holding, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                await release.wait()  # needs the loop: a blocked loop would deadlock here

        async def waiter() -> None:
            await holding.wait()
            async with db.begin() as conn:
                assert await driver_rows(conn, DriverSQL("SELECT count(*) FROM t", ""), ()) == [
                    (1,)
                ]
                await conn.execute(text("INSERT INTO t VALUES (2)"))

        held, waiting = asyncio.create_task(holder()), asyncio.create_task(waiter())
        await holding.wait()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        release.set()
        await asyncio.wait_for(asyncio.gather(held, waiting), timeout=30)

        monkeypatch.setattr("shared.db.BUSY_TIMEOUT_MS", 200)
        async with db.begin() as outer:
            await outer.execute(text("INSERT INTO t VALUES (3)"))
            with pytest.raises(OperationalError, match="database is locked"):
                async with db.begin():
                    pass
        assert await _numbers(db) == [1, 2, 3]
    finally:
        await db.dispose()


async def test_a_broken_sqlite_write_connection_is_replaced(tmp_path: Any) -> None:
    """The held write connection fails under a transaction (here: invalidated, as SQLAlchemy
    does on a disconnect): that transaction fails, nothing of it is kept, and the next one
    runs on a new connection."""
    db = open_database(f"sqlite:///{tmp_path}/broken.db")
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        async def breaks() -> None:
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await conn.invalidate()

        with pytest.raises(Exception):  # noqa: B017,PT011 - whatever the closed driver raises
            await breaks()
        async with db.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert await _numbers(db) == [2]
    finally:
        await db.dispose()


async def test_a_writer_cancelled_while_its_broken_connection_is_replaced_lets_go_of_the_lock(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write transaction ends on a connection that must be replaced, and the task is
    cancelled while the replacement is under way (a client gone, a shutdown): the process's
    write lock is let go of all the same, and the next write transaction runs at once."""
    db = open_database(f"sqlite:///{tmp_path}/cancel-discard.db")
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        replacing = asyncio.Event()
        real_discard = _HeldWriter.discard

        async def slow_discard(self: _HeldWriter) -> None:
            replacing.set()
            await asyncio.Event().wait()  # a replacement that takes long: the window to cancel
            await real_discard(self)

        monkeypatch.setattr(_HeldWriter, "discard", slow_discard)

        async def breaks() -> None:
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                await conn.invalidate()  # as after a disconnect: to be replaced

        task = asyncio.create_task(breaks())
        await replacing.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.setattr(_HeldWriter, "discard", real_discard)
        monkeypatch.setattr("shared.db.BUSY_TIMEOUT_MS", 2000)  # a held lock fails fast
        async with db.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        assert await _numbers(db) == [2]
    finally:
        await db.dispose()


def test_a_database_used_from_a_second_event_loop_writes_there(tmp_path: Any) -> None:
    """A `Database` first used under one event loop and then under another (two
    `asyncio.run`s): the write connection of the first is let go, and a new one serves the
    second."""
    db = open_database(f"sqlite:///{tmp_path}/loops.db")

    async def write(n: int) -> None:
        async with db.begin() as conn:
            if n == 1:
                await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(text(f"INSERT INTO t VALUES ({n})"))

    async def read_and_dispose() -> list[int]:
        values = await _numbers(db)
        await db.dispose()
        return values

    asyncio.run(write(1))
    asyncio.run(write(2))
    assert asyncio.run(read_and_dispose()) == [1, 2]


@pytest.mark.postgresql_only
async def test_a_commit_cancelled_in_flight_does_not_pool_its_connection_in_a_transaction(
    one_connection: Database,
) -> None:
    """The COMMIT round trip is cancelled (a client gone, a shutdown) while the server works
    on it (here: a deferred trigger that sleeps). The connection is not given back to the
    pool still in the transaction: the next transaction on the one pooled connection works."""
    db = one_connection
    async with db.engine.begin() as conn:
        for statement in (
            "CREATE TABLE slow_commit (n INTEGER)",
            "CREATE FUNCTION slow_commit_sleep() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$",
            "CREATE CONSTRAINT TRIGGER slow_commit_trigger AFTER INSERT ON slow_commit"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit_sleep()",
        ):
            await conn.execute(text(statement))
    insert = DriverSQL("", "INSERT INTO slow_commit VALUES ($1)")
    body_done = asyncio.Event()

    async def command() -> None:
        async with db.begin() as conn:
            await driver_rows(conn, insert, (1,))
            body_done.set()

    task = asyncio.create_task(command())
    await body_done.wait()
    for _ in range(5):  # on to the COMMIT, which the trigger holds for a second
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.begin() as conn:
        await conn.execute(text("DROP TRIGGER slow_commit_trigger ON slow_commit"))
        await driver_rows(conn, insert, (2,))
    async with db.read_engine.connect() as reader:
        rows = await reader.execute(text("SELECT n FROM slow_commit WHERE n = 2"))
        assert list(rows.scalars()) == [2]  # (1 is the server's to finish or not)


@pytest.mark.postgresql_only
async def test_a_begin_cancelled_in_flight_does_not_swallow_the_next_transactions(
    one_connection: Database, database_url: tuple[str, str | None]
) -> None:
    """A write transaction is cancelled while its BEGIN is on the wire (a timeout, a
    shutdown). asyncpg then keeps a failed transaction of its own on the connection; held
    again, that connection would run the next transactions as savepoints of it or outside
    any, and never commit them. It is dropped instead: what comes after commits, visibly to
    another connection, and no session is left idle in a transaction."""
    url, schema = database_url
    db = one_connection
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE begun (n INTEGER)"))
    select_one = DriverSQL("SELECT 1", "SELECT 1")
    async with db.begin() as conn:  # the one held connection, warm
        await driver_rows(conn, select_one, ())

    async def cancelled() -> None:
        async with db.begin() as conn:
            await driver_rows(conn, select_one, ())  # BEGIN first, on the driver

    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0)  # the BEGIN is sent; its answer not read yet
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.begin() as conn:
        await conn.execute(text("INSERT INTO begun VALUES (1)"))
    async with db.begin() as conn:
        await driver_rows(conn, DriverSQL("", "INSERT INTO begun VALUES ($1)"), (2,))
    other = open_database(url, schema=schema)
    try:
        async with other.read_engine.connect() as reader:
            rows = await reader.execute(text("SELECT n FROM begun ORDER BY n"))
            assert list(rows.scalars()) == [1, 2]
            idle = await reader.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND query LIKE '%begun%'"
                )
            )
            assert idle.scalar() == 0
    finally:
        await other.dispose()


@pytest.mark.postgresql_only
async def test_a_writer_waiting_for_a_held_connection_gets_one_when_it_is_dropped(
    one_connection: Database,
) -> None:
    """All held connections are taken (here: the one of a pool of one) and a second writer
    waits. The first one's connection breaks and is dropped: that makes room, and the waiter
    goes on with a new connection instead of waiting for good."""
    db = one_connection
    holding, breaking = asyncio.Event(), asyncio.Event()

    async def breaks() -> None:
        async with db.begin() as conn:
            await conn.execute(text("SELECT 1"))
            holding.set()
            await breaking.wait()
            await conn.invalidate()  # as after a disconnect
            raise RuntimeError("connection lost")

    async def waits() -> int:
        await holding.wait()
        async with db.begin() as conn:
            return int((await conn.execute(text("SELECT 41 + 1"))).scalar_one())

    first, second = asyncio.create_task(breaks()), asyncio.create_task(waits())
    await holding.wait()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not second.done()  # waiting for the one connection
    breaking.set()
    with pytest.raises(RuntimeError, match="connection lost"):
        await first
    assert await asyncio.wait_for(second, timeout=10) == 42
