"""HTTP: renewal assessments (续期考核, Art. 14). Review asks for one; the national department
assesses the renewal, qualified or not with its reasons, the term's final grades before it as
evidence; its queue lists the assessments still pending."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    IfMatch,
    Page,
    PageParams,
    command_context,
    command_response,
)
from shared.auth import CurrentPrincipal, Principal, Role, require_roles

from ..domain.errors import RenewalAssessmentNotRequested
from ..domain.policy import GRADE_NAMES
from ..projections.base_years import base_years
from ..projections.bases import bases
from ..projections.renewal_assessments import renewal_assessments
from .access import base_in_reach, visible_bases
from .dependencies import UseCases

router = APIRouter(tags=["renewal assessments 续期考核"])

Department = Annotated[Principal, Depends(require_roles(Role.NATIONAL_REVIEWER))]
Id = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


class RenewalAssessmentBody(Body):
    """The national department's renewal assessment (Art. 14: 经考核合格), with its reasons."""

    qualified: bool = Field(description="合格 qualified for renewal, or not")
    reasons: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        min_length=1, max_length=20, description="Why: every assessment states its reasons"
    )


class TermGradeView(Body):
    year: int
    grade: str = Field(description=f"The year's final grade: {GRADE_NAMES}")


class RenewalAssessmentView(Body):
    renewal_id: str
    base_id: str
    case_id: str
    unit_name: str
    jurisdiction: str
    status: str = Field(
        description="pending (with the national department) | assessed | closed (the base "
        "ended, or the request was withdrawn, before an answer)"
    )
    requested_on: str | None
    term_start: str
    term_end: str
    renewal_pending_since: str | None = Field(
        description="The term ended while the renewal awaits its decision: still designated"
    )
    grades: list[TermGradeView] = Field(
        description="The evidence: the final grades of the term's years (as of the answer, "
        "once assessed)"
    )
    revocation_proposed_for: str | None
    rectifications_outstanding: list[int] = Field(
        description="Years whose rectification is ordered or reported but not yet accepted"
    )
    qualified: bool | None
    reasons: list[str] | None
    assessed_on: str | None
    assessed_by: str | None
    version: int = Field(description="The base's stream version (for If-Match)")


async def _view(conn: AsyncConnection, row: RowMapping, base: RowMapping) -> RenewalAssessmentView:
    years = (
        (
            await conn.execute(
                select(base_years)
                .where(base_years.c.base_id == base["base_id"])
                .order_by(base_years.c.year)
            )
        )
        .mappings()
        .all()
    )
    first, last = int(base["term_start"][:4]), int(base["term_end"][:4])
    if row["grades"] is not None:
        grades = json.loads(row["grades"])
    else:
        grades = [
            {"year": y["year"], "grade": y["final_grade"]}
            for y in years
            if y["final_grade"] and first <= y["year"] <= last
        ]
    outstanding = [y["year"] for y in years if y["rectification_status"] in ("ordered", "reported")]
    return RenewalAssessmentView(
        renewal_id=row["renewal_id"],
        base_id=row["base_id"],
        case_id=row["case_id"],
        unit_name=base["unit_name"],
        jurisdiction=base["jurisdiction"],
        status=row["status"],
        requested_on=row["requested_on"],
        term_start=base["term_start"],
        term_end=base["term_end"],
        renewal_pending_since=base["renewal_pending_since"],
        grades=[TermGradeView.model_validate(g) for g in grades],
        revocation_proposed_for=base["revocation_proposed_for"],
        rectifications_outstanding=outstanding,
        qualified=row["qualified"],
        reasons=json.loads(row["reasons"]) if row["reasons"] else None,
        assessed_on=row["assessed_on"],
        assessed_by=row["assessed_by"],
        version=base["version"],
    )


async def _assessment(conn: AsyncConnection, base_id: str, renewal_id: str) -> RowMapping:
    query = select(renewal_assessments).where(
        renewal_assessments.c.renewal_id == renewal_id,
        renewal_assessments.c.base_id == base_id,
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise RenewalAssessmentNotRequested(f"no renewal assessment {renewal_id} for {base_id}")
    return row


@router.get(
    "/renewal-assessments",
    summary="Renewal assessments in the caller's reach: the department's queue by default",
    description="By renewal id; the cursor is the last id read." + PAGING,
)
async def list_renewal_assessments(
    principal: CurrentPrincipal,
    usecases: UseCases,
    page: PageParams,
    status: Annotated[str, Query(pattern=r"^(pending|assessed|closed)$")] = "pending",
) -> Page[RenewalAssessmentView]:
    limit, cursor = page
    query = (
        select(renewal_assessments)
        .join(bases, bases.c.base_id == renewal_assessments.c.base_id)
        .where(renewal_assessments.c.status == status, visible_bases(principal))
        .order_by(renewal_assessments.c.renewal_id)
    )
    if cursor:
        query = query.where(renewal_assessments.c.renewal_id > cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).mappings().all()
        items = []
        for row in rows[:limit]:
            base = await base_in_reach(conn, principal, row["base_id"])
            items.append(await _view(conn, row, base))
    more = len(rows) > limit
    return Page(items=items, next_cursor=items[-1].renewal_id if more else None)


@router.get(
    "/bases/{base_id}/renewal-assessments/{renewal_id}",
    summary="One renewal assessment, with the term's grades as its evidence",
)
async def get_renewal_assessment(
    base_id: Id, renewal_id: Id, principal: CurrentPrincipal, usecases: UseCases
) -> RenewalAssessmentView:
    async with usecases.executor.db.read_engine.connect() as conn:
        base = await base_in_reach(conn, principal, base_id)
        return await _view(conn, await _assessment(conn, base_id, renewal_id), base)


@router.post(
    "/bases/{base_id}/renewal-assessments/{renewal_id}",
    summary="The national department assesses the renewal: qualified or not, with reasons",
)
async def assess_renewal(
    base_id: Id,
    renewal_id: Id,
    body: RenewalAssessmentBody,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.assess_renewal(
            conn,
            command_context(request, principal),
            base_id=base_id,
            renewal_id=renewal_id,
            qualified=body.qualified,
            reasons=tuple(body.reasons),
            expected_version=expected,
        )
        done = {"base_id": base_id, "renewal_id": renewal_id, "qualified": body.qualified}
        return 200, {**done, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)
