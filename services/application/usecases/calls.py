"""Calls for applications: opened by a provincial officer, closed at the deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import format_time, new_id
from shared.usecase import CommandContext, CommandResult, Executor, retry_on_conflict

from ..domain import call
from ..domain.commands import CallSnapshot, CloseCall, OpenCall
from ..domain.events import MATERIAL_SLOTS, Slot
from ..projections.calls import calls

SCHEDULER = CommandContext(actor="system:scheduler", correlation_id="scheduler")


def call_stream(call_id: str) -> str:
    return f"call-{call_id}"


@dataclass
class CallUseCases:
    executor: Executor

    async def open_call(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        province: str,
        year: int,
        title: str,
        deadline_on: date,
        deadline_time: time | None,
        required_slots: tuple[Slot, ...] = MATERIAL_SLOTS,
        allows_workstation: bool,
        paper_copies: int,
        by_jurisdiction: str,
        call_id: str | None = None,
    ) -> CommandResult[call.CallState]:
        call_id = call_id or new_id()
        command = OpenCall(
            call_id=call_id,
            province=province,
            year=year,
            title=title,
            deadline_on=deadline_on,
            deadline_time=deadline_time,
            required_slots=required_slots,
            allows_workstation=allows_workstation,
            paper_copies=paper_copies,
            at=self.executor.clock.now(),
            by=ctx.actor,
            by_jurisdiction=by_jurisdiction,
        )
        return await self.executor.execute(
            call.decider, call_stream(call_id), command, ctx=ctx, case_id=call_id, conn=conn
        )

    async def snapshot(self, call_id: str, conn: AsyncConnection | None = None) -> CallSnapshot:
        loaded = await self.executor.load(call.decider, call_stream(call_id), conn)
        return call.snapshot(loaded.state)

    async def close_due_calls(self, now: datetime) -> int:
        """Close every open call whose deadline has passed (idempotent)."""
        async with self.executor.db.read_engine.connect() as conn:
            due = (
                (
                    await conn.execute(
                        select(calls.c.call_id).where(
                            calls.c.status == "open", calls.c.deadline <= format_time(now)
                        )
                    )
                )
                .scalars()
                .all()
            )
        for call_id in due:
            command = CloseCall(call_id=call_id, at=now, by=SCHEDULER.actor)

            async def close(command: CloseCall = command) -> object:
                return await self.executor.execute(
                    call.decider, call_stream(command.call_id), command, ctx=SCHEDULER
                )

            await retry_on_conflict(close)
        return len(due)
