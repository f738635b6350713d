"""The review of one application: opened, reopened and closed by the application service's
events; declarations, scores and decisions by the reviewers of each level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope
from shared.usecase import CommandContext, CommandResult, Executor, Loaded

from ..domain import review
from ..domain.commands import (
    Accept,
    CloseReview,
    DeclareConflict,
    DeclareNoConflict,
    DesignateWorkstation,
    Forward,
    IssueApproval,
    OpenReview,
    RecordLeadingGroupDecision,
    RecordScore,
    Reject,
    ReopenReview,
    ReturnToApplicant,
    ReturnToPrefecture,
    ReviewCommand,
)
from ..domain.errors import ReviewConcluded, ReviewNotFound
from ..domain.events import (
    AcceptedAtProvince,
    LeadingGroupOutcome,
    Level,
    Programme,
    ReviewClosed,
    Route,
    SubmittedFile,
)
from ..domain.policy import DesignationPolicy, WorkstationPolicy
from ..domain.review_stages import Dossier, NotOpened, State
from .certificates import CertificateUseCases, reaction_context
from .rankings import RankingUseCases
from .streams import REVIEW, ranking_id_for, review_id_for, review_stream

ReviewResult = CommandResult[State]


@dataclass
class ReviewUseCases:
    executor: Executor
    rankings: RankingUseCases
    certificates: CertificateUseCases
    designation_policy: Callable[[date], DesignationPolicy]
    workstation_policy: Callable[[str, date], WorkstationPolicy | None]

    # --- reactions to the application service ------------------------------------------

    async def when_application_submitted_then_open_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = OpenReview(
            review_id=review_id_for(data["application_id"]),
            application_id=data["application_id"],
            case_id=data["case_id"],
            call_id=data["call_id"],
            programme=Programme(data["programme"]),
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            province=data["province"],
            jurisdiction=data["jurisdiction"],
            route=Route(data["route"]),
            revision=int(data["revision"]),
            form_hash=data["form_hash"],
            files=_files(data["files"]),
            by=reaction_context(envelope).actor,
            at=self._now(),
            call_opened_on=_optional_date(data.get("call_opened_on")),
        )
        await self._react(conn, envelope, command, case_id=command.case_id)

    async def when_application_resubmitted_then_reopen_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        command = ReopenReview(
            review_id=review_id_for(data["application_id"]),
            revision=int(data["revision"]),
            unit_name=data["unit_name"],
            form_hash=data["form_hash"],
            files=_files(data["files"]),
            by=reaction_context(envelope).actor,
            at=self._now(),
            call_opened_on=_optional_date(data.get("call_opened_on")),
        )
        await self._react(conn, envelope, command)

    async def when_application_withdrawn_then_close_review(
        self, conn: AsyncConnection, envelope: Envelope
    ) -> None:
        data = envelope.data
        ctx = reaction_context(envelope)
        command = CloseReview(
            review_id_for(data["application_id"]), data.get("reason") or "", ctx.actor, self._now()
        )
        try:
            result = await self._react(conn, envelope, command)
        except (ReviewNotFound, ReviewConcluded):
            # Withdrawn before it was ever submitted, or as a reviewer concluded the review:
            # nothing is under review any more, so there is nothing to close.
            return
        for closed in self._decoded(result):
            if isinstance(closed, ReviewClosed) and closed.level is Level.PROVINCE_RECOMMENDATION:
                dossier = _dossier(result.state)
                ranking_id = ranking_id_for(dossier.call_id, dossier.province)
                await self.rankings.withdraw_candidate(conn, ctx, ranking_id, closed.application_id)

    # --- reviewers ---------------------------------------------------------------------

    async def load(self, review_id: str) -> Loaded[State]:
        return await self.executor.load(review.decider, review_stream(review_id))

    async def declare(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        conflict: bool,
        reason: str,
        by_org: str,
    ) -> ReviewResult:
        command: DeclareConflict | DeclareNoConflict
        if conflict:
            command = DeclareConflict(review_id, reason, ctx.actor, by_org, self._now())
        else:
            command = DeclareNoConflict(review_id, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command)

    async def record_scores(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        scores: list[tuple[str, int]],
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        """Several criteria at once: all recorded, or none."""
        at, result = self._now(), None
        for criterion, score in scores:
            command = RecordScore(review_id, level, criterion, score, ctx.actor, by_org, at)
            result = await self._execute(conn, ctx, command, expected_version)
            expected_version = None  # checked once, against the version the reviewer saw
        assert result is not None, "the API sends at least one score"
        return result

    async def forward(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        opinion: str,
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        command = Forward(review_id, level, ctx.actor, by_org, self._now(), opinion)
        return await self._execute(conn, ctx, command, expected_version)

    async def accept(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        opinion: str,
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        """Provincial intake passed: a national base becomes a candidate of its call's ranking;
        a work station waits for the provincial decision (never ranked)."""
        command = Accept(review_id, level, ctx.actor, by_org, self._now(), opinion)
        result = await self._execute(conn, ctx, command, expected_version)
        for accepted in self._decoded(result):
            if (
                isinstance(accepted, AcceptedAtProvince)
                and accepted.programme is Programme.NATIONAL_BASE
            ):
                await self.rankings.add_candidate(conn, ctx, accepted)
        return result

    async def return_to_applicant(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        reasons: tuple[str, ...],
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        command = ReturnToApplicant(review_id, level, reasons, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command, expected_version)

    async def return_to_prefecture(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        reasons: tuple[str, ...],
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        command = ReturnToPrefecture(review_id, level, reasons, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command, expected_version)

    async def reject(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        level: Level,
        reasons: tuple[str, ...],
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        command = Reject(review_id, level, reasons, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, command, expected_version)

    async def record_leading_group_decision(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        meeting_ref: str,
        meeting_date: date,
        members_present: tuple[str, ...],
        outcome: LeadingGroupOutcome,
        form_hash: str,
        file_hashes: tuple[str, ...],
        reasons: tuple[str, ...],
        by_org: str,
        expected_version: int | None = None,
    ) -> ReviewResult:
        command = RecordLeadingGroupDecision(
            review_id=review_id,
            level=Level.LEADING_GROUP,
            meeting_ref=meeting_ref,
            meeting_date=meeting_date,
            members_present=members_present,
            outcome=outcome,
            form_hash=form_hash,
            file_hashes=file_hashes,
            reasons=reasons,
            by=ctx.actor,
            by_org=by_org,
            at=self._now(),
        )
        return await self._execute(conn, ctx, command, expected_version)

    async def issue_approval(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        approval_no: str,
        base_id: str,
        by_org: str,
        expected_version: int | None = None,
    ) -> tuple[ReviewResult, str]:
        """批复 and plaque (Art. 8): a new base, and the next number of the year's register."""
        now = self._now()
        approved_on = cst_date(now)
        loaded = await self.executor.load(review.decider, review_stream(review_id), conn)
        certificate_no = await self.certificates.issue_number(
            conn, ctx, year=approved_on.year, base_id=base_id, case_id=loaded.case_id or base_id
        )
        command = IssueApproval(
            review_id=review_id,
            level=Level.GENERAL_OFFICE,
            base_id=base_id,
            approval_no=approval_no,
            certificate_no=certificate_no,
            policy=self.designation_policy(approved_on),
            by=ctx.actor,
            by_org=by_org,
            at=now,
        )
        # A refusal raises here and rolls the register's number back with it.
        return await self._execute(conn, ctx, command, expected_version), certificate_no

    async def designate_workstation(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        *,
        station_id: str,
        opinion: str,
        by_org: str,
        expected_version: int | None = None,
    ) -> tuple[ReviewResult, str]:
        """The provincial CAST approves a work station (Notice §5(3)): the next number of the
        province's own series, under its policy in force on the day the station's call opened
        (as funding and assessment read it; the approval day for reviews that lack it)."""
        now = self._now()
        approved_on = cst_date(now)
        loaded = await self.executor.load(review.decider, review_stream(review_id), conn)
        dossier = None if isinstance(loaded.state, NotOpened) else loaded.state.dossier
        province = "" if dossier is None else dossier.province
        policy_day = (dossier.call_opened_on if dossier else None) or approved_on
        policy = self.workstation_policy(province, policy_day)
        certificate_no = ""
        if policy is not None:
            certificate_no = await self.certificates.issue_number(
                conn,
                ctx,
                year=approved_on.year,
                base_id=station_id,
                case_id=loaded.case_id or station_id,
                station_series=(province, policy.certificate_series),
            )
        command = DesignateWorkstation(
            review_id=review_id,
            level=Level.PROVINCIAL_DECISION,
            station_id=station_id,
            certificate_no=certificate_no,
            policy=policy,
            by=ctx.actor,
            by_org=by_org,
            at=now,
            opinion=opinion,
        )
        # A refusal (no series, wrong stage) raises here and rolls the number back with it.
        return await self._execute(conn, ctx, command, expected_version), certificate_no

    # --- the loop ----------------------------------------------------------------------

    async def _execute(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        command: ReviewCommand,
        expected_version: int | None = None,
    ) -> ReviewResult:
        return await self.executor.run(
            REVIEW, command, ctx=ctx, expected_version=expected_version, conn=conn
        )

    async def _react(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        command: ReviewCommand,
        case_id: str | None = None,
    ) -> ReviewResult:
        return await self.executor.run(
            REVIEW, command, ctx=reaction_context(envelope), case_id=case_id, conn=conn
        )

    def _decoded(self, result: ReviewResult) -> list[Any]:
        return [self.executor.registry.decode(e.type, e.data) for e in result.events]

    def _now(self) -> datetime:
        return self.executor.clock.now()


def _optional_date(raw: Any) -> date | None:
    """A date field an older producer did not send yet (read tolerantly)."""
    return date.fromisoformat(raw) if isinstance(raw, str) and raw else None


def _files(raw: list[dict[str, Any]]) -> tuple[SubmittedFile, ...]:
    return tuple(SubmittedFile(f["slot"], f["name"], f["sha256"]) for f in raw)


def _dossier(state: State) -> Dossier:
    assert not isinstance(state, NotOpened), "a closed review was opened"
    return state.dossier
