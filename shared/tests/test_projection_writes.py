"""A projection's `insert_row` and `update_rows` write what the Core statements would, on both
databases: values as given where no column type converts them (the driver's path), and through
Core where one does (a date-time column on SQLite), in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database
from shared.envelope import Envelope
from shared.projection import TableProjection

metadata = MetaData()
items = Table(
    "projection_writes_items",
    metadata,
    Column("item_id", String(20), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("label", String(40)),
    Column("count", Integer, nullable=False),
    Column("seen_at", DateTime(timezone=True)),
)
T0 = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


class Items(TableProjection):
    name = "items"
    tables: ClassVar = (items,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        raise NotImplementedError


async def _rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.read_engine.connect() as reader:
        result = await reader.execute(select(items).order_by(items.c.item_id, items.c.kind))
        return [tuple(row) for row in result]


async def test_rows_written_by_the_helpers_are_the_rows_core_writes(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    projection = Items()
    async with database.engine.begin() as conn:
        await projection.insert_row(
            conn, "projection_writes_items", {"item_id": "a", "kind": "x", "count": 0}
        )
        await projection.insert_row(
            conn, "projection_writes_items", {"item_id": "b", "kind": "x", "count": 5}
        )
        for _ in range(3):  # the second and third run the statement compiled by the first
            await projection.update_rows(
                conn,
                "projection_writes_items",
                {"item_id": "a", "kind": "x"},
                {"label": "counted"},
                add={"count": 2},
            )
        # A column whose type converts its value (DateTime on SQLite) goes through Core.
        await projection.update_rows(
            conn, "projection_writes_items", {"item_id": "b", "kind": "x"}, {"seen_at": T0}
        )
        await projection.update_rows(  # matches no row: nothing changes
            conn, "projection_writes_items", {"item_id": "a", "kind": "y"}, add={"count": 1}
        )
    rows = await _rows(database)
    assert [row[:4] for row in rows] == [("a", "x", "counted", 6), ("b", "x", None, 5)]
    assert rows[0][4] is None
    seen = rows[1][4]
    assert seen is not None
    assert seen.replace(tzinfo=seen.tzinfo or UTC) == T0


async def test_a_failed_transaction_takes_the_helpers_writes_with_it(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    projection = Items()
    try:
        async with database.engine.begin() as conn:
            await projection.insert_row(
                conn, "projection_writes_items", {"item_id": "a", "kind": "x", "count": 1}
            )
            raise RuntimeError("the command failed after its read model was written")
    except RuntimeError:
        pass
    assert await _rows(database) == []


async def test_a_row_the_tables_constraints_refuse_is_sqlalchemys_integrity_error(
    database: Database,
) -> None:
    """The driver's refusal is reported as SQLAlchemy reports it (`IntegrityError`), so the
    callers that turn a unique index's refusal into an answer (a 409, a duplicate skipped)
    still catch it."""
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    projection = Items()
    row = {"item_id": "a", "kind": "x", "count": 1}

    async def twice() -> None:
        async with database.engine.begin() as conn:
            await projection.insert_row(conn, "projection_writes_items", row)
            await projection.insert_row(conn, "projection_writes_items", row)

    with pytest.raises(IntegrityError):
        await twice()
    assert await _rows(database) == []
