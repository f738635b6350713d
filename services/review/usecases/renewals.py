"""Renewal requests (Art. 14): opened, completed and closed by the application service, passed on
(or returned for completeness) by the province, answered by the assessment service's renewal
assessment, decided by the nation and the general office."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope
from shared.usecase import CommandContext, CommandResult, Executor, Loaded

from ..domain import renewal_review
from ..domain.commands import (
    CloseRenewalReview,
    DeclareConflictForRenewal,
    DeclareNoConflictForRenewal,
    ForwardRenewal,
    GrantRenewal,
    OpenRenewalReview,
    RecordRenewalAssessment,
    RenewalCommand,
    ReopenRenewalReview,
    RequestRenewalAssessment,
    ReturnRenewal,
)
from ..domain.errors import RenewalConcluded, RenewalNotAwaitingAssessment, RenewalNotFound
from ..domain.events import GradeEvidence, Level
from ..domain.policy import DesignationPolicy
from .certificates import CertificateUseCases, reaction_context
from .streams import RENEWAL, renewal_stream

RenewalResult = CommandResult[renewal_review.State]


@dataclass
class RenewalUseCases:
    executor: Executor
    certificates: CertificateUseCases
    designation_policy: Callable[[date], DesignationPolicy]

    # --- reactions ---------------------------------------------------------------------

    async def when_renewal_requested_then_open_renewal_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = OpenRenewalReview(
            renewal_id=data["renewal_id"],
            case_id=data["case_id"],
            base_id=data["base_id"],
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            province=data["province"],
            jurisdiction=data["jurisdiction"],
            term_end=date.fromisoformat(data["term_end"]),
            by=reaction_context(envelope).actor,
            at=self._now(),
            statement=data.get("statement") or "",
        )
        await self._react(conn, envelope, command, case_id=command.case_id)

    async def when_renewal_request_resubmitted_then_reopen_renewal_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = ReopenRenewalReview(
            renewal_id=data["renewal_id"],
            statement=data.get("statement") or "",
            by=reaction_context(envelope).actor,
            at=self._now(),
        )
        await self._react(conn, envelope, command)

    async def when_renewal_request_withdrawn_then_close_renewal_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        command = CloseRenewalReview(
            envelope.data["renewal_id"], reaction_context(envelope).actor, self._now()
        )
        try:
            await self._react(conn, envelope, command)
        except (RenewalNotFound, RenewalConcluded):
            # Withdrawn as the renewal was being decided: the decision stands, nothing to close.
            return

    async def when_renewal_assessed_then_record_assessment(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = RecordRenewalAssessment(
            renewal_id=data["renewal_id"],
            qualified=bool(data["qualified"]),
            reasons=tuple(data.get("reasons") or ()),
            policy_version=data["policy_version"],
            by=reaction_context(envelope).actor,
            at=self._now(),
            # The refusal is dated by the department's decision, not by when we read it.
            decided_on=date.fromisoformat(data["assessed_on"]) if data.get("assessed_on") else None,
            grades=tuple(
                GradeEvidence(int(g["year"]), str(g["grade"])) for g in data.get("grades") or ()
            ),
        )
        try:
            await self._react(conn, envelope, command)
        except RenewalNotAwaitingAssessment:
            # The unit withdrew its request while the assessment ran: the answer is moot.
            return

    # --- reviewers ---------------------------------------------------------------------

    async def load(self, renewal_id: str) -> Loaded[renewal_review.State]:
        return await self.executor.load(renewal_review.decider, renewal_stream(renewal_id))

    async def declare(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        renewal_id: str,
        *,
        conflict: bool,
        reason: str,
        by_org: str,
    ) -> RenewalResult:
        command: DeclareConflictForRenewal | DeclareNoConflictForRenewal
        if conflict:
            command = DeclareConflictForRenewal(renewal_id, reason, ctx.actor, by_org, self._now())
        else:
            command = DeclareNoConflictForRenewal(renewal_id, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command)

    async def forward(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        renewal_id: str,
        *,
        opinion: str,
        by_org: str,
        expected_version: int | None = None,
    ) -> RenewalResult:
        command = ForwardRenewal(
            renewal_id, Level.PROVINCE, ctx.actor, by_org, self._now(), opinion
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def return_request(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        renewal_id: str,
        *,
        reasons: tuple[str, ...],
        by_org: str,
        expected_version: int | None = None,
    ) -> RenewalResult:
        """Back to the unit for completeness; the completed request comes back to the province."""
        command = ReturnRenewal(renewal_id, Level.PROVINCE, reasons, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command, expected_version)

    async def request_assessment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        renewal_id: str,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> RenewalResult:
        command = RequestRenewalAssessment(
            renewal_id, Level.NATIONAL, ctx.actor, by_org, self._now()
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def grant(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        renewal_id: str,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> tuple[RenewalResult, str]:
        """The plaque again (Art. 14), under a new number of this year's register; the new term
        starts the day after the old one ended, whenever the grant is made."""
        now = self._now()
        granted_on = cst_date(now)
        loaded = await self.executor.load(renewal_review.decider, renewal_stream(renewal_id), conn)
        base_id = _base_of(loaded.state)
        certificate_no = await self.certificates.issue_number(
            conn, ctx, year=granted_on.year, base_id=base_id, case_id=loaded.case_id or base_id
        )
        command = GrantRenewal(
            renewal_id,
            Level.GENERAL_OFFICE,
            certificate_no,
            self.designation_policy(granted_on),
            ctx.actor,
            by_org,
            now,
        )
        return await self._execute(conn, ctx, command, expected_version), certificate_no

    # --- the loop ----------------------------------------------------------------------

    async def _execute(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        command: RenewalCommand,
        expected_version: int | None = None,
    ) -> RenewalResult:
        return await self.executor.run(
            RENEWAL, command, ctx=ctx, expected_version=expected_version, conn=conn
        )

    async def _react(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        command: RenewalCommand,
        case_id: str | None = None,
    ) -> RenewalResult:
        return await self.executor.run(
            RENEWAL, command, ctx=reaction_context(envelope), case_id=case_id, conn=conn
        )

    def _now(self) -> datetime:
        return self.executor.clock.now()


def _base_of(state: renewal_review.State) -> str:
    if isinstance(state, renewal_review.NotRequested):
        return ""  # the grant below is refused: no such renewal request
    return state.request.base_id
