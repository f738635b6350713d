"""Policies: how funding reacts to review's and assessment's facts (docs/contracts.md).

Each `when_<event>_then_<action>` runs inside the consumer's transaction (`conn`), reads only
the `data` fields it needs, and issues commands to the base's plans. A base's plans are found
in the `funding_plans` read model (base → plan); a fact about a base whose plan does not exist
yet is parked until the designation arrives (see `parking`), and a fact about a base its
province does not fund (`funding_not_planned`) has nothing to act on.

Which policy: a designation is planned under its province's own version in force on the day
its call opened (the approval day when the designation carries no call date); every later
fact about a plan — a hold, an exit, a renewal — applies the version the plan was made under,
the promise the province made. A new term's plan (`new_plan_on_renewal`) is made under the
province's version in force when the term starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

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
from ..domain.policy import FundingPolicy, policy_day
from ..projections.bases import not_planned
from ..projections.plans import plans
from .parking import park, unpark
from .plans import (
    PLAN,
    SERVICE_ACTOR,
    PlanUseCases,
    plan_id_for,
    provincial_subsidy,
    subsidy_policy,
)

Reaction = Callable[[AsyncConnection, Envelope], Awaitable[None]]


def _context(envelope: Envelope) -> CommandContext:
    return CommandContext.reacting_to(envelope, "funding")


def _date(data: Mapping[str, Any], field: str) -> date:
    return date.fromisoformat(data[field])


@dataclass(frozen=True, slots=True)
class Designation:
    """What a designation (of a base or a work station) tells funding."""

    base_id: str  # a station's `station_id`
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    programme: str
    approved_on: date
    call_opened_on: date | None


@dataclass
class Reactions:
    executor: Executor
    policies: PolicyBook
    plans: PlanUseCases

    def handlers(self, upstream: str) -> dict[str, Reaction]:
        """What each consumer does, by upstream event name (the names `consumes` lists)."""
        by_upstream: dict[str, dict[str, Reaction]] = {
            "review": {
                "BaseDesignated": self.when_base_designated_then_plan,
                "WorkstationDesignated": self.when_workstation_designated_then_plan,
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

    async def when_base_designated_then_plan(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        """A national base: planned under its province's `[subsidy]`, or not planned."""
        await self._designated(conn, envelope, _designation(envelope.data, "base_id"))

    async def when_workstation_designated_then_plan(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        """A provincial work station: planned only under `[workstation_subsidy]`."""
        await self._designated(conn, envelope, _designation(envelope.data, "station_id"))

    async def _designated(
        self, conn: AsyncConnection, envelope: Envelope, designation: Designation
    ) -> None:
        on = policy_day(designation.call_opened_on, designation.approved_on)
        policy = provincial_subsidy(self.policies, designation.province, designation.programme, on)
        command = CreatePlan(
            plan_id=plan_id_for(designation.base_id),
            base_id=designation.base_id,
            case_id=designation.case_id,
            unit_id=designation.unit_id,
            unit_name=designation.unit_name,
            province=designation.province,
            programme=designation.programme,
            approved_on=designation.approved_on,
            call_opened_on=designation.call_opened_on,
            policy=policy,
            at=self.executor.clock.now(),
            by=SERVICE_ACTOR,
        )
        await self._create_plan(conn, envelope, command)
        for fact in await unpark(conn, designation.base_id):
            await self.handlers(fact.service)[fact.name](conn, fact)

    async def when_renewal_granted_then_record_renewal(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        base_plans = await self._plans_of(conn, data["base_id"], envelope)
        if not base_plans:
            return  # parked until the designation, or a base its province does not fund
        term_start, term_end = _date(data, "term_start"), _date(data, "term_end")
        latest = base_plans[-1]
        active = [p for p in base_plans if p["status"] == "active"]
        if active:  # a plan closed by revocation or expiry has no term left to renew
            command = RecordRenewal(
                plan_id=active[-1]["plan_id"],
                renewal_id=data["renewal_id"],
                term_start=term_start,
                term_end=term_end,
                policy=self._policy_of(active[-1]),
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)
        if self._policy_of(latest).new_plan_on_renewal:
            province, programme = latest["province"], latest["programme"]
            new_plan = CreatePlan(
                plan_id=plan_id_for(data["base_id"], data["renewal_id"]),
                base_id=data["base_id"],
                case_id=latest["case_id"],
                unit_id=latest["unit_id"],
                unit_name=latest["unit_name"],
                province=province,
                programme=programme,
                approved_on=term_start,
                policy=provincial_subsidy(self.policies, province, programme, term_start),
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._create_plan(conn, envelope, new_plan)

    async def when_rectification_ordered_then_hold(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        for plan in await self._plans_of(conn, data["base_id"], envelope):
            command = OpenHold(
                plan_id=plan["plan_id"],
                rectification_id=data["rectification_id"],
                policy=self._policy_of(plan),
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
        for plan in await self._plans_of(conn, data["base_id"], envelope):
            command = CancelUnpaid(
                plan_id=plan["plan_id"],
                reason=reason,
                exited_on=exited_on,
                policy=self._policy_of(plan),
                at=self.executor.clock.now(),
                by=SERVICE_ACTOR,
            )
            await self._execute(conn, envelope, command)

    async def _create_plan(
        self, conn: AsyncConnection, envelope: Envelope, command: CreatePlan
    ) -> None:
        await self._execute(conn, envelope, command, case_id=command.case_id)
        # The first instalment falls due at approval: at once, not at the next tick (a base
        # not planned has nothing to fall due: the decider answers no events).
        await self.plans.mark_due(
            command.plan_id, self.executor.clock.now(), _context(envelope), conn
        )

    def _policy_of(self, plan: Mapping[str, Any]) -> FundingPolicy:
        """The province's table the plan was made under (its promise)."""
        document = self.policies.version(plan["policy_version"])
        policy = subsidy_policy(document, plan["programme"])
        if not isinstance(policy, FundingPolicy):  # the files changed under a running plan
            raise LookupError(f"policy {plan['policy_version']} no longer funds {plan['plan_id']}")
        return policy

    async def _plans_of(
        self, conn: AsyncConnection, base_id: str, envelope: Envelope
    ) -> list[dict[str, Any]]:
        """The base's plans, oldest first. None yet: the fact is parked for the designation,
        unless the base's province funds nothing (then there is nothing to act on)."""
        rows = (
            await conn.execute(
                select(plans).where(plans.c.base_id == base_id).order_by(plans.c.approved_on)
            )
        ).mappings()
        found = [dict(row) for row in rows]
        if not found and not await _not_planned(conn, base_id):
            await park(conn, base_id, envelope)
        return found

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


def _designation(data: Mapping[str, Any], id_field: str) -> Designation:
    opened = data.get("call_opened_on")  # null on reviews opened before it was carried
    return Designation(
        base_id=data[id_field],
        case_id=data["case_id"],
        unit_id=data["unit_id"],
        unit_name=data["unit_name"],
        province=data["province"],
        programme=data["programme"],
        approved_on=_date(data, "approved_on"),
        call_opened_on=None if opened is None else date.fromisoformat(opened),
    )


async def _not_planned(conn: AsyncConnection, base_id: str) -> bool:
    found = await conn.execute(
        select(not_planned.c.plan_id).where(not_planned.c.base_id == base_id).limit(1)
    )
    return found.first() is not None
