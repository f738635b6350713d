"""The organisation registry: a unit registers and amends; its CAST verifies or returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.usecase import Aggregate, CommandContext, CommandResult, Executor

from ..domain import unit
from ..domain.commands import (
    AmendUnitRegistration,
    RegisterUnit,
    Registration,
    ReturnUnitRegistration,
    UnitCommand,
    UnitSnapshot,
    VerifyUnit,
)
from ..domain.events import Category, Contact, Level, Office

Result = CommandResult[unit.State]

UNIT: Aggregate[UnitCommand, unit.State, Any] = Aggregate(
    "unit", unit.decider, lambda command: command.unit_id
)


@dataclass(frozen=True, slots=True)
class Amendment:
    name: str | None = None
    credit_code: str | None = None
    category: Category | None = None
    level: Level | None = None
    jurisdiction: str | None = None
    contacts: tuple[Contact, ...] | None = None
    address: str | None = None


@dataclass
class UnitUseCases:
    executor: Executor

    async def register(
        self, conn: AsyncConnection, ctx: CommandContext, unit_id: str, registration: Registration
    ) -> Result:
        now = self.executor.clock.now()
        command = RegisterUnit(unit_id, registration, now, ctx.actor, by_org=unit_id)
        return await self._run(conn, ctx, command)

    async def amend(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        unit_id: str,
        amendment: Amendment,
        *,
        expected_version: int | None = None,
    ) -> Result:
        a = amendment
        command = AmendUnitRegistration(
            unit_id, self.executor.clock.now(), ctx.actor, unit_id, name=a.name,
            credit_code=a.credit_code, category=a.category, level=a.level,
            jurisdiction=a.jurisdiction, contacts=a.contacts, address=a.address,
        )  # fmt: skip
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def verify(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        unit_id: str,
        office: Office,
        opinion: str | None,
    ) -> Result:
        now = self.executor.clock.now()
        command = VerifyUnit(unit_id, office, now, ctx.actor, opinion)
        return await self._run(conn, ctx, command)

    async def return_registration(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        unit_id: str,
        office: Office,
        reasons: tuple[str, ...],
    ) -> Result:
        now = self.executor.clock.now()
        command = ReturnUnitRegistration(unit_id, office, reasons, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def snapshot(
        self, unit_id: str, conn: AsyncConnection | None = None
    ) -> UnitSnapshot | None:
        loaded = await self.executor.load(unit.decider, UNIT.stream(unit_id), conn)
        return unit.snapshot(loaded.state)

    async def _run(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        command: UnitCommand,
        *,
        expected_version: int | None = None,
    ) -> Result:
        return await self.executor.run(
            UNIT, command, ctx=ctx, case_id=command.unit_id, expected_version=expected_version,
            conn=conn,
        )  # fmt: skip
