"""A year's grade list (Art. 12): proposed by the national department from the bases' proposed
grades, approved by the leading group as it stands or amended — and, in the approval's own
transaction, every grade made final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import new_id
from shared.usecase import CommandContext, CommandResult, Executor

from ..domain import grade_list
from ..domain.base_state import Active
from ..domain.commands import Amendment, ApproveGradeList, ProposeGradeList
from ..domain.errors import BaseNotGradable, GradeListIncomplete
from ..domain.events import GradeEntry, GradeListApproved, ProposedGrade
from ..domain.policy import Grade
from ..projections.base_years import base_years
from ..projections.bases import bases
from .bases import BaseUseCases
from .policy import Policies


def grade_list_id(year: int) -> str:
    """A year's list belongs to no case: its own id is its case id."""
    return f"grade-list-{year}"


def grade_list_stream(year: int) -> str:
    return grade_list_id(year)


@dataclass
class GradeListUseCases:
    executor: Executor
    policies: Policies
    bases: BaseUseCases

    async def due_for_assessment(self, year: int, conn: AsyncConnection | None = None) -> list[str]:
        """Active bases whose reporting for `year` opened, or that were scored for it."""
        query = (
            select(base_years.c.base_id)
            .join(bases, bases.c.base_id == base_years.c.base_id)
            .where(base_years.c.year == year, bases.c.status == "active")
            .order_by(base_years.c.base_id)
        )
        if conn is None:
            async with self.executor.db.read_engine.connect() as reader:
                return list((await reader.execute(query)).scalars().all())
        return list((await conn.execute(query)).scalars().all())

    async def propose(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        year: int,
        base_ids: list[str],
        expected_version: int | None = None,
    ) -> CommandResult[grade_list.State]:
        """Each base enters with the grade the department proposed for it (the suggestion, or
        another with its reason); a base due but left off (or not yet scored) refuses the
        list, so that no base escapes its assessment."""
        entries = []
        for base_id in base_ids:
            state = await self.bases.load(base_id, conn)
            graded = state.grades.get(year) if isinstance(state, Active) else None
            if graded is None or graded.final is not None:
                raise BaseNotGradable(f"{base_id} has no grade to propose for {year}")
            entries.append(ProposedGrade(base_id, graded.proposed, graded.suggested, graded.reason))
        missing = sorted(set(await self.due_for_assessment(year, conn)) - set(base_ids))
        if missing:
            raise GradeListIncomplete(f"not on the list of {year}: {', '.join(missing)}")
        now = self.executor.clock.now()
        policy = self.policies.in_force(self.bases.today())
        command = ProposeGradeList(year, tuple(entries), policy.version, at=now, by=ctx.actor)
        return await self.executor.execute(
            grade_list.decider,
            grade_list_stream(year),
            command,
            ctx=ctx,
            case_id=grade_list_id(year),
            expected_version=expected_version,
            conn=conn,
        )

    async def approve(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        *,
        year: int,
        meeting_ref: str,
        meeting_date: date,
        amendments: tuple[Amendment, ...] = (),
        expected_version: int | None = None,
    ) -> tuple[CommandResult[grade_list.State], list[GradeEntry]]:
        """Approve the list (with the leading group's amendments) and finalise each base's
        grade in the caller's one transaction: a base that cannot take its grade — or whose
        proposal changed since the list — refuses the whole approval."""
        now = self.executor.clock.now()
        command = ApproveGradeList(
            year, meeting_ref, meeting_date, at=now, by=ctx.actor, amendments=amendments
        )
        result = await self.executor.execute(
            grade_list.decider,
            grade_list_stream(year),
            command,
            ctx=ctx,
            case_id=grade_list_id(year),
            expected_version=expected_version,
            conn=conn,
        )
        finalised: list[GradeEntry] = []
        for envelope in result.events:
            approved = self.executor.registry.decode(envelope.type, envelope.data)
            if not isinstance(approved, GradeListApproved):
                continue
            policy = self.policies.version(approved.policy_version)
            amended = {a.base_id: a for a in approved.amendments}
            for entry in approved.entries:
                unqualified = entry.grade is Grade.UNQUALIFIED
                amendment = amended.get(entry.base_id)
                await self.bases.finalise_grade(
                    conn,
                    ctx,
                    base_id=entry.base_id,
                    year=approved.year,
                    grade=entry.grade,
                    proposed=amendment.proposed_grade if amendment else entry.grade,
                    amendment_reason=amendment.reason if amendment else "",
                    approved_on=approved.approved_on,
                    policy=policy,
                    rectification_id=new_id() if unqualified else None,
                )
                finalised.append(entry)
        return result, finalised
