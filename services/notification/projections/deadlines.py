"""Deadlines: each base's deadlines the notifier reminds of, as the tick reads them.

One row per deadline (`notification_deadlines`): its day, the day it was known, whether it is
open, met or ended, and the leads already reminded. The tick reads the open rows near their
day; the `deadlines-<base>` stream decides each reminder again, so a row behind its stream
costs a no-op, never a second reminder.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    DeadlineMet,
    DeadlineReminded,
    DeadlineReopened,
    DeadlinesEnded,
    DeadlineSet,
)
from .tables import deadlines


class DeadlinesProjection(TableProjection):
    name = "deadlines"
    tables: ClassVar = (deadlines,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        rows = self.t[deadlines.name]
        match event:
            case DeadlineSet():
                values = {
                    "due_on": event.due_on.isoformat(),
                    "known_on": event.known_on.isoformat(),
                    "upstream": event.upstream,
                    "facts": json.dumps({f.name: f.value for f in event.facts}, ensure_ascii=False),
                }
                if await self._found(conn, event.deadline_id):  # met before it was set
                    await conn.execute(
                        update(rows).where(rows.c.deadline_id == event.deadline_id).values(values)
                    )
                else:
                    await conn.execute(insert(rows).values({**self._new(event), **values}))
            case DeadlineMet():
                if await self._found(conn, event.deadline_id):
                    await self._status(conn, event.deadline_id, "met")
                else:
                    met = {"status": "met", "upstream": event.upstream}
                    await conn.execute(insert(rows).values({**self._new(event), **met}))
            case DeadlineReopened():
                await self._status(conn, event.deadline_id, "open")
            case DeadlinesEnded():
                await conn.execute(
                    update(rows).where(rows.c.base_id == event.base_id).values(status="ended")
                )
            case DeadlineReminded():
                found = await conn.execute(
                    select(rows.c.reminded).where(rows.c.deadline_id == event.deadline_id)
                )
                leads = {int(lead) for lead in found.scalar_one().split()} | {event.lead_days}
                await conn.execute(
                    update(rows)
                    .where(rows.c.deadline_id == event.deadline_id)
                    .values(reminded=" ".join(str(lead) for lead in sorted(leads)))
                )

    @staticmethod
    def _new(event: DeadlineSet | DeadlineMet) -> dict[str, Any]:
        return {
            "deadline_id": event.deadline_id,
            "base_id": event.base_id,
            "case_id": event.case_id,
            "obligation": event.obligation,
            "status": "open",
            "reminded": "",
            "facts": "{}",
        }

    async def _found(self, conn: AsyncConnection, deadline_id: str) -> bool:
        rows = self.t[deadlines.name]
        found = await conn.execute(
            select(rows.c.deadline_id).where(rows.c.deadline_id == deadline_id)
        )
        return found.first() is not None

    async def _status(self, conn: AsyncConnection, deadline_id: str, status: str) -> None:
        rows = self.t[deadlines.name]
        await conn.execute(
            update(rows).where(rows.c.deadline_id == deadline_id).values(status=status)
        )
