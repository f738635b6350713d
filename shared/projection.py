"""Read models in tables, fed by the service's own events, and their rebuild from the log.

A projection writes through `self.t[<table name>]`, never a module-level table, so the same
code can fill scratch copies: `rebuild_and_compare` replays the whole log into fresh tables,
in batches of many events per transaction, and reports every row that differs from the live
read model. Live rows and the log are read from one snapshot, so commits during the rebuild
cannot show up as differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from sqlalchemy import Constraint, Index, MetaData, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.codec import EventRegistry, UnknownEventType
from shared.db import Database
from shared.envelope import Envelope
from shared.schema import events
from shared.store import EventStore, settle

SCRATCH_PREFIX = "rebuild_"


class TableProjection:
    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    def __init__(self, tables: Mapping[str, Table] | None = None) -> None:
        self.t: dict[str, Table] = dict(tables) if tables else {t.name: t for t in self.tables}

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        raise NotImplementedError

    def on(self, tables: Mapping[str, Table]) -> Self:
        return type(self)(tables)


@dataclass(frozen=True)
class TableDifference:
    table: str
    missing: int  # rows live has and the rebuild does not
    extra: int  # rows the rebuild has and live does not
    sample: tuple[str, ...]


def _scratch_copy(table: Table, metadata: MetaData) -> Table:
    copy = table.to_metadata(metadata, name=SCRATCH_PREFIX + table.name)
    for item in [*copy.indexes, *copy.constraints]:
        if isinstance(item, Index | Constraint) and isinstance(item.name, str):
            item.name = SCRATCH_PREFIX + item.name
    return copy


def _rows(result: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in result), key=repr)


async def rebuild_and_compare(
    db: Database,
    registry: EventRegistry,
    projections: Sequence[TableProjection],
    batch: int = 1000,
) -> list[TableDifference]:
    scratch_metadata = MetaData()
    copies = []
    for projection in projections:
        mapping = {t.name: _scratch_copy(t, scratch_metadata) for t in projection.tables}
        copies.append(projection.on(mapping))
    async with db.engine.begin() as conn:
        await conn.run_sync(scratch_metadata.drop_all)
        await conn.run_sync(scratch_metadata.create_all)
    try:
        live: dict[str, list[tuple[Any, ...]]] = {}
        snapshot = db.engine.execution_options(
            isolation_level="SERIALIZABLE" if db.is_sqlite else "REPEATABLE READ"
        )
        async with snapshot.begin() as reader:
            await settle(reader)  # no append in flight below the end we read
            up_to = int((await reader.execute(select(func.max(events.c.position)))).scalar() or 0)
            for projection in projections:
                for table in projection.tables:
                    live[table.name] = _rows(await reader.execute(select(table)))
        await replay(db, registry, copies, up_to, batch)
        differences = []
        async with db.read_engine.connect() as reader:
            for table_name, live_rows in live.items():
                scratch = scratch_metadata.tables[SCRATCH_PREFIX + table_name]
                rebuilt = _rows(await reader.execute(select(scratch)))
                if rebuilt != live_rows:
                    missing = [r for r in live_rows if r not in rebuilt]
                    extra = [r for r in rebuilt if r not in live_rows]
                    sample = tuple(repr(r) for r in (missing + extra)[:5])
                    difference = TableDifference(table_name, len(missing), len(extra), sample)
                    differences.append(difference)
        return differences
    finally:
        async with db.engine.begin() as conn:
            await conn.run_sync(scratch_metadata.drop_all)


async def replay(
    db: Database,
    registry: EventRegistry,
    projections: Sequence[TableProjection],
    up_to: int,
    batch: int = 1000,
) -> int:
    """Apply the log up to position `up_to` to `projections`, `batch` events a transaction."""
    store = EventStore(db, registry.service)
    after, applied = 0, 0
    while after < up_to:
        page = [e for e in await store.read_all(after, batch) if (e.position or 0) <= up_to]
        if not page:
            break
        async with db.engine.begin() as conn:
            for envelope in page:
                try:
                    event = registry.decode(envelope.type, envelope.data)
                except UnknownEventType:
                    continue
                for projection in projections:
                    await projection.apply(conn, envelope, event)
        applied += len(page)
        after = page[-1].position or after
    return applied
