"""`is_transient` on real failures: a real full SQLite database, a real lost PostgreSQL
connection, and the deterministic errors that must stay poison."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database, open_database
from shared.faults import is_transient


def fill(connection: sqlite3.Connection) -> sqlite3.Error:
    """Insert into a database held to its current size until SQLite says it is full."""
    connection.execute("CREATE TABLE pad (body TEXT)")
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 2}")
    try:
        for _ in range(100):
            connection.execute("INSERT INTO pad VALUES (?)", ("x" * 8000,))
    except sqlite3.Error as full:
        return full
    raise AssertionError("the database never filled")


def test_a_full_sqlite_database_is_transient(tmp_path: Path) -> None:
    full = fill(sqlite3.connect(tmp_path / "small.db", isolation_level=None))
    assert "database or disk is full" in str(full)
    assert full.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert is_transient(full)


async def test_a_full_sqlite_database_through_sqlalchemy_is_transient(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'small.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE pad (body TEXT)"))

        async def fill_it() -> None:
            async with db.engine.begin() as conn:
                pages = (await conn.execute(text("PRAGMA page_count"))).scalar()
                await conn.execute(text(f"PRAGMA max_page_count = {pages}"))
                for _ in range(100):
                    await conn.execute(text("INSERT INTO pad VALUES (:b)"), {"b": "x" * 8000})

        with pytest.raises(DBAPIError) as raised:
            await fill_it()
        assert "database or disk is full" in str(raised.value)
        assert is_transient(raised.value)
    finally:
        await db.dispose()


async def test_deterministic_database_errors_are_not_transient(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE once (id INTEGER PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO once VALUES (1)"))
    with pytest.raises(DBAPIError) as duplicate:
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO once VALUES (1)"))
    assert not is_transient(duplicate.value)
    with pytest.raises(DBAPIError) as missing:
        async with database.engine.begin() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_transient(missing.value)


@pytest.mark.postgresql_only
async def test_a_lost_postgresql_connection_is_transient(database: Database) -> None:
    async with database.engine.connect() as victim:
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar()
        await victim.commit()
        async with database.engine.connect() as admin:  # a failover or an admin's kill
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            await victim.execute(text("SELECT 1"))
    assert is_transient(lost.value)
    async with database.engine.connect() as again:  # the pool reconnects
        assert (await again.execute(text("SELECT 1"))).scalar() == 1


@pytest.mark.postgresql_only
async def test_an_admin_shutdown_of_our_own_session_is_transient(database: Database) -> None:
    with pytest.raises(DBAPIError) as shut:
        async with database.engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert is_transient(shut.value)


@pytest.mark.postgresql_only
async def test_a_lock_timeout_is_transient(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE locked (id INTEGER PRIMARY KEY)"))

    async def read_locked() -> None:
        async with database.engine.begin() as conn:
            await conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
            await conn.execute(text("SELECT * FROM locked"))

    async with database.engine.connect() as holder:
        await holder.execute(text("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(DBAPIError) as timed_out:
            await read_locked()
        await holder.rollback()
    assert is_transient(timed_out.value)


async def test_connection_and_os_errors() -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncio.open_connection("127.0.0.1", 1)  # nothing listens on port 1
    assert is_transient(refused.value)
    assert is_transient(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_transient(FileNotFoundError(errno.ENOENT, "no such file"))


def test_a_wrapped_transient_failure_is_transient_and_a_refusal_is_not() -> None:
    full = fill(sqlite3.connect(":memory:", isolation_level=None))
    wrapped = RuntimeError("could not record the payment")
    wrapped.__cause__ = full  # what `raise ... from full` sets
    assert is_transient(wrapped)
    assert not is_transient(ValueError("no such plan"))
    assert not is_transient(RuntimeError("this message always fails"))
