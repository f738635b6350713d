"""HTTP: designated bases (工作基地) — their annual reports, scores and proposed grades,
rectifications, revocation."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    IfMatch,
    Page,
    PageParams,
    bad_cursor,
    command_context,
    command_response,
    keyset,
    page_of,
    position,
)
from shared.auth import CurrentPrincipal, Principal, Role, require_roles

from ..domain import events as ev
from ..domain.policy import GRADE_NAMES, Criterion, CriterionScore, Grade
from ..projections.base_years import base_years
from ..projections.bases import bases
from .access import base_in_reach, local_jurisdiction, visible_bases
from .dependencies import UseCases

router = APIRouter(prefix="/bases", tags=["bases 工作基地"])

Applicant = Annotated[Principal, Depends(require_roles(Role.APPLICANT))]
LocalCast = Annotated[
    Principal, Depends(require_roles(Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER))
]
Department = Annotated[Principal, Depends(require_roles(Role.NATIONAL_REVIEWER))]
LeadingGroup = Annotated[Principal, Depends(require_roles(Role.LEADING_GROUP))]
BaseId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
Year = Annotated[int, Path(ge=2000, le=2100)]
RectificationId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]

Text = Annotated[str, Field(min_length=1, max_length=5000)]


class AttachmentBody(Body):
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    def domain(self) -> ev.Attachment:
        return ev.Attachment(self.name, self.media_type, self.size, self.sha256)


class WorkSummaryBody(Body):
    """Art. 10: the year's results and the difficulties met."""

    talent_introduced: Text
    projects_landed: Text
    academic_exchanges: Text
    technical_innovation: Text
    difficulties: Text


class ResourceLibraryBody(Body):
    """Art. 11(3): counts in the HaiZhi resource library and when it was last updated."""

    overseas_societies: int = Field(ge=0)
    haizhi_projects: int = Field(ge=0)
    overseas_talents: int = Field(ge=0)
    last_updated_on: date


class AnnualReportBody(Body):
    summary: WorkSummaryBody
    next_year_plan: Text
    resource_library: ResourceLibraryBody
    attachments: list[AttachmentBody] = Field(default_factory=list, max_length=20)


class ScoresBody(Body):
    """Art. 11: each criterion scored 0..100; the policy weighs them."""

    annual_plan: int = Field(ge=0, le=100)
    local_activities: int = Field(ge=0, le=100)
    resource_library: int = Field(ge=0, le=100)
    project_follow_up: int = Field(ge=0, le=100)
    overseas_channels: int = Field(ge=0, le=100)

    def domain(self) -> tuple[CriterionScore, ...]:
        return tuple(CriterionScore(c, getattr(self, c.value)) for c in Criterion)


class GradeProposalBody(Body):
    """Art. 12: the department proposes the year's grade; a grade other than the policy's
    suggestion needs a written reason."""

    grade: Grade = Field(description=f"The proposed grade: {GRADE_NAMES}")
    reason: str = Field(
        "",
        max_length=2000,
        description="Required when the grade differs from the suggested grade (建议等次)",
    )


class RectificationReportBody(Body):
    summary: Text
    attachments: list[AttachmentBody] = Field(default_factory=list, max_length=20)


class RejectionBody(Body):
    reasons: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(min_length=1)


class RevocationBody(Body):
    meeting_ref: str = Field(min_length=1, max_length=100, examples=["LG-2025-2"])


class BaseView(Body):
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    status: str
    term_start: str
    term_end: str
    renewal_window_opens_on: str | None
    revocation_proposed_for: str | None
    ended_on: str | None
    ended_reason: str | None = Field(
        description="revoked | term_ended | renewal_refused | renewal_withdrawn"
    )
    first_report_year: int | None = Field(
        description="The first year reported and assessed: the year after designation when "
        "designated in the policy's last days of a year"
    )
    renewal_id: str | None = Field(description="The unit's open renewal request for this term")
    renewal_requested_on: str | None
    renewal_pending_since: str | None = Field(
        description="Set when the term ended while the renewal request awaited review's "
        "decision: the base stays designated (续期待定) until then"
    )
    version: int


class YearView(Body):
    year: int
    report_status: str
    opens_on: str | None
    due_on: str | None
    reminders_sent: str
    report_overdue: bool
    filed_on: str | None
    filed_late: bool | None
    report: dict[str, Any] | None
    forwarded_via: str | None
    forwarded_on: str | None
    scores: dict[str, int] | None
    weighted_total: str | None
    missing_report: bool | None
    suggested_grade: str | None = Field(
        description=f"The policy's suggestion from the weighted scores: {GRADE_NAMES}"
    )
    proposed_grade: str | None = Field(description=f"The department's proposal: {GRADE_NAMES}")
    proposal_reason: str | None = Field(
        description="Why the department proposed a grade other than the suggestion"
    )
    final_grade: str | None = Field(description=f"As the leading group approved it: {GRADE_NAMES}")
    amendment_reason: str | None = Field(
        description="Why the leading group amended the department's proposal"
    )
    approved_on: str | None
    commended: bool
    rectification_id: str | None
    rectification_status: str | None
    rectification_deadline: str | None
    rectification_overdue: bool
    rectification_rejections: int


def _view(row: Any) -> BaseView:
    return BaseView.model_validate({k: row[k] for k in BaseView.model_fields})


def _year_view(row: Any) -> YearView:
    values = {k: row[k] for k in YearView.model_fields}
    for blob in ("report", "scores"):
        values[blob] = json.loads(row[blob]) if row[blob] else None
    return YearView.model_validate(values)


def _done(result: Any, **ids: object) -> tuple[int, dict[str, Any]]:
    return 200, {**ids, "version": result.version}


# --- queries -------------------------------------------------------------------------------


@router.get(
    "",
    summary="Bases by status and jurisdiction, or whose term ends within N days",
    description="By base id; the cursor is the last id read." + PAGING,
)
async def list_bases(
    principal: CurrentPrincipal,
    usecases: UseCases,
    page: PageParams,
    status: Annotated[str | None, Query(pattern=r"^(active|revoked|expired)$")] = None,
    jurisdiction: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    ending_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
) -> Page[BaseView]:
    limit, cursor = page
    query = select(bases).where(visible_bases(principal)).order_by(bases.c.base_id)
    if status:
        query = query.where(bases.c.status == status)
    if jurisdiction:
        query = query.where(bases.c.jurisdiction.startswith(jurisdiction, autoescape=True))
    if ending_within_days is not None:
        today = usecases.bases.today()
        last = today + timedelta(days=ending_within_days)
        query = query.where(
            bases.c.status == "active",
            bases.c.term_end >= today.isoformat(),
            bases.c.term_end <= last.isoformat(),
        )
    if cursor:
        query = query.where(bases.c.base_id > cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).mappings().all()
    items = [_view(row) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].base_id if more else None)


class BaseYearView(YearView):
    base_id: str


@router.get(
    "/years",
    summary="The years of every base in reach (of a status, of a year)",
    description="The campaign's view in one call: each row a base's year, as"
    " `GET /bases/{base_id}/years` gives it, with its `base_id`. By base id, then year; the"
    " cursor is the last row's `<year>~<base_id>`." + PAGING,
)
async def years_of_bases(
    principal: CurrentPrincipal,
    usecases: UseCases,
    page: PageParams,
    status: Annotated[str | None, Query(pattern=r"^(active|revoked|expired)$")] = None,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
) -> Page[BaseYearView]:
    limit, cursor = page
    after = keyset(cursor)
    if after is not None and not (after[0].isascii() and after[0].isdigit()):
        raise bad_cursor()
    query = (
        select(base_years)
        .join(bases, bases.c.base_id == base_years.c.base_id)
        .where(visible_bases(principal))
        .order_by(base_years.c.base_id, base_years.c.year)
    )
    if status:
        query = query.where(bases.c.status == status)
    if year is not None:
        query = query.where(base_years.c.year == year)
    if after is not None:
        query = query.where(
            tuple_(base_years.c.base_id, base_years.c.year) > tuple_(after[1], int(after[0]))
        )
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).mappings().all()
    views = [
        BaseYearView.model_validate({**_year_view(row).model_dump(), "base_id": row["base_id"]})
        for row in rows
    ]
    return page_of(views, limit, lambda row: f"{row.year}~{row.base_id}")


@router.get("/{base_id}", summary="One base")
async def get_base(base_id: BaseId, principal: CurrentPrincipal, usecases: UseCases) -> BaseView:
    async with usecases.executor.db.read_engine.connect() as conn:
        return _view(await base_in_reach(conn, principal, base_id))


@router.get(
    "/{base_id}/years",
    summary="The base's years: report, score, grade, rectification",
    description="Oldest year first; the cursor is the last year read." + PAGING,
)
async def base_years_of(
    base_id: BaseId, principal: CurrentPrincipal, usecases: UseCases, page: PageParams
) -> Page[YearView]:
    limit, cursor = page
    after = position(cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        await base_in_reach(conn, principal, base_id)
        query = select(base_years).where(base_years.c.base_id == base_id, base_years.c.year > after)
        query = query.order_by(base_years.c.year).limit(limit + 1)
        rows = (await conn.execute(query)).mappings().all()
    return page_of([_year_view(row) for row in rows], limit, lambda row: str(row.year))


# --- annual reports (Art. 10) --------------------------------------------------------------


@router.post("/{base_id}/years/{year}/report", summary="The base's unit files its annual report")
async def file_annual_report(
    base_id: BaseId,
    year: Year,
    body: AnnualReportBody,
    request: Request,
    principal: Applicant,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        s, lib = body.summary, body.resource_library
        result = await usecases.bases.file_report(
            conn,
            command_context(request, principal),
            base_id=base_id,
            year=year,
            by_unit=principal.org_id or "",
            summary=ev.WorkSummary(**s.model_dump()),
            next_year_plan=body.next_year_plan,
            resource_library=ev.ResourceLibrary(**lib.model_dump()),
            attachments=tuple(a.domain() for a in body.attachments),
            expected_version=expected,
        )
        return _done(result, base_id=base_id, year=year)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{base_id}/years/{year}/forwarding", summary="The local CAST forwards the report")
async def forward_annual_report(
    base_id: BaseId,
    year: Year,
    request: Request,
    principal: LocalCast,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        row = await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.forward_report(
            conn,
            command_context(request, principal),
            base_id=base_id,
            year=year,
            by_jurisdiction=local_jurisdiction(principal, row),
            expected_version=expected,
        )
        return _done(result, base_id=base_id, year=year)

    return await command_response(request, usecases.executor, principal, key, action)


# --- annual assessment (Art. 11–12) --------------------------------------------------------


@router.post("/{base_id}/years/{year}/score", summary="The national department scores the year")
async def score_base(
    base_id: BaseId,
    year: Year,
    body: ScoresBody,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.score(
            conn,
            command_context(request, principal),
            base_id=base_id,
            year=year,
            scores=body.domain(),
            expected_version=expected,
        )
        return _done(result, base_id=base_id, year=year)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{base_id}/years/{year}/grade-proposal",
    summary="The national department proposes the year's grade (another than the suggestion "
    "with a written reason)",
)
async def propose_grade(
    base_id: BaseId,
    year: Year,
    body: GradeProposalBody,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.propose_grade(
            conn,
            command_context(request, principal),
            base_id=base_id,
            year=year,
            grade=body.grade,
            reason=body.reason,
            expected_version=expected,
        )
        return _done(result, base_id=base_id, year=year, grade=body.grade.value)

    return await command_response(request, usecases.executor, principal, key, action)


# --- rectification (Art. 12) ---------------------------------------------------------------


@router.post(
    "/{base_id}/rectifications/{rectification_id}/report",
    summary="The base's unit files its rectification report",
)
async def file_rectification_report(
    base_id: BaseId,
    rectification_id: RectificationId,
    body: RectificationReportBody,
    request: Request,
    principal: Applicant,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.file_rectification(
            conn,
            command_context(request, principal),
            base_id=base_id,
            rectification_id=rectification_id,
            by_unit=principal.org_id or "",
            summary=body.summary,
            attachments=tuple(a.domain() for a in body.attachments),
            expected_version=expected,
        )
        return _done(result, base_id=base_id, rectification_id=rectification_id)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{base_id}/rectifications/{rectification_id}/acceptance",
    summary="The national department accepts the rectification",
)
async def accept_rectification(
    base_id: BaseId,
    rectification_id: RectificationId,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.accept_rectification(
            conn,
            command_context(request, principal),
            base_id=base_id,
            rectification_id=rectification_id,
            expected_version=expected,
        )
        return _done(result, base_id=base_id, rectification_id=rectification_id)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{base_id}/rectifications/{rectification_id}/rejection",
    summary="The national department rejects the rectification report, with reasons",
)
async def reject_rectification(
    base_id: BaseId,
    rectification_id: RectificationId,
    body: RejectionBody,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.reject_rectification(
            conn,
            command_context(request, principal),
            base_id=base_id,
            rectification_id=rectification_id,
            reasons=tuple(body.reasons),
            expected_version=expected,
        )
        return _done(result, base_id=base_id, rectification_id=rectification_id)

    return await command_response(request, usecases.executor, principal, key, action)


# --- revocation (Art. 13) ------------------------------------------------------------------


@router.post("/{base_id}/revocation", summary="The leading group confirms a proposed revocation")
async def confirm_revocation(
    base_id: BaseId,
    body: RevocationBody,
    request: Request,
    principal: LeadingGroup,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await base_in_reach(conn, principal, base_id)
        result = await usecases.bases.confirm_revocation(
            conn,
            command_context(request, principal),
            base_id=base_id,
            meeting_ref=body.meeting_ref,
            expected_version=expected,
        )
        return _done(result, base_id=base_id)

    return await command_response(request, usecases.executor, principal, key, action)
