"""Calls for applications: opened by a provincial officer, closed at the deadline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import format_time, new_id
from shared.usecase import CommandContext, CommandResult, Executor, retry_on_conflict

from ..domain import call
from ..domain.commands import CallSnapshot, CloseCall, OpenCall
from ..domain.events import MATERIAL_SLOTS, Contact, Slot, SubmissionAddress
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
        additional_materials: tuple[str, ...] = (),
        contacts: tuple[Contact, ...] = (),
        submission_address: SubmissionAddress | None = None,
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
            additional_materials=additional_materials,
            contacts=contacts,
            submission_address=submission_address,
            at=self.executor.clock.now(),
            by=ctx.actor,
            by_jurisdiction=by_jurisdiction,
        )
        return await self.executor.execute(
            call.decider, call_stream(call_id), command, ctx=ctx, case_id=call_id, conn=conn
        )

    async def snapshot(self, call_id: str, conn: AsyncConnection | None = None) -> CallSnapshot:
        loaded = await self.executor.load(call.decider, call_stream(call_id), conn)
        snapshot = call.snapshot(loaded.state)
        if snapshot.opened_on is None:  # opened before the day was recorded: the event's day
            if conn is None:
                async with self.executor.db.read_engine.connect() as reader:
                    first = await self.executor.store.read_stream(reader, call_stream(call_id))
            else:
                first = await self.executor.store.read_stream(conn, call_stream(call_id))
            snapshot = replace(snapshot, opened_on=cst_date(first[0].time))
        return snapshot

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
