"""The organisation registry: a unit registers and amends; its CAST verifies or returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
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
from ..projections.units import units

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


async def credit_code_holder(conn: AsyncConnection, credit_code: str, unit_id: str) -> str | None:
    """Another unit registered under the credit code (as the decider will normalise it)."""
    code = unit.normal_credit_code(credit_code)
    query = select(units.c.unit_id).where(units.c.credit_code == code, units.c.unit_id != unit_id)
    return (await conn.execute(query.limit(1))).scalar()


@dataclass
class UnitUseCases:
    executor: Executor

    async def register(
        self, conn: AsyncConnection, ctx: CommandContext, unit_id: str, registration: Registration
    ) -> Result:
        """The credit code's holder is read in this transaction; the read model's unique index
        stops a concurrent registration under the same code."""
        now = self.executor.clock.now()
        holder = await credit_code_holder(conn, registration.credit_code, unit_id)
        command = RegisterUnit(
            unit_id, registration, now, ctx.actor, by_org=unit_id, credit_code_held_by=holder
        )
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
        holder = None
        if a.credit_code is not None:
            holder = await credit_code_holder(conn, a.credit_code, unit_id)
        command = AmendUnitRegistration(
            unit_id, self.executor.clock.now(), ctx.actor, unit_id, name=a.name,
            credit_code=a.credit_code, category=a.category, level=a.level,
            jurisdiction=a.jurisdiction, contacts=a.contacts, address=a.address,
            credit_code_held_by=holder,
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
