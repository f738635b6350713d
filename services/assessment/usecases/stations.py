"""Provincial work stations (Notice §5(3)): recorded from review's `WorkstationDesignated`,
tracked only under their province's own station policy, else recorded as not assessed.

The province's policy is the version in force on the day the station's call opened (as for
the subsidy), read from the kernel's policy book: `[workstation]` with `term_years`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.policy import PolicyBook
from shared.usecase import Aggregate, CommandContext, CommandResult, Executor, retry_on_conflict

from ..domain import station
from ..domain.commands import RecordWorkstation, StationCommand
from ..domain.deadlines import station_next_due
from ..domain.policy import StationPolicy
from ..projections.workstations import workstations

SERVICE = "assessment"
SCHEDULER = CommandContext(actor="system:scheduler", correlation_id="scheduler")

STATION: Aggregate[StationCommand, station.State, Any] = Aggregate(
    "station", station.decider, lambda command: command.station_id
)


@dataclass
class StationUseCases:
    executor: Executor
    book: PolicyBook

    def station_policy(self, province: str, call_opened_on: date) -> StationPolicy | None:
        """The province's station policy in force for the call; None where it has none."""
        document = self.book.provincial(province, call_opened_on)
        if document is None:
            return None
        return StationPolicy.from_document(document.version, document.sections)

    async def when_workstation_designated_then_record_it(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        approved_on = date.fromisoformat(data["approved_on"])
        opened = data["call_opened_on"]
        call_opened_on = date.fromisoformat(opened) if opened else approved_on
        command = RecordWorkstation(
            station_id=data["station_id"],
            case_id=data["case_id"],
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            province=data["province"],
            jurisdiction=data["jurisdiction"],
            certificate_no=data["certificate_no"],
            approved_on=approved_on,
            policy=self.station_policy(data["province"], call_opened_on),
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        ctx = CommandContext.reacting_to(envelope, SERVICE)
        await self.executor.run(STATION, command, ctx=ctx, case_id=data["case_id"], conn=conn)

    # --- the scheduler ---------------------------------------------------------------------

    async def tracked_station_ids(self) -> list[str]:
        async with self.executor.db.read_engine.connect() as conn:
            query = select(workstations.c.station_id).where(workstations.c.status == "active")
            return list((await conn.execute(query)).scalars().all())

    async def meet_deadlines(self, station_id: str, now: datetime) -> int:
        state = (await self.executor.load(station.decider, STATION.stream(station_id))).state
        command = station_next_due(state, now, by=SCHEDULER.actor)
        if command is None:
            return 0

        async def attempt() -> CommandResult[station.State]:
            return await self.executor.run(STATION, command, ctx=SCHEDULER)

        result = await retry_on_conflict(attempt)
        return len(result.events)
