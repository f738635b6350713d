"""Read models in tables, fed by the service's own events, and their rebuild from the log.

A projection writes through `self.t[<table name>]`, never a module-level table, so the same
code can fill scratch copies: `rebuild_and_compare` replays the whole log into fresh tables,
in pages of many events per transaction (`REBUILD_PAGE`), and reports every row that differs
from the live read model. Live rows and the log are read from one snapshot, so commits during
the rebuild cannot show up as differences.

A rebuild hands each projection a whole page at once (`apply_many`); by default that applies
the events one by one, and a projection may override it to write set-wise (read the rows the
page touches once, fold the page in memory, write them with one `executemany`). The live path,
in the command's transaction, keeps calling `apply`.

`insert_row` and `update_rows` write one row the cheap way: each distinct statement (table,
columns) is built and compiled once per projection, for both databases, and then runs on the
driver (`shared.db.driver_rows`) in the caller's transaction. Building a Core statement per
event costs more than the rest of a command's database work (docs/performance.md).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from sqlalchemy import (
    Constraint,
    Index,
    MetaData,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as _asyncpg_dialect
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as _aiosqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ValuesBase

from shared.codec import EventRegistry, UnknownEventType
from shared.db import Database, DriverSQL, driver_rows
from shared.envelope import Envelope
from shared.schema import events
from shared.store import EventStore, settle

SCRATCH_PREFIX = "rebuild_"
#: Events per transaction of a rebuild: one page read, applied, committed.
REBUILD_PAGE = 5000


_DIALECTS: dict[str, Dialect] = {"sqlite": _aiosqlite_dialect(), "postgresql": _asyncpg_dialect()}  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A projection's statement, compiled once: the driver's SQL for each database, its
    parameters' order, and the Core statement for where the driver cannot take it (a column
    type that converts its values, a connection outside a transaction)."""

    core: ValuesBase
    sql: DriverSQL
    names: tuple[str, ...]
    #: databases whose driver gets the values as given (no column type converts them)
    plain: frozenset[str]

    @classmethod
    def of(cls, statement: ValuesBase) -> _Prepared:
        compiled = {name: statement.compile(dialect=d) for name, d in _DIALECTS.items()}
        names = tuple(compiled["sqlite"].positiontup or ())
        plain = frozenset(
            name
            for name, done in compiled.items()
            if tuple(done.positiontup or ()) == names
            and all(
                done.binds[n].type._cached_bind_processor(_DIALECTS[name]) is None for n in names
            )
        )
        sql = DriverSQL(compiled["sqlite"].string, compiled["postgresql"].string)
        return cls(statement, sql, names, plain)

    async def run(self, conn: AsyncConnection, params: dict[str, Any]) -> None:
        if conn.dialect.name in self.plain:
            done = await driver_rows(conn, self.sql, [params[n] for n in self.names])
            if done is not None:
                return
        await conn.execute(self.core, params)


class TableProjection:
    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    def __init__(self, tables: Mapping[str, Table] | None = None) -> None:
        self.t: dict[str, Table] = dict(tables) if tables else {t.name: t for t in self.tables}
        self._statements: dict[tuple[Any, ...], _Prepared] = {}

    def _prepared(self, key: tuple[Any, ...], build: Callable[[], ValuesBase]) -> _Prepared:
        prepared = self._statements.get(key)
        if prepared is None:
            prepared = self._statements[key] = _Prepared.of(build())
        return prepared

    async def insert_row(self, conn: AsyncConnection, table: str, row: Mapping[str, Any]) -> None:
        """`INSERT` `row` (column → value) into `self.t[table]`, in `conn`'s transaction."""
        columns = tuple(row)
        prepared = self._prepared(
            ("insert", table, columns),
            lambda: insert(self.t[table]).values({c: bindparam("v_" + c) for c in columns}),
        )
        await prepared.run(conn, {"v_" + c: v for c, v in row.items()})

    async def update_rows(
        self,
        conn: AsyncConnection,
        table: str,
        where: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        *,
        add: Mapping[str, Any] | None = None,
    ) -> None:
        """`UPDATE self.t[table]` where each column of `where` equals its value: set the columns
        of `values`, and add to each column of `add` its amount (`total = total + :by`)."""
        values, add = values or {}, add or {}
        key = ("update", table, tuple(where), tuple(values), tuple(add))

        def build() -> ValuesBase:
            t = self.t[table]
            return (
                update(t)
                .where(and_(*(t.c[c] == bindparam("w_" + c) for c in where)))
                .values(
                    {t.c[c]: bindparam("v_" + c) for c in values}
                    | {t.c[c]: t.c[c] + bindparam("a_" + c) for c in add}
                )
            )

        params = {"w_" + c: v for c, v in where.items()}
        params.update({"v_" + c: v for c, v in values.items()})
        params.update({"a_" + c: v for c, v in add.items()})
        await self._prepared(key, build).run(conn, params)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        raise NotImplementedError

    async def apply_many(
        self, conn: AsyncConnection, items: Sequence[tuple[Envelope, Any]]
    ) -> None:
        """Apply a page of decoded events, in log order, in one transaction (rebuilds).

        Must leave the tables as `apply` on each event in turn would. Override to write the
        page set-wise; the default does exactly that loop.
        """
        for envelope, event in items:
            await self.apply(conn, envelope, event)

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
    batch: int = REBUILD_PAGE,
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
    batch: int = REBUILD_PAGE,
) -> int:
    """Apply the log up to position `up_to` to `projections`, `batch` events a transaction.

    Each projection gets the page's decoded events through `apply_many`, one projection after
    the other (projections write tables of their own, so their order does not matter).
    """
    store = EventStore(db, registry.service)
    after, applied = 0, 0
    while after < up_to:
        with _collector_paused():
            read, after = await _replay_page(store, registry, projections, after, up_to, batch)
        if not read:
            break
        applied += read
    return applied


async def _replay_page(
    store: EventStore,
    registry: EventRegistry,
    projections: Sequence[TableProjection],
    after: int,
    up_to: int,
    batch: int,
) -> tuple[int, int]:
    """One page of `replay`: (events read, the last one's position)."""
    page = [e for e in await store.read_all(after, batch) if (e.position or 0) <= up_to]
    if not page:
        return 0, after
    items: list[tuple[Envelope, Any]] = []
    decode = registry.decode
    for envelope in page:
        try:
            items.append((envelope, decode(envelope.type, envelope.data)))
        except UnknownEventType:
            continue
    async with store.db.engine.begin() as conn:
        for projection in projections:
            await projection.apply_many(conn, items)
    return len(page), page[-1].position or after


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one page of a rebuild.

    A page holds thousands of envelopes and decoded events until it is written; with the
    collector on, each few hundred allocations make it traverse them again, and their moving
    to the oldest generation sets off full collections of the whole heap (measured: ~5 µs of
    CPU per replayed event, a third of the rebuild). The page's objects hold no reference
    cycles and are freed by reference counting when the page is done (`_replay_page`
    returns), before the collector is turned back on. The pause spans the page's write
    transaction, so other tasks of the process running meanwhile (tens of milliseconds a
    page) run without the collector too; what they leave in cycles is collected as usual
    afterwards. Left as found if it was off already (a caller's own pause, a nested rebuild).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
