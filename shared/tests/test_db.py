"""The database engines' own rules (SQLite always; PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, DriverSQL, driver_rows
from shared.faults import is_transient


async def _driver(conn: AsyncConnection) -> Any:
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


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
