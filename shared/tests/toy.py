"""A toy aggregate for the kernel's own tests: a tally that can be opened, counted and closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.codec import EventRegistry
from shared.decider import Decider, DomainError
from shared.envelope import Envelope
from shared.projection import TableProjection


@dataclass(frozen=True)
class Opened:
    tally_id: str
    name: str


@dataclass(frozen=True)
class Counted:
    tally_id: str
    by: int


@dataclass(frozen=True)
class Open:
    tally_id: str
    name: str


@dataclass(frozen=True)
class Count:
    tally_id: str
    by: int


@dataclass(frozen=True)
class Tally:
    name: str | None = None
    total: int = 0


class TallyRefused(DomainError):
    code = "tally-refused"


def decide(command: Open | Count, state: Tally) -> list[Opened | Counted]:
    match command:
        case Open() if state.name is None:
            return [Opened(command.tally_id, command.name)]
        case Open():
            return []
        case Count(by=0):
            return []
        case Count() if state.name is not None:
            return [Counted(command.tally_id, command.by)]
        case _:
            raise TallyRefused(f"cannot {type(command).__name__} now")


def evolve(state: Tally, event: Opened | Counted) -> Tally:
    match event:
        case Opened():
            return Tally(event.name, 0)
        case Counted():
            return Tally(state.name, state.total + event.by)


tally = Decider(decide=decide, evolve=evolve, initial_state=Tally)
registry = EventRegistry("toy", [Opened, Counted])

metadata = MetaData()
totals = Table(
    "toy_totals",
    metadata,
    Column("tally_id", String(40), primary_key=True),
    Column("name", String(40)),
    Column("total", Integer),
    Column("events", Integer),
)


class TotalsProjection(TableProjection):
    name = "totals"
    tables: ClassVar = (totals,)
    fail_on: ClassVar[set[int]] = set()

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case Opened():
                row = {"tally_id": event.tally_id, "name": event.name, "total": 0, "events": 1}
                await self.insert_row(conn, "toy_totals", row)
            case Counted():
                if event.by in self.fail_on:
                    raise RuntimeError("read model failure")
                await self.update_rows(
                    conn,
                    "toy_totals",
                    {"tally_id": event.tally_id},
                    add={"total": event.by, "events": 1},
                )

    async def apply_many(
        self, conn: AsyncConnection, items: Sequence[tuple[Envelope, Any]]
    ) -> None:
        """Set-wise: the page's rows read once, folded in memory, written in two statements."""
        table = self.t["toy_totals"]
        ids = {event.tally_id for _, event in items if isinstance(event, Opened | Counted)}
        if not ids:
            return
        result = await conn.execute(select(table).where(table.c.tally_id.in_(ids)))
        existing = {row.tally_id: dict(row._mapping) for row in result}
        rows = {key: dict(row) for key, row in existing.items()}
        for _, event in items:
            match event:
                case Opened():
                    if event.tally_id in rows:  # apply's INSERT would hit the primary key
                        raise ValueError(f"{event.tally_id} opened twice")
                    rows[event.tally_id] = {
                        "tally_id": event.tally_id,
                        "name": event.name,
                        "total": 0,
                        "events": 1,
                    }
                case Counted():
                    if event.by in self.fail_on:
                        raise RuntimeError("read model failure")
                    row = rows.get(event.tally_id)
                    if row is not None:  # as apply's UPDATE of no row
                        row["total"] += event.by
                        row["events"] += 1
        new = [row for key, row in rows.items() if key not in existing]
        changed = [
            {"key": key, "new_total": row["total"], "new_events": row["events"]}
            for key, row in rows.items()
            if key in existing and row != existing[key]
        ]
        if new:
            await conn.execute(insert(table), new)
        if changed:
            await conn.execute(
                update(table)
                .where(table.c.tally_id == bindparam("key"))
                .values(total=bindparam("new_total"), events=bindparam("new_events")),
                changed,
            )
