"""Subsidy plans: finance's commands on an instalment, and the scheduler's falling due.

Finance addresses an instalment by its id (stable: finance's idempotency key); the
`funding_instalments` read model, written in the same transaction as the events, says which
plan holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.policy import PolicyBook, PolicyDocument
from shared.usecase import Aggregate, CommandContext, CommandResult, Executor, retry_on_conflict

from ..domain import subsidy_plan
from ..domain.commands import (
    ApproveInstalment,
    Command,
    ConfirmPayment,
    MarkDue,
    ReturnPayment,
)
from ..domain.errors import InstalmentNotFoundError
from ..domain.policy import FundingPolicy, NoSubsidy, Programme, policy_section
from ..projections.plans import instalments, plans

SERVICE_ACTOR = "system:funding"
SCHEDULER = CommandContext(actor=SERVICE_ACTOR, correlation_id="scheduler")


PLAN: Aggregate[Command, subsidy_plan.State, Any] = Aggregate(
    "plan", subsidy_plan.decider, lambda command: command.plan_id
)


def plan_stream(plan_id: str) -> str:
    return PLAN.stream(plan_id)


def plan_id_for(base_id: str, renewal_id: str | None = None) -> str:
    """Deterministic, so a designation delivered twice cannot create two plans."""
    return base_id if renewal_id is None else f"{base_id}-{renewal_id}"


def subsidy_policy(document: PolicyDocument | None, programme: str) -> FundingPolicy | NoSubsidy:
    """The programme's table (`[subsidy]`, `[workstation_subsidy]`) of a province's version."""
    if document is None:
        return NoSubsidy()
    section = policy_section(programme)
    if section is None or not document.has(section):
        return NoSubsidy(document.version)
    return FundingPolicy.from_section(document.version, document.section(section), section)


def provincial_subsidy(
    book: PolicyBook, province: str, programme: str, on: date
) -> FundingPolicy | NoSubsidy:
    """The province's own subsidy for the programme, in the version in force on `on`."""
    return subsidy_policy(book.provincial(province, on), programme)


def check_provincial_policies(book: PolicyBook) -> None:
    """Every province's subsidy tables parse: a bad file stops the service at start, not a
    consumer in the middle of the night."""
    for documents in book.provinces.values():
        for document in documents:
            for programme in Programme:
                subsidy_policy(document, programme)


@dataclass(frozen=True, slots=True)
class InstalmentLocation:
    instalment_id: str
    plan_id: str
    base_id: str
    unit_id: str
    province: str


PlanResult = CommandResult[subsidy_plan.State]


@dataclass
class PlanUseCases:
    executor: Executor

    async def locate(self, conn: AsyncConnection, instalment_id: str) -> InstalmentLocation:
        row = (
            await conn.execute(
                select(instalments.c.plan_id, plans.c.base_id, plans.c.unit_id, plans.c.province)
                .join(plans, plans.c.plan_id == instalments.c.plan_id)
                .where(instalments.c.instalment_id == instalment_id)
            )
        ).first()
        if row is None:
            raise InstalmentNotFoundError(f"no instalment {instalment_id}")
        return InstalmentLocation(
            instalment_id, row.plan_id, row.base_id, row.unit_id, row.province
        )

    async def approve(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        at: InstalmentLocation,
        *,
        expected_version: int | None = None,
    ) -> PlanResult:
        command = ApproveInstalment(
            plan_id=at.plan_id,
            instalment_id=at.instalment_id,
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def confirm_payment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        at: InstalmentLocation,
        *,
        payment_ref: str,
        paid_on: date,
        amount_fen: int,
        expected_version: int | None = None,
    ) -> PlanResult:
        command = ConfirmPayment(
            plan_id=at.plan_id,
            instalment_id=at.instalment_id,
            payment_ref=payment_ref,
            paid_on=paid_on,
            amount_fen=amount_fen,
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def return_payment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        at: InstalmentLocation,
        *,
        payment_ref: str,
        reason: str,
        expected_version: int | None = None,
    ) -> PlanResult:
        command = ReturnPayment(
            plan_id=at.plan_id,
            instalment_id=at.instalment_id,
            payment_ref=payment_ref,
            reason=reason,
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def mark_due(
        self, plan_id: str, now: datetime, ctx: CommandContext, conn: AsyncConnection | None = None
    ) -> PlanResult:
        command = MarkDue(plan_id=plan_id, at=now, by=SERVICE_ACTOR)
        return await self._execute(conn, ctx, command, None)

    async def mark_due_plans(self, now: datetime) -> int:
        """The scheduler: every open plan with a scheduled instalment whose day has come (CST)."""
        today = cst_date(now).isoformat()
        async with self.executor.db.read_engine.connect() as conn:
            found = await conn.execute(
                select(instalments.c.plan_id)
                .distinct()
                .join(plans, plans.c.plan_id == instalments.c.plan_id)
                .where(
                    plans.c.status == "active",
                    instalments.c.stage == "scheduled",
                    instalments.c.due_on <= today,
                )
                .order_by(instalments.c.plan_id)
            )
            plan_ids = list(found.scalars())
        for plan_id in plan_ids:

            async def mark(plan_id: str = plan_id) -> PlanResult:
                return await self.mark_due(plan_id, now, SCHEDULER)

            await retry_on_conflict(mark)
        return len(plan_ids)

    async def _execute(
        self,
        conn: AsyncConnection | None,
        ctx: CommandContext,
        command: Command,
        expected_version: int | None,
    ) -> PlanResult:
        return await self.executor.run(
            PLAN, command, ctx=ctx, expected_version=expected_version, conn=conn
        )
