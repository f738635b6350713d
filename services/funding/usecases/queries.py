"""What finance, auditors and units read: the feed, the reconciliation, plans, a base's view.

The feed is the store's log itself (every event here is a funding event), paged by the global
position. On PostgreSQL a position is taken before its transaction commits, so a later
position can become visible first; the feed therefore reads under a SHARE lock on `events`,
which waits for the appends in flight to commit (or roll back) and holds new ones back for
the moment of the read: every position up to the last one served is final, and a cursor never
skips an event that committed late. SQLite runs one writer at a time, so there the order of
positions is the order of commits already.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.codec import EventRegistry
from shared.db import Database
from shared.store import EventStore

from ..domain.reconciliation import Reconciliation, reconcile
from ..projections.bases import not_planned, priority_approvals
from ..projections.plans import instalments, plans

FEED_MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[dict[str, Any]]  # {"position": n, "event": <CloudEvents envelope as stored>}
    next_cursor: int


@dataclass
class FundingQueries:
    db: Database
    store: EventStore
    registry: EventRegistry

    async def feed(self, after: int, limit: int) -> FeedPage:
        limit = max(1, min(limit, FEED_MAX_PAGE))
        page = await self.store.read_all(after, limit, settled=True)
        items = [{"position": e.position, "event": e.attributes()} for e in page]
        return FeedPage(items, page[-1].position or after if page else after)

    async def reconciliation(self, base_ids: Collection[str] | None = None) -> Reconciliation:
        """The domain's reconciliation over the log; `base_ids` limits it to those bases."""
        wanted = None if base_ids is None else set(base_ids)
        decoded = []
        async for envelope in self.store.iterate_all():
            event = self.registry.decode(envelope.type, envelope.data)
            if wanted is None or event.base_id in wanted:
                decoded.append(event)
        return reconcile(decoded)

    async def plans(
        self,
        *,
        base_id: str | None = None,
        unit_id: str | None = None,
        plan_id: str | None = None,
        provinces: Sequence[str] | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Plans with their instalments, oldest first; each filter given narrows the list.

        `provinces`: only plans of provinces these codes cover (None: every province);
        `after` (approved_on, plan_id) and `limit` page through them.
        """
        async with self.db.snapshot() as conn:  # plans and instalments as of one moment
            return await _plans(
                conn,
                base_id=base_id,
                unit_id=unit_id,
                plan_id=plan_id,
                provinces=provinces,
                after=after,
                limit=limit,
            )

    async def not_planned(self, base_id: str, unit_id: str | None = None) -> list[dict[str, Any]]:
        """The base's designations its province does not fund, with the reason, oldest first."""
        async with self.db.read_engine.connect() as conn:
            return await _not_planned(conn, base_id, unit_id)

    async def base_funding(self, base_id: str, unit_id: str | None = None) -> dict[str, Any] | None:
        """What funding says about a base (or a work station): its plans, or why it has none,
        and the priority project approval recorded for it. None: funding knows no such base
        (not designated, or its designation not yet received), or it is another unit's."""
        async with self.db.snapshot() as conn:
            found = await _plans(conn, base_id=base_id, unit_id=unit_id)
            unplanned = await _not_planned(conn, base_id, unit_id)
            priority = (
                (
                    await conn.execute(
                        select(priority_approvals.c.plan_id, priority_approvals.c.policy_version)
                        .where(priority_approvals.c.base_id == base_id)
                        .order_by(priority_approvals.c.plan_id)
                    )
                )
                .mappings()
                .first()
            )
        if not found and not unplanned:
            return None
        first = found[0] if found else unplanned[0]
        keys = ("case_id", "unit_id", "unit_name", "province", "programme", "approved_on")
        return {
            "base_id": base_id,
            **{key: first[key] for key in keys},
            "status": "planned" if found else "not_planned",
            "reason": None if found else unplanned[0]["reason"],
            "policy_version": first["policy_version"],
            "call_opened_on": first["call_opened_on"],
            "priority_project_approval": None if priority is None else dict(priority),
            "plans": found,
            "not_planned": unplanned,
        }

    async def bases_of_unit(self, unit_id: str) -> set[str]:
        async with self.db.read_engine.connect() as conn:
            rows = await conn.execute(select(plans.c.base_id).where(plans.c.unit_id == unit_id))
            return set(rows.scalars())

    async def bases_in(self, provinces: Sequence[str]) -> set[str]:
        """The bases with a plan in a province these codes cover."""
        async with self.db.read_engine.connect() as conn:
            query = select(plans.c.base_id).where(in_provinces(provinces))
            return set((await conn.execute(query)).scalars())


def in_provinces(provinces: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the plan's province lies in one of `provinces` (codes, prefixes of it)."""
    codes = [code for code in provinces if code]
    if not codes:
        return false()
    return or_(*(plans.c.province.startswith(code, autoescape=True) for code in codes))


async def _plans(
    conn: AsyncConnection,
    *,
    base_id: str | None = None,
    unit_id: str | None = None,
    plan_id: str | None = None,
    provinces: Sequence[str] | None = None,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    query = select(plans).order_by(plans.c.approved_on, plans.c.plan_id)
    if provinces is not None:
        query = query.where(in_provinces(provinces))
    if after is not None:
        query = query.where(tuple_(plans.c.approved_on, plans.c.plan_id) > tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    if base_id is not None:
        query = query.where(plans.c.base_id == base_id)
    if unit_id is not None:
        query = query.where(plans.c.unit_id == unit_id)
    if plan_id is not None:
        query = query.where(plans.c.plan_id == plan_id)
    found = [dict(row) for row in (await conn.execute(query)).mappings()]
    for plan in found:
        plan["instalments"] = await _instalments_of(conn, plan["plan_id"])
    return found


async def _not_planned(
    conn: AsyncConnection, base_id: str, unit_id: str | None
) -> list[dict[str, Any]]:
    query = (
        select(not_planned)
        .where(not_planned.c.base_id == base_id)
        .order_by(not_planned.c.approved_on, not_planned.c.plan_id)
    )
    if unit_id is not None:
        query = query.where(not_planned.c.unit_id == unit_id)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def _instalments_of(conn: AsyncConnection, plan_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(instalments).where(instalments.c.plan_id == plan_id).order_by(instalments.c.number)
    )
    return [dict(row) for row in rows.mappings()]
