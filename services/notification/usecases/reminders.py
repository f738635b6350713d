"""Deadlines near: the reminders the scheduler's tick tells before a base's open deadlines.

On each tick (every few seconds, and whenever the development clock moves) the open
deadlines whose day is at most the longest lead away (`notification_deadlines`) are weighed by
the service's clock, in CST dates (`deadlines.due_lead`). For each whose lead is due and not
yet reminded, one transaction decides `Remind` on the base's `deadlines-<base id>` stream —
which answers nothing if the deadline was met, the base ended, or the lead reminded meanwhile —
and, when it decides `DeadlineReminded`, issues its notice `remind-<deadline id>-<lead>d` to
the unit's applicants as they are now (one delivery row per recipient, as every notice).

Told once per (deadline, lead, recipient): a second tick, a second replica or a restart decides
`Remind` again and finds it reminded (two at once conflict on the stream, and the retry finds
it so); the notice's own stream would decide nothing twice besides. One deadline's failure is
logged and the others' reminders still go out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select

from shared.cst import cst_date
from shared.logging import get_logger
from shared.usecase import CommandContext, Executor, retry_on_conflict

from ..domain import deadlines, notice
from ..domain.events import DeadlineReminded, Fact
from ..domain.rules import REMINDER_LEADS, REMINDER_OF, Audience
from ..projections.tables import cases
from ..projections.tables import deadlines as deadline_rows
from .delivery import ACTOR
from .recipients import recipients, unit_of_case

log = get_logger(__name__)


@dataclass
class Reminders:
    executor: Executor

    async def remind_due(self, now: datetime) -> int:
        """Tell every reminder due today (CST) by the service's clock; how many were told."""
        today = cst_date(now)
        told = 0
        for row in await self.due(today):
            try:  # one deadline's failure never holds back another's reminder
                if await retry_on_conflict(functools.partial(self.remind, row, today)):
                    told += 1
            except Exception:
                log.exception("reminder not issued", deadline_id=row.deadline_id)
        return told

    async def due(self, today: date) -> list[Any]:
        """The open deadlines with a lead come `today` (CST) and not yet reminded, whose case's
        unit is known (the others wait for it): what the tick tells, and `/metrics` counts."""
        horizon = today + timedelta(days=max(REMINDER_LEADS))
        async with self.executor.db.read_engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(deadline_rows)
                    .where(
                        deadline_rows.c.status == "open",
                        deadline_rows.c.due_on >= today.isoformat(),
                        deadline_rows.c.due_on <= horizon.isoformat(),
                        exists().where(cases.c.case_id == deadline_rows.c.case_id),
                    )
                    .order_by(deadline_rows.c.due_on, deadline_rows.c.deadline_id)
                )
            ).all()
        due = []
        for row in rows:
            due_on, known_on = date.fromisoformat(row.due_on), date.fromisoformat(row.known_on)
            lead = deadlines.due_lead(due_on, known_on, today)
            reminded = [int(days) for days in row.reminded.split()]
            if lead is not None and deadlines.still_to_remind(lead, reminded):
                due.append(row)
        return due

    async def remind(self, row: Any, today: date) -> bool:
        """Decide the reminder of `row`'s deadline due `today` and tell it, in one transaction;
        False when there is none to tell (met, ended, reminded) or its unit is not known yet."""
        async with self.executor.transaction() as conn:
            unit = await unit_of_case(conn, row.case_id)
            if unit is None:  # the case's unit not read yet: the next tick tries again
                log.debug("reminder waits for its case", deadline_id=row.deadline_id)
                return False
            decided = await self.executor.execute(
                deadlines.decider,
                f"deadlines-{row.base_id}",
                deadlines.Remind(row.base_id, row.deadline_id, today),
                ctx=CommandContext(ACTOR, correlation_id=row.deadline_id),
                case_id=row.case_id,
                conn=conn,
            )
            if not decided.events:
                return False
            envelope = decided.events[0]
            reminded = self.executor.registry.decode(envelope.type, envelope.data)
            assert isinstance(reminded, DeadlineReminded)
            deadline = decided.state.deadlines[row.deadline_id].set
            assert deadline is not None
            kind = REMINDER_OF[deadline.obligation]
            days_left = (deadline.due_on - today).days
            await self.executor.execute(
                notice.decider,
                f"notice-{reminded.notice_id}",
                notice.IssueNotice(
                    notice_id=reminded.notice_id,
                    case_id=deadline.case_id,
                    kind=kind,
                    upstream=deadline.upstream,
                    unit_id=unit.unit_id,
                    unit_name=unit.unit_name,
                    jurisdiction=unit.jurisdiction,
                    facts=(*deadline.facts, Fact("days_left", str(days_left))),
                    recipients=await recipients(conn, Audience.APPLICANTS, kind, unit),
                ),
                ctx=CommandContext(ACTOR, correlation_id=row.deadline_id),
                case_id=deadline.case_id,
                conn=conn,
            )
            return True
