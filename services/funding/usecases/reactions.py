"""Policies: how funding reacts to review's and assessment's facts (docs/contracts.md).

Each `when_<event>_then_<action>` runs inside the consumer's transaction (`conn`), reads only
the `data` fields it needs, and issues commands to the base's plans. A base's plans are found
in the `funding_plans` read model (base → plan); a fact about a base whose plan does not exist
yet is parked until the designation arrives (see `parking`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope
from shared.policy import PolicyBook
from shared.usecase import CommandContext, Executor

from ..domain.commands import (
    CancelUnpaid,
    Command,
    CreatePlan,
    OpenHold,
    RecordRenewal,
    ReleaseHold,
)
from ..domain.events import ExitReason
from ..projections.plans import plans
from .parking import park, unpark
from .plans import PLAN, SERVICE_ACTOR, PlanUseCases, funding_policy, plan_id_for

FUNDED_PROGRAMME = "national_base"  # Notice §4: only national work bases get the subsidy

Reaction = Callable[[AsyncConnection, Envelope], Awaitable[None]]


def _context(envelope: Envelope) -> CommandContext:
    return CommandContext.reacting_to(envelope, "funding")


def _date(data: Mapping[str, Any], field: str) -> date:
    return date.fromisoformat(data[field])


@dataclass
class Reactions:
    executor: Executor
    policies: PolicyBook
    plans: PlanUseCases

    def handlers(self, upstream: str) -> dict[str, Reaction]:
        """What each consumer does, by upstream event name (the names `consumes` lists)."""
        by_upstream: dict[str, dict[str, Reaction]] = {
            "review": {
                "BaseDesignated": self.when_base_designated_then_create_plan,
                "RenewalGranted": self.when_renewal_granted_then_record_renewal,
            },
            "assessment": {
                "RectificationOrdered": self.when_rectification_ordered_then_hold,
                "RectificationAccepted": self.when_rectification_accepted_then_release,
                "BaseRevoked": self.when_base_left_then_cancel_unpaid,
                "BaseExpired": self.when_base_left_then_cancel_unpaid,
            },
        }
        return by_upstream[upstream]

    async def when_base_designated_then_create_plan(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        if data["programme"] != FUNDED_PROGRAMME:
            return  # a provincial work station: no subsidy plan (the decider would refuse it)
        approved_on = _date(data, "approved_on")
        plan_id = plan_id_for(data["base_id"])
        await self._create_plan(
            conn,
            envelope,
            plan_id=plan_id,
            base_id=data["base_id"],
            case_id=data["case_id"],
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            province=data["province"],
            approved_on=approved_on,
        )
        for fact in await unpark(conn, data["base_id"]):
            await self.handlers(fact.service)[fact.name](conn, fact)

    async def when_renewal_granted_then_record_renewal(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        base_plans = await self._plans_of(conn, data["base_id"], envelope)
        if not base_plans:
            return
        term_start, term_end = _date(data, "term_start"), _date(data, "term_end")
        policy = funding_policy(self.policies, term_start)
        active = [p for p in base_plans if p["status"] == "active"]
        if active:  # a plan closed by revocation or expiry has no term left to renew
            command = RecordRenewal(
                plan_id=active[-1]["plan_id"],
                renewal_id=data["renewal_id"],
                term_start=term_start,
                term_end=term_end,
                policy=policy,
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)
        if policy.new_plan_on_renewal:
            latest = base_plans[-1]
            await self._create_plan(
                conn,
                envelope,
                plan_id=plan_id_for(data["base_id"], data["renewal_id"]),
                base_id=data["base_id"],
                case_id=latest["case_id"],
                unit_id=latest["unit_id"],
                unit_name=latest["unit_name"],
                province=latest["province"],
                approved_on=term_start,
            )

    async def when_rectification_ordered_then_hold(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        policy = funding_policy(self.policies, self._today())
        for plan in await self._plans_of(conn, data["base_id"], envelope):
            command = OpenHold(
                plan_id=plan["plan_id"],
                rectification_id=data["rectification_id"],
                policy=policy,
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)

    async def when_rectification_accepted_then_release(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        for plan in await self._plans_of(conn, data["base_id"], envelope):
            command = ReleaseHold(
                plan_id=plan["plan_id"],
                rectification_id=data["rectification_id"],
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)

    async def when_base_left_then_cancel_unpaid(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        """`BaseRevoked` (Art. 13, `revoked_on`) or `BaseExpired` (Art. 14, `expired_on`)."""
        data = envelope.data
        if envelope.name == "BaseRevoked":
            reason, exited_on = ExitReason.REVOKED, _date(data, "revoked_on")
        else:
            reason, exited_on = ExitReason.EXPIRED, _date(data, "expired_on")
        policy = funding_policy(self.policies, exited_on)
        for plan in await self._plans_of(conn, data["base_id"], envelope):
            command = CancelUnpaid(
                plan_id=plan["plan_id"],
                reason=reason,
                exited_on=exited_on,
                policy=policy,
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)

    async def _create_plan(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        *,
        plan_id: str,
        base_id: str,
        case_id: str,
        unit_id: str,
        unit_name: str,
        province: str,
        approved_on: date,
    ) -> None:
        command = CreatePlan(
            plan_id=plan_id,
            base_id=base_id,
            case_id=case_id,
            unit_id=unit_id,
            unit_name=unit_name,
            province=province,
            programme=FUNDED_PROGRAMME,
            approved_on=approved_on,
            policy=funding_policy(self.policies, approved_on),
            at=self.executor.clock.now(),
            by=SERVICE_ACTOR,
        )
        await self._execute(conn, envelope, command, case_id=case_id)
        # The first instalment falls due at approval: at once, not at the next tick.
        await self.plans.mark_due(plan_id, self.executor.clock.now(), _context(envelope), conn)

    async def _plans_of(
        self, conn: AsyncConnection, base_id: str, envelope: Envelope
    ) -> list[dict[str, Any]]:
        """The base's plans, oldest first; none yet means the fact is parked for later."""
        rows = (
            await conn.execute(
                select(plans).where(plans.c.base_id == base_id).order_by(plans.c.approved_on)
            )
        ).mappings()
        found = [dict(row) for row in rows]
        if not found:
            await park(conn, base_id, envelope)
        return found

    def _today(self) -> date:
        return cst_date(self.executor.clock.now())

    async def _execute(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        command: Command,
        case_id: str | None = None,
    ) -> None:
        await self.executor.run(
            PLAN, command, ctx=_context(envelope), case_id=case_id or envelope.caseid, conn=conn
        )
