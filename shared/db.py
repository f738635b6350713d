"""Database engines for a service's store: SQLite (embedded default) or PostgreSQL.

URLs are given plainly (`sqlite:///var/x.db`, `postgresql://user@host:5432/db`); the async
driver is chosen here. On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so
concurrent writers queue on the busy timeout instead of failing to upgrade a read lock;
reads use a second engine that takes no write lock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLATimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_database_url(url: str) -> str:
    """The SQLAlchemy async URL for a plain one: `sqlite:///x` → `sqlite+aiosqlite:///x`."""
    scheme, separator, rest = url.partition("://")
    dialect, plus, driver = scheme.partition("+")
    dialect = "postgresql" if dialect == "postgres" else dialect
    if not separator or dialect not in _ASYNC_DRIVERS or (plus and not driver):
        raise ValueError(
            f"unsupported database URL {url!r}: use sqlite:///path or postgresql://user@host/db"
        )
    if dialect == "sqlite" and "?" in rest:
        # `open_database` opens the file itself, with its own settings (WAL, FULL sync, the
        # busy timeout): options given here would be dropped without a word.
        raise ValueError(
            f"unsupported database URL {url!r}: a SQLite URL takes no options (the store sets "
            "its own); give the path alone, sqlite:///path"
        )
    if driver:
        return f"{dialect}+{driver}://{rest}"
    return f"{_ASYNC_DRIVERS[dialect]}://{rest}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=0")  # `_Inline` waits off the loop
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True, slots=True)
class DriverSQL:
    """One hot-path statement in each driver's own dialect: sqlite3's `?`, asyncpg's `$n`."""

    sqlite: str
    postgres: str


async def driver_rows(
    conn: AsyncConnection, sql: DriverSQL, params: Sequence[Any]
) -> list[Sequence[Any]] | None:
    """The rows of `sql`, run on the driver under `conn`, in `conn`'s transaction.

    The hot path of a command (the load's `SELECT`, the event's `INSERT`) skips SQLAlchemy's
    per-statement work and, on SQLite, all but one of aiosqlite's thread hand-offs
    (`execute_fetchall`); asyncpg prepares the statement once per connection and keeps it.
    SQLAlchemy begins a transaction lazily; on PostgreSQL it is begun here as the asyncpg
    adapter would. None when the transaction cannot be begun here (a SQLite reader before its
    first statement; autocommit): the caller then goes through SQLAlchemy, so a statement
    never runs outside the transaction it was meant for.
    """
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    single = _SINGLE_WRITE.get() is conn and not sync.in_transaction()
    if not single and not sync.in_transaction():
        return None
    driver = sync.connection.driver_connection
    if driver is None:
        return None
    name = conn.dialect.name
    if name == "sqlite":
        if not driver.in_transaction:
            return None
        try:
            if isinstance(driver, _Inline):
                rows = driver.rows_here(sql.sqlite, tuple(params))
                if rows is not MUST_WAIT:
                    return list(rows)
            return list(await driver.execute_fetchall(sql.sqlite, tuple(params)))
        except sqlite3.IntegrityError as refused:
            # As SQLAlchemy reports it, so callers catch one kind (a 409, a duplicate).
            raise IntegrityError(sql.sqlite, list(params), refused) from refused
    if name == "postgresql":
        try:
            if single:  # each statement its own transaction (`Database.single_write`)
                pass
            elif not driver.is_in_transaction() and not await _begin_asyncpg(sync.connection):
                return None
            return list(await driver.fetch(sql.postgres, *params))
        except Exception as failure:
            if driver.is_closed():
                # The server ended the connection (a failover, an admin's kill): what
                # SQLAlchemy's own path would report as a disconnect, a transient failure.
                raise DisconnectionError(f"the database connection was lost: {failure}") from (
                    failure
                )
            state = getattr(failure, "sqlstate", None)
            if isinstance(state, str) and state.startswith("23"):  # an integrity constraint
                raise IntegrityError(sql.postgres, list(params), failure) from failure
            raise
    return None


async def _begin_asyncpg(pooled: Any) -> bool:
    """Begin the transaction SQLAlchemy's asyncpg adapter would begin at its first statement
    (same isolation level, read-only and deferrable settings), so a driver statement can come
    first; False (go through SQLAlchemy) if the adapter is not the one this was written for,
    or is in autocommit."""
    adapted = pooled.dbapi_connection
    start = getattr(adapted, "_start_transaction", None)
    if start is None or getattr(adapted, "_transaction", True) is not None:
        return False
    if getattr(adapted, "isolation_level", None) == "autocommit":
        return False
    await start()
    return bool(pooled.driver_connection.is_in_transaction())


def _begin(statement: str) -> Any:
    """A `begin` listener sending `statement` (the SQLite transaction's BEGIN) in one hand-off
    to aiosqlite's thread, not SQLAlchemy's cursor round (cursor, execute, close)."""

    def begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if getattr(driver, "begun_in_place", False):  # `_HeldTransaction` sent it
            driver.begun_in_place = False
            return
        await_(driver.execute(statement))

    return begin


_Hook = Callable[[AsyncConnection], Awaitable[None]]

#: How long a SQLite statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 30000
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _busy(failure: sqlite3.OperationalError) -> bool:
    return (getattr(failure, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)


#: `_Inline.here`'s answer when a call must wait off the loop.
MUST_WAIT: Any = object()


class _Inline(aiosqlite.Connection):
    """aiosqlite's connection, run on the calling (event loop's) thread unless it must wait.

    A SQLite statement takes microseconds; a hand-off to aiosqlite's thread and back costs
    80–150 µs of CPU on the machines we measure (thread wake-ups, the loop's self-pipe), more
    than the statements of a whole command. So every call first runs here, with SQLite's busy
    timeout at 0: it either completes at once or fails with SQLITE_BUSY, having done nothing.
    Only then does it go to aiosqlite's thread, with the busy timeout at `BUSY_TIMEOUT_MS`, to
    wait there for the other connection (another process's writer, or a task of ours holding
    the write lock) without stopping the loop.

    In WAL mode, once `BEGIN IMMEDIATE` has returned the transaction holds the write lock, and
    readers never block a writer, so a command's statements and its `COMMIT` do not wait on
    other connections. The `COMMIT`'s fsync does run on the loop's thread: the loop pauses for
    one disk flush per write transaction, as a synchronous SQLite program pauses; the CPU saved
    is two hand-offs per transaction (docs/performance.md has the figures). The connection
    is used by one task at a time (the pool's checkout), so the two threads never touch it at
    once.
    """

    #: Calls handed to aiosqlite's thread (counted on the loop's thread) and finished there
    #: (counted on that thread): while they differ, the thread has the connection, and every
    #: call queues behind it instead of running here.
    _sent = 0
    _done = 0
    #: `begin_at_once` began the transaction: the `begin` listener has nothing to send.
    begun_in_place = False

    def here(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` on this thread, or `MUST_WAIT` (nothing done) when it must
        wait: for another connection's lock, or for aiosqlite's thread to let go."""
        if self._connection is None or not self._running or self._sent != self._done:
            return MUST_WAIT
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as failure:
            if not _busy(failure):
                raise
            return MUST_WAIT

    def rows_here(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The rows of `sql` run here (`here`): what `execute_fetchall` gives, without its
        wrappers, or `MUST_WAIT`."""
        return self.here(self._execute_fetchall, sql, params)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        done = self.here(fn, *args, **kwargs)
        if done is not MUST_WAIT:
            return done
        self._sent += 1
        try:
            return await super()._execute(self._waiting, fn, args, kwargs)  # type: ignore[no-untyped-call]
        except asyncio.CancelledError:
            # The call goes on in the thread, for a caller who has gone: a transaction it
            # begins belongs to no one, so it is rolled back there, right after it.
            self._sent += 1
            self._tx.put_nowait((None, self._abandoned))
            raise

    def begin_at_once(self) -> bool:
        """`BEGIN IMMEDIATE` here and now if no other connection holds the write lock; False
        (nothing done) if one does or the thread still has the connection, for the caller to
        wait off the loop."""
        connection = self._connection
        if (
            connection is None
            or not self._running
            or self._sent != self._done
            or connection.in_transaction
        ):
            return False
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as failure:
            if not _busy(failure):
                raise
            return False
        self.begun_in_place = True
        return True

    def rollback_left_over(self) -> bool:
        """Roll back, here and now, a transaction left open on this connection; False if the
        connection failed to. When aiosqlite's thread still has the connection (a call there
        whose caller was cancelled), nothing is done here: `_abandoned` rolls it back there,
        and whatever comes next queues behind it."""
        connection = self._connection
        if connection is None or self._sent != self._done:
            return connection is not None
        try:
            if connection.in_transaction:
                connection.rollback()
        except sqlite3.Error:
            return False
        return True

    def stop_from_elsewhere(self) -> None:
        """aiosqlite's `stop()` for a connection whose event loop is gone: its thread closes
        it and ends, answering no future (aiosqlite's would answer on the loop that asks,
        which may be closed by then)."""
        self._running = False

        def close_and_stop() -> object:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()
            return aiosqlite.core._STOP_RUNNING_SENTINEL

        self._tx.put_nowait((None, close_and_stop))

    def _waiting(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """`fn` on aiosqlite's thread, allowed to wait for a lock."""
        try:
            connection = self._conn
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                return fn(*args, **kwargs)
            finally:
                connection.execute("PRAGMA busy_timeout=0")
        finally:
            self._done += 1

    def _abandoned(self) -> None:
        """On aiosqlite's thread, after a call whose caller was cancelled: roll back what it
        left open."""
        try:
            connection = self._connection
            if connection is not None and connection.in_transaction:
                connection.rollback()
        finally:
            self._done += 1


def _inline(path: str) -> Callable[[], _Inline]:
    """`async_creator` for an engine of `_Inline` connections to `path`. `check_same_thread`
    is off because two threads use each connection, never at once; `timeout=0` is the busy
    timeout of a first attempt."""

    def create() -> _Inline:
        connect = partial(sqlite3.connect, path, timeout=0, check_same_thread=False)
        connection = _Inline(connect, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite connect does
        return connection

    return create


def _reset_sqlite(dbapi_connection: Any, _record: Any, state: Any) -> None:
    """The pool's reset on return, for `reset_on_return=None`: roll back only a connection
    still in a transaction. SQLAlchemy's own reset rolls back after every commit too, one more
    hand-off to aiosqlite's thread per command for nothing."""
    if not state.asyncio_safe:
        return
    try:
        in_transaction = bool(dbapi_connection.driver_connection.in_transaction)
    except ValueError:  # aiosqlite: no active connection; nothing to roll back
        return
    if in_transaction:
        dbapi_connection.rollback()


#: The connection of a `Database.single_write()` block, in the task that runs it.
_SINGLE_WRITE: contextvars.ContextVar[AsyncConnection | None] = contextvars.ContextVar(
    "single_write", default=None
)


@contextlib.asynccontextmanager
async def _asyncpg_single_write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`Database.single_write()` on PostgreSQL: driver statements run without BEGIN/COMMIT."""
    async with _asyncpg_transaction(engine, begin=False) as conn:
        token = _SINGLE_WRITE.set(conn)
        try:
            yield conn
        finally:
            _SINGLE_WRITE.reset(token)


@contextlib.asynccontextmanager
async def _asyncpg_transaction(
    engine: AsyncEngine, *, begin: bool = True
) -> AsyncIterator[AsyncConnection]:
    """`engine.begin()` for the asyncpg adapter, with SQLAlchemy's bookkeeping done in place.

    `engine.begin()` runs each of its steps (checkout, begin, commit, close) in a greenlet of
    its own, the close in a task of its own: about as much CPU as a command's statements. Only
    the checkout may wait for the network (it may connect); SQLAlchemy's begin does no I/O
    (the adapter begins at the first statement, or `driver_rows` does), so it is called
    directly. The commit goes to asyncpg's transaction, as the adapter's would, and then tells
    SQLAlchemy, whose own commit finds nothing left to send; the close returns a connection
    with no transaction to the pool, again with no I/O. Any failure, and any connection not
    driven by the adapter this was written for, takes SQLAlchemy's own path (rollback and
    close, shielded from cancellation; a connection the server ended is invalidated).
    """
    conn = await engine.connect()
    sync = conn.sync_connection
    assert sync is not None
    done = False
    try:
        adapted: Any = sync.connection.dbapi_connection
        if getattr(adapted, "_transaction", True) is not None or not hasattr(
            adapted, "_start_transaction"
        ):
            async with conn.begin():  # not the adapter this was written for
                yield conn
            done = True
            return
        if begin:
            sync.begin()
        yield conn
        await _commit_asyncpg(adapted)
        sync.commit()  # SQLAlchemy's side: the adapter has nothing left to commit
        done = True
    finally:
        await _release(conn, committed=done)


#: How long a writer waits for one of the held PostgreSQL connections (SQLAlchemy's own
#: `pool_timeout`), then `sqlalchemy.exc.TimeoutError`, a transient failure.
POOL_TIMEOUT_S = 30.0


def _usable(conn: AsyncConnection) -> bool:
    """Whether a held PostgreSQL connection can take the next transaction: alive, and in no
    transaction on the server or in asyncpg (a `BEGIN` cancelled in flight leaves asyncpg a
    transaction of its own, `_top_xact`, that would turn the next ones into savepoints)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return False
    adapted: Any = sync.connection.dbapi_connection
    driver = sync.connection.driver_connection
    return (
        driver is not None
        and not driver.is_closed()
        and not driver.is_in_transaction()
        and getattr(driver, "_top_xact", None) is None
        and getattr(adapted, "_transaction", None) is None
    )


class _HeldPostgres:
    """PostgreSQL connections that `Database.begin()` keeps between transactions, up to the
    pool's size, each given to one task at a time (see `_held_asyncpg_transaction`). A
    writer that finds them all taken waits for one (at most `POOL_TIMEOUT_S`); one that was
    dropped makes room for a new one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.made = 0
        self.free: list[AsyncConnection] = []
        self.waiting: collections.deque[asyncio.Future[AsyncConnection | None]] = (
            collections.deque()
        )
        self.loop: asyncio.AbstractEventLoop | None = None

    def _for_this_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            # Connections of another (finished) loop cannot be used or closed from this one:
            # out of the pool, their sockets closed, and this loop starts afresh.
            for conn in self.free:
                _let_go(conn)
            self.free, self.waiting, self.loop, self.made = [], collections.deque(), loop, 0
        return loop

    async def take(self, engine: AsyncEngine) -> AsyncConnection:
        loop = self._for_this_loop()
        while True:
            while self.free:
                conn = self.free.pop()
                if _usable(conn):
                    return conn
                await self.drop(conn)
            if self.made >= self.limit:
                waiter: asyncio.Future[AsyncConnection | None] = loop.create_future()
                self.waiting.append(waiter)
                try:
                    async with asyncio.timeout(POOL_TIMEOUT_S):
                        given = await waiter
                except BaseException as failure:
                    self._pass_on(waiter)
                    if isinstance(failure, TimeoutError):
                        raise SQLATimeoutError(
                            f"no write connection free within {POOL_TIMEOUT_S:.0f} s"
                            f" ({self.limit} held, all in use)"
                        ) from None
                    raise
                if given is not None:
                    if _usable(given):
                        return given
                    await self.drop(given)
                    continue
                if self.made >= self.limit:  # the room was taken meanwhile: wait again
                    continue
            return await self._make(engine)

    async def _make(self, engine: AsyncEngine) -> AsyncConnection:
        self.made += 1
        try:
            conn = await engine.connect()
        except BaseException:
            self.made -= 1
            self._room()
            raise
        sync = conn.sync_connection
        adapted: Any = None if sync is None else sync.connection.dbapi_connection
        if sync is None or not hasattr(adapted, "_start_transaction"):
            await self.drop(conn)  # not the adapter this was written for: not held
            raise TypeError(f"not SQLAlchemy's asyncpg adapter: {adapted!r}")
        # SQLAlchemy's bookkeeping, once (the adapter sends nothing). A transaction that a
        # pool `checkout` listener began is the first held transaction's own.
        sync.begin()
        return conn

    def _pass_on(self, waiter: asyncio.Future[AsyncConnection | None]) -> None:
        """A waiter that gave up: what it was handed goes to the next one."""
        with contextlib.suppress(ValueError):
            self.waiting.remove(waiter)
        if waiter.done() and not waiter.cancelled():
            given = waiter.result()
            if given is None:
                self._room()
            else:
                self.give_back(given)

    def _room(self) -> None:
        """A connection was dropped: the first waiter may make a new one."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def give_back(self, conn: AsyncConnection) -> None:
        if self.loop is not asyncio.get_running_loop():
            _let_go(conn)
            return
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.free.append(conn)

    async def drop(self, conn: AsyncConnection) -> None:
        """A connection that cannot be trusted with another transaction: closed, not held."""
        if self.loop is asyncio.get_running_loop() and self.made > 0:
            self.made -= 1
            self._room()
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def recover(self, conn: AsyncConnection) -> None:
        """After a failure: the transaction rolled back and the connection held again; or,
        when that is not sure (the server ended it, a `BEGIN` or `COMMIT` cancelled in
        flight, the rollback itself failed or was cancelled), dropped."""
        sync = conn.sync_connection
        try:
            assert sync is not None
            adapted: Any = sync.connection.dbapi_connection
            driver = sync.connection.driver_connection
            if sync.invalidated or sync.closed or driver is None or driver.is_closed():
                raise DisconnectionError("the held connection was lost")
            transaction, adapted._transaction = adapted._transaction, None
            if transaction is not None:
                await transaction.rollback()
            if not _usable(conn):
                raise DisconnectionError("the held connection is in a transaction nobody owns")
        except BaseException:
            await self.drop(conn)
            raise
        self.give_back(conn)

    async def close(self) -> None:
        """`Database.dispose()`: the idle connections closed; one still in a transaction is
        closed when that transaction ends (`give_back` finds no loop to keep it for)."""
        free, self.free, self.loop, self.made = self.free, [], None, 0
        for conn in free:
            with contextlib.suppress(Exception):
                await conn.close()


def _let_go(conn: AsyncConnection | None) -> None:
    """A held connection that cannot be closed as usual (its event loop is gone, or the
    database was disposed of): out of the pool, which must not hand it out again, and closed
    without the loop (asyncpg's socket terminated; a SQLite connection closed by its own
    thread, which then stops)."""
    sync = None if conn is None else conn.sync_connection
    if sync is None:
        return
    with contextlib.suppress(Exception):
        driver = sync.connection.driver_connection
        sync.detach()
        if isinstance(driver, _Inline):
            driver.stop_from_elsewhere()
        elif driver is not None:
            driver.terminate()


@contextlib.asynccontextmanager
async def _held_asyncpg_transaction(
    engine: AsyncEngine, held: _HeldPostgres, on_begin: Sequence[_Hook]
) -> AsyncIterator[AsyncConnection]:
    """`Database.begin()` on PostgreSQL: a transaction on a held connection, begun and
    committed on asyncpg, with none of SQLAlchemy's per-transaction machinery.

    As `_HeldTransaction` on SQLite, but with up to the pool's size of connections, one per
    concurrent writer: SQLAlchemy is told once that each is in a transaction and never that
    it ended; asyncpg's transaction begins at the first statement (the adapter's, or
    `driver_rows`'s) and is committed here, where the adapter would commit it. A failure rolls
    it back and the connection is held again; one that may still be in a transaction nobody
    owns (lost, a `BEGIN` or `COMMIT` cancelled in flight) is closed instead. About 60–90 µs of
    CPU less per transaction than checking one out of the pool (docs/performance.md)."""
    conn = await held.take(engine)
    committed = False
    try:
        for hook in on_begin:
            await hook(conn)
        yield conn
        sync = conn.sync_connection
        assert sync is not None
        adapted: Any = sync.connection.dbapi_connection
        await _commit_asyncpg(adapted)
        committed = True
    finally:
        if committed and _usable(conn):
            held.give_back(conn)
        else:
            with contextlib.suppress(Exception):  # the body's failure is what is raised
                await held.recover(conn)


async def _commit_asyncpg(adapted: Any) -> None:
    """Commit the asyncpg adapter's transaction, if one was begun, as the adapter would (it
    lets go of it, committed or not); a connection the server ended is a lost connection."""
    transaction = adapted._transaction
    if transaction is None:
        return
    try:
        await transaction.commit()
    except Exception as failure:
        if adapted.driver_connection.is_closed():
            raise DisconnectionError(f"the database connection was lost: {failure}") from failure
        raise
    finally:
        adapted._transaction = None


async def _release(conn: AsyncConnection, *, committed: bool) -> None:
    """Give `conn` back to the pool: closed in place after a commit (nothing is left to roll
    back, so no task or greenlet of its own), else as after a failure (`_close_failed`)."""
    sync = conn.sync_connection
    if committed and sync is not None and not sync.in_transaction():
        sync.close()
    else:
        await _close_failed(conn)


async def _close_failed(conn: AsyncConnection) -> None:
    """Roll back and close `conn` after a failure, shielded from cancellation as
    `engine.begin()` does; a connection the server ended is invalidated, not pooled again."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        driver = sync.connection.driver_connection
        adapted: Any = sync.connection.dbapi_connection
        if (
            conn.dialect.name == "postgresql"
            and driver is not None
            and (
                driver.is_closed()
                # A COMMIT cancelled in flight: the adapter has let go of its transaction, so
                # its rollback would send nothing; the connection must not be pooled again.
                # Nor one whose BEGIN was cancelled in flight: asyncpg keeps a transaction of
                # its own (`_top_xact`) that would turn the next ones into savepoints.
                or (
                    getattr(adapted, "_transaction", 0) is None
                    and (
                        driver.is_in_transaction() or getattr(driver, "_top_xact", None) is not None
                    )
                )
            )
        ):
            await conn.invalidate()
    await conn.__aexit__(None, None, None)


class _HeldWriter:
    """The SQLite write engine's one connection for `Database.begin()`, held across
    transactions, and the lock that gives it to one task at a time (see `_HeldTransaction`).
    Bound to the event loop that first used it: another loop starts afresh."""

    def __init__(self) -> None:
        self.conn: AsyncConnection | None = None
        self.lock = asyncio.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    def lock_for_this_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            # A connection made under another (finished) loop cannot serve this one.
            _let_go(self.conn)
            self.conn, self.loop, self.lock = None, loop, asyncio.Lock()
        return self.lock

    async def connection(self, engine: AsyncEngine) -> tuple[AsyncConnection, _Inline]:
        """The held connection, checked out of the pool at first use or after it broke."""
        conn = self.conn
        sync = None if conn is None else conn.sync_connection
        if conn is None or sync is None or sync.closed or sync.invalidated:
            if conn is not None:
                await self.discard()
            conn = self.conn = await engine.connect()
            sync = conn.sync_connection
        assert sync is not None
        driver = sync.connection.driver_connection
        if not isinstance(driver, _Inline):  # pragma: no cover - open_database's creator
            raise TypeError(f"not the kernel's SQLite connection: {driver!r}")
        if driver._connection is None:  # closed behind SQLAlchemy's back: start afresh
            await self.discard()
            return await self.connection(engine)
        return conn, driver

    async def discard(self) -> None:
        """Give up the held connection (it broke, or the database is disposed of)."""
        if self.loop is not asyncio.get_running_loop():
            _let_go(self.conn)
            self.conn = None
            return
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()


class _HeldTransaction:
    """`Database.begin()` on SQLite: a write transaction on the one held connection, begun and
    ended on the driver, with none of SQLAlchemy's per-transaction machinery.

    SQLite lets one connection write at a time, so the tasks of one process take turns on one
    connection (an `asyncio.Lock`, waited for at most `BUSY_TIMEOUT_MS` as SQLite's busy
    timeout would be, then "database is locked") instead of each checking a connection out of
    the pool and waiting on SQLite's lock. SQLAlchemy is told once that the connection is in a
    transaction and never told it ended: its statements run inside each of ours, never
    beginning one of their own. `BEGIN IMMEDIATE` runs in place when no other connection (a
    pooled one, another process) holds the write lock, else waits for it on aiosqlite's
    thread; the `COMMIT` and a failure's `ROLLBACK` run on the driver. A connection that broke
    is replaced at the next transaction. What this saves: the pool's checkout and check-in
    and SQLAlchemy's begin and commit, about 140 µs of CPU per transaction (docs/performance.md).

    (A class, not a generator: an async generator costs the loop's bookkeeping of async
    generators at every transaction.)
    """

    __slots__ = ("_conn", "_discard", "_driver", "_engine", "_held", "_lock", "_on_begin")

    def __init__(self, engine: AsyncEngine, held: _HeldWriter, on_begin: Sequence[_Hook]) -> None:
        self._engine, self._held, self._on_begin = engine, held, on_begin
        self._discard = False  # the connection failed to roll back: replace it

    async def __aenter__(self) -> AsyncConnection:
        held = self._held
        lock = self._lock = held.lock_for_this_loop()
        if lock.locked():  # another task of ours writes: wait for it, as long as SQLite would
            try:
                async with asyncio.timeout(BUSY_TIMEOUT_MS / 1000):
                    await lock.acquire()
            except TimeoutError:
                raise OperationalError(
                    "BEGIN IMMEDIATE", (), sqlite3.OperationalError("database is locked")
                ) from None
        else:
            await lock.acquire()  # free: taken at once, no timer set
        try:
            conn, driver = await held.connection(self._engine)
            try:
                begun = driver.begin_at_once()
            except sqlite3.Error:
                # Not a lock: this connection cannot begin (left read-only, broken). A new
                # one, once; what fails again is raised.
                await held.discard()
                conn, driver = await held.connection(self._engine)
                begun = driver.begin_at_once()
            if not begun:
                driver.rollback_left_over()
                await driver.execute("BEGIN IMMEDIATE")  # another connection writes: wait
        except BaseException:
            lock.release()
            raise
        self._conn, self._driver = conn, driver
        try:
            sync = conn.sync_connection
            assert sync is not None
            if not sync.in_transaction():  # SQLAlchemy's bookkeeping, once per connection
                driver.begun_in_place = True
                sync.begin()  # the `begin` listener finds it begun
            driver.begun_in_place = False  # (`begin_at_once` set it: nothing else is to skip)
            for hook in self._on_begin:
                await hook(conn)
        except BaseException:
            await self._end(failed=True)
            raise
        return conn

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        await self._end(failed=exc_type is not None)

    async def _end(self, *, failed: bool) -> None:
        """Commit (or after a failure roll back), then give the connection to the next task."""
        driver, held = self._driver, self._held
        try:
            if not failed:
                try:
                    await driver.commit()
                    return
                except BaseException:
                    self._roll_back_or_discard_soon()
                    raise
            self._roll_back_or_discard_soon()
        finally:
            try:
                sync = self._conn.sync_connection
                if self._discard or sync is None or sync.closed or sync.invalidated:
                    await held.discard()
            finally:
                self._lock.release()  # even if the discard is cancelled

    def _roll_back_or_discard_soon(self) -> None:
        driver = self._driver
        driver.begun_in_place = False
        if not driver.rollback_left_over():
            self._discard = True


@dataclass(frozen=True)
class Database:
    """A write engine and a read engine over the same database."""

    url: str
    engine: AsyncEngine
    read_engine: AsyncEngine
    #: SQLite: the write engine's connection that `begin()` holds (`_HeldTransaction`).
    _held: _HeldWriter = field(default_factory=_HeldWriter, init=False, repr=False, compare=False)
    #: PostgreSQL: the connections that `begin()` holds (`_held_asyncpg_transaction`).
    _held_postgres: _HeldPostgres = field(init=False, repr=False, compare=False)
    #: Run at the start of every `begin()` transaction, inside it (fault tests: a store that
    #: refuses writes, a full disk). `begin()` holds its connections between transactions,
    #: so SQLAlchemy's `begin` and pool `checkout` events do not mark each transaction.
    on_begin: list[Callable[[AsyncConnection], Awaitable[None]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        size = getattr(self.engine.sync_engine.pool, "size", lambda: 5)()
        object.__setattr__(self, "_held_postgres", _HeldPostgres(max(1, int(size))))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def begin(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction: `engine.begin()`, with less of SQLAlchemy's machinery around it
        (`_held_asyncpg_transaction`, `_HeldTransaction`)."""
        if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "asyncpg":
            return _held_asyncpg_transaction(self.engine, self._held_postgres, self.on_begin)
        if self.engine.dialect.name == "sqlite":
            return _HeldTransaction(self.engine, self._held, self.on_begin)
        return self.engine.begin()

    def single_write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection for work that writes with ONE statement, on PostgreSQL without a
        transaction around it: each driver statement (`driver_rows`) is its own transaction,
        so a read and then one insert cost two round trips instead of four (BEGIN, COMMIT).
        A statement through SQLAlchemy begins a transaction as usual, committed at the end.
        The caller must not write twice through the driver (the first write would commit
        alone); `Database.begin()` is the transaction for that. Elsewhere, `begin()`."""
        if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "asyncpg":
            return _asyncpg_single_write(self.engine)
        return self.begin()

    def snapshot(self) -> AsyncConnection:
        """A read connection whose statements all see one snapshot (a multi-statement read).

        SQLite's read transaction is a snapshot from its first read on; PostgreSQL's default
        READ COMMITTED takes a new one per statement, so it is asked for REPEATABLE READ.
        """
        engine = self.read_engine
        if not self.is_sqlite:
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        return engine.connect()

    async def dispose(self) -> None:
        await self._held.discard()
        await self._held_postgres.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def open_database(
    url: str, *, schema: str | None = None, pool_size: int = 10, name: str | None = None
) -> Database:
    """Engines for `url`; `schema` sets PostgreSQL's search_path (a schema per test), `name`
    its `application_name` (who holds a connection, in `pg_stat_activity`)."""
    driver_url = async_database_url(url)
    if driver_url.startswith("sqlite"):
        path = make_url(driver_url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        sqlite_args: dict[str, Any] = {
            "async_creator": _inline(path or ":memory:"),
            "pool_reset_on_return": None,  # `_reset_sqlite` does it
        }
        writer = create_async_engine(driver_url, **sqlite_args)
        reader = create_async_engine(driver_url, **sqlite_args)
        for engine in (writer, reader):
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine.pool, "reset", _reset_sqlite)

        event.listen(writer.sync_engine, "begin", _begin("BEGIN IMMEDIATE"))
        event.listen(reader.sync_engine, "begin", _begin("BEGIN"))
        return Database(url, writer, reader)
    server_settings: dict[str, str] = {}
    if schema:
        server_settings["search_path"] = schema
    if name:
        server_settings["application_name"] = name
    connect_args: dict[str, Any] = {"server_settings": server_settings} if server_settings else {}
    engine = create_async_engine(
        driver_url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args
    )
    return Database(url, engine, engine)
