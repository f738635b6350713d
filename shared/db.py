"""Database engines for a service's store: SQLite (embedded default) or PostgreSQL.

URLs are given plainly (`sqlite:///var/x.db`, `postgresql://user@host:5432/db`); the async
driver is chosen here. On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so
concurrent writers queue on the busy timeout instead of failing to upgrade a read lock;
reads use a second engine that takes no write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
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
        if getattr(driver, "begun_in_place", False):  # `_sqlite_transaction` sent it
            driver.begun_in_place = False
            return
        await_(driver.execute(statement))

    return begin


#: How long a SQLite statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 30000
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _busy(failure: sqlite3.OperationalError) -> bool:
    return (getattr(failure, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)


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

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is not None and self._running and self._sent == self._done:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as failure:
                if not _busy(failure):
                    raise
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
        transaction = adapted._transaction
        if transaction is not None:
            try:
                await transaction.commit()
            except Exception as failure:
                if adapted.driver_connection.is_closed():
                    raise DisconnectionError(f"the database connection was lost: {failure}") from (
                        failure
                    )
                raise
            finally:
                adapted._transaction = None  # as the adapter does, committed or not
        sync.commit()  # SQLAlchemy's side: the adapter has nothing left to commit
        done = True
    finally:
        await _release(conn, committed=done)


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
                or (driver.is_in_transaction() and getattr(adapted, "_transaction", 0) is None)
            )
        ):
            await conn.invalidate()
    await conn.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def _sqlite_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.begin()` on SQLite with less around it: `BEGIN IMMEDIATE` sent in place
    when no other connection holds the write lock (SQLAlchemy then only books the transaction
    as begun; otherwise its `begin` listener waits for the lock off the loop), and the close
    of a committed transaction done in place instead of in a task and a greenlet of its own.
    Nothing is left to roll back then, so the pool's reset (`_reset_sqlite`) does no I/O. The
    commit stays SQLAlchemy's; a failure takes its rollback and shielded close."""
    conn = await engine.connect()
    done = False
    try:
        sync = conn.sync_connection
        driver = None if sync is None else sync.connection.driver_connection
        if isinstance(driver, _Inline) and driver.begin_at_once():
            assert sync is not None
            try:
                sync.begin()  # SQLAlchemy's bookkeeping: the `begin` listener finds it begun
            finally:
                driver.begun_in_place = False
        else:
            await conn.begin()  # the lock is taken: wait for it off the loop
        yield conn
        await conn.commit()
        done = True
    finally:
        await _release(conn, committed=done)


@dataclass(frozen=True)
class Database:
    """A write engine and a read engine over the same database."""

    url: str
    engine: AsyncEngine
    read_engine: AsyncEngine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def begin(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction: `engine.begin()`, with less of SQLAlchemy's machinery around it
        (`_asyncpg_transaction`, `_sqlite_transaction`)."""
        if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "asyncpg":
            return _asyncpg_transaction(self.engine)
        if self.engine.dialect.name == "sqlite":
            return _sqlite_transaction(self.engine)
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
