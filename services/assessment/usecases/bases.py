"""A designated base: the commands its people give, the policies that answer the other
services' facts, and the deadlines the scheduler issues.

Review's `BaseDesignated`, `RenewalAssessmentRequested`, `RenewalGranted` and `RenewalRefused`
arrive through the consumer `assessment-from-review`; application's `RenewalRequested` and
`RenewalRequestWithdrawn` through `assessment-from-application`. Each handler runs in the
consumer's transaction (`conn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope
from shared.logging import get_logger
from shared.usecase import Aggregate, CommandContext, CommandResult, Executor, retry_on_conflict

from ..domain import base
from ..domain.commands import (
    AcceptRectification,
    AssessRenewal,
    BaseCommand,
    ConfirmRevocation,
    FileAnnualReport,
    FileRectificationReport,
    FinaliseGrade,
    ForwardReport,
    OpenRenewalAssessment,
    ProposeGrade,
    RecordRenewalRequest,
    RefuseRenewal,
    RegisterBase,
    RejectRectification,
    RenewTerm,
    ScoreBase,
    WithdrawRenewalRequest,
)
from ..domain.deadlines import next_due
from ..domain.errors import BaseNotActive
from ..domain.events import Attachment, ResourceLibrary, WorkSummary
from ..domain.policy import AssessmentPolicy, CriterionScore, Grade
from ..projections.bases import bases
from ..projections.workstations import workstations
from .policy import Policies

SERVICE = "assessment"
SCHEDULER = CommandContext(actor="system:scheduler", correlation_id="scheduler")
NATIONAL_BASE = "national_base"
#: A tick issues at most this many commands for one base: enough for decades of deadlines.
MAX_DEADLINES_PER_TICK = 500

log = get_logger(__name__)


BASE: Aggregate[BaseCommand, base.State, Any] = Aggregate(
    "base", base.decider, lambda command: command.base_id
)


def base_stream(base_id: str) -> str:
    return BASE.stream(base_id)


def _context(envelope: Envelope) -> CommandContext:
    return CommandContext.reacting_to(envelope, SERVICE)


@dataclass
class BaseUseCases:
    executor: Executor
    policies: Policies

    def today(self) -> date:
        return cst_date(self.executor.clock.now())

    async def _run(
        self,
        command: BaseCommand,
        ctx: CommandContext,
        conn: AsyncConnection | None,
        expected_version: int | None = None,
        case_id: str | None = None,
    ) -> CommandResult[base.State]:
        return await self.executor.run(
            BASE,
            command,
            ctx=ctx,
            case_id=case_id,
            expected_version=expected_version,
            conn=conn,
        )

    # --- commands given over HTTP ----------------------------------------------------------

    async def file_report(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        year: int,
        by_unit: str,
        summary: WorkSummary,
        next_year_plan: str,
        resource_library: ResourceLibrary,
        attachments: tuple[Attachment, ...],
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        command = FileAnnualReport(
            base_id=base_id,
            year=year,
            by_unit=by_unit,
            summary=summary,
            next_year_plan=next_year_plan,
            resource_library=resource_library,
            attachments=attachments,
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._run(command, ctx, conn, expected_version)

    async def forward_report(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        year: int,
        by_jurisdiction: str,
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        command = ForwardReport(base_id, year, by_jurisdiction, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def score(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        year: int,
        scores: tuple[CriterionScore, ...],
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        policy = self.policies.in_force(self.today())
        command = ScoreBase(base_id, year, scores, policy, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def propose_grade(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        year: int,
        grade: Grade,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        command = ProposeGrade(base_id, year, grade, reason, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def finalise_grade(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        year: int,
        grade: Grade,
        proposed: Grade,
        amendment_reason: str,
        approved_on: date,
        policy: AssessmentPolicy,
        rectification_id: str | None,
    ) -> CommandResult[base.State]:
        command = FinaliseGrade(
            base_id=base_id,
            year=year,
            grade=grade,
            proposed=proposed,
            amendment_reason=amendment_reason,
            approved_on=approved_on,
            policy=policy,
            at=self.executor.clock.now(),
            by=ctx.actor,
            rectification_id=rectification_id,
        )
        return await self._run(command, ctx, conn)

    async def file_rectification(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        rectification_id: str,
        by_unit: str,
        summary: str,
        attachments: tuple[Attachment, ...],
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        command = FileRectificationReport(
            base_id=base_id,
            rectification_id=rectification_id,
            by_unit=by_unit,
            summary=summary,
            attachments=attachments,
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._run(command, ctx, conn, expected_version)

    async def accept_rectification(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        rectification_id: str,
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        command = AcceptRectification(base_id, rectification_id, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def reject_rectification(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        rectification_id: str,
        reasons: tuple[str, ...],
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        command = RejectRectification(base_id, rectification_id, reasons, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def confirm_revocation(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        meeting_ref: str,
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        now = self.executor.clock.now()
        command = ConfirmRevocation(base_id, meeting_ref, at=now, by=ctx.actor)
        return await self._run(command, ctx, conn, expected_version)

    async def assess_renewal(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        base_id: str,
        renewal_id: str,
        qualified: bool,
        reasons: tuple[str, ...],
        expected_version: int | None = None,
    ) -> CommandResult[base.State]:
        command = AssessRenewal(
            base_id=base_id,
            renewal_id=renewal_id,
            qualified=qualified,
            reasons=reasons,
            policy=self.policies.in_force(self.today()),
            at=self.executor.clock.now(),
            by=ctx.actor,
        )
        return await self._run(command, ctx, conn, expected_version)

    async def load(self, base_id: str, conn: AsyncConnection | None = None) -> base.State:
        return (await self.executor.load(base.decider, base_stream(base_id), conn)).state

    # --- policies: review's facts ----------------------------------------------------------

    async def when_base_designated_then_register_base(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        if data["programme"] != NATIONAL_BASE:
            # A provincial work station (Notice §5(3)) is the province's own programme: it has
            # no national term, annual assessment or grade list, so nothing is registered here.
            return
        term_start = date.fromisoformat(data["term_start"])
        # Our policy: a base designated late in a year first reports the next year; the rule
        # of the policy version the designation applied.
        policy = self.policies.version(data["policy_version"])
        command = RegisterBase(
            base_id=data["base_id"],
            case_id=data["case_id"],
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            province=data["province"],
            jurisdiction=data["jurisdiction"],
            term_start=term_start,
            term_end=date.fromisoformat(data["term_end"]),
            policy_version=data["policy_version"],
            first_report_year=policy.first_reporting_year(term_start),
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        await self._run(command, _context(envelope), conn, case_id=data["case_id"])

    async def when_renewal_requested_then_record_request(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        command = RecordRenewalRequest(
            base_id=data["base_id"],
            renewal_id=data["renewal_id"],
            term_end=date.fromisoformat(data["term_end"]),
            requested_on=cst_date(envelope.time),  # the instant application recorded it
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        await self._on_base(conn, envelope, command)

    async def when_renewal_request_withdrawn_then_withdraw_request(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        command = WithdrawRenewalRequest(
            base_id=data["base_id"],
            renewal_id=data["renewal_id"],
            withdrawn_on=cst_date(envelope.time),
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        await self._on_base(conn, envelope, command)

    async def when_renewal_assessment_requested_then_open_renewal_assessment(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        command = OpenRenewalAssessment(
            base_id=data["base_id"],
            renewal_id=data["renewal_id"],
            policy=self.policies.in_force(self.today()),
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        await self._on_base(conn, envelope, command)

    async def when_renewal_refused_then_refuse_renewal(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        command = RefuseRenewal(
            base_id=data["base_id"],
            renewal_id=data["renewal_id"],
            # Older history has no refused_on: the refusal's own day then.
            refused_on=(
                date.fromisoformat(data["refused_on"])
                if data.get("refused_on")
                else cst_date(envelope.time)
            ),
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        await self._on_base(conn, envelope, command)

    async def when_renewal_granted_then_renew_term(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data: dict[str, Any] = envelope.data
        command = RenewTerm(
            base_id=data["base_id"],
            renewal_id=data["renewal_id"],
            certificate_no=data["certificate_no"],
            term_start=date.fromisoformat(data["term_start"]),
            term_end=date.fromisoformat(data["term_end"]),
            policy_version=data["policy_version"],
            at=self.executor.clock.now(),
            by=f"system:{SERVICE}",
        )
        # A grant for a base revoked or expired meanwhile changes nothing (the decider's
        # harmless race: review has had BaseRevoked / BaseExpired).
        await self._on_base(conn, envelope, command)

    async def _on_base(
        self, conn: AsyncConnection, envelope: Envelope, command: BaseCommand
    ) -> None:
        """Run a renewal reaction's command on its base, unless the id names a work station."""
        if not await self._is_workstation(conn, envelope.data["base_id"]):
            await self._run(command, _context(envelope), conn)

    async def _is_workstation(self, conn: AsyncConnection, some_id: str) -> bool:
        """A renewal fact about a provincial work station: not a national base, no renewal
        here (its province's policy has none); acknowledged and ignored, never dead-lettered."""
        query = select(workstations.c.station_id).where(workstations.c.station_id == some_id)
        found = (await conn.execute(query)).first() is not None
        if found:
            log.info("renewal fact about a work station ignored", station_id=some_id)
        return found

    # --- the scheduler ---------------------------------------------------------------------

    async def active_base_ids(self) -> list[str]:
        async with self.executor.db.read_engine.connect() as conn:
            query = select(bases.c.base_id).where(bases.c.status == "active")
            return list((await conn.execute(query)).scalars().all())

    async def meet_deadlines(self, base_id: str, now: datetime) -> int:
        """Issue, in date order, every command the deadlines up to `now` call for."""
        policy = self.policies.in_force(cst_date(now))
        issued = 0
        for _ in range(MAX_DEADLINES_PER_TICK):
            state = await self.load(base_id)
            command = next_due(state, now, policy, by=SCHEDULER.actor)
            if command is None:
                break

            async def attempt(command: BaseCommand = command) -> CommandResult[base.State]:
                return await self._run(command, SCHEDULER, None)

            try:
                result = await retry_on_conflict(attempt)
            except BaseNotActive:
                break  # revoked or expired between our read and the command: nothing is due
            if not result.events:
                break  # the decider found it done: stop rather than ask again
            issued += 1
        return issued
