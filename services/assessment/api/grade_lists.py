"""HTTP: the yearly grade list (年度考核等次名单), proposed by the department, approved by the
leading group; approval makes every grade on it final in the same transaction (Art. 12)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    IfMatch,
    PageParams,
    bad_cursor,
    command_context,
    command_response,
    page_of,
)
from shared.auth import CurrentPrincipal, Principal, Role, forbidden, require_roles

from ..domain.commands import Amendment
from ..domain.errors import BaseNotFound, GradeListNotFound
from ..domain.policy import GRADE_NAMES, Grade
from ..projections.bases import bases
from ..projections.grade_lists import grade_list_entries, grade_lists
from .access import can_see, visible_bases
from .dependencies import UseCases

router = APIRouter(prefix="/grade-lists", tags=["grade lists 考核等次名单"])

Department = Annotated[Principal, Depends(require_roles(Role.NATIONAL_REVIEWER))]
LeadingGroup = Annotated[Principal, Depends(require_roles(Role.LEADING_GROUP))]
Year = Annotated[int, Path(ge=2000, le=2100)]
BASE_ID = r"^[0-9A-Za-z_-]{1,64}$"
_BASE_ID = re.compile(BASE_ID)


class ProposalBody(Body):
    base_ids: list[Annotated[str, Field(pattern=BASE_ID)]] | None = Field(
        None, description="default: every base due an assessment that year", max_length=10_000
    )


class AmendmentBody(Body):
    """The leading group sets another grade for a base on the list, and says why (Art. 12)."""

    base_id: str = Field(pattern=BASE_ID)
    grade: Grade = Field(description=f"The amended grade: {GRADE_NAMES}")
    reason: str = Field(min_length=1, max_length=2000)

    def domain(self) -> Amendment:
        return Amendment(self.base_id, self.grade, self.reason)


class ApprovalBody(Body):
    meeting_ref: str = Field(min_length=1, max_length=100, examples=["LG-2024-1"])
    meeting_date: date
    amendments: list[AmendmentBody] = Field(
        default_factory=list,
        max_length=10_000,
        description="Grades the leading group sets otherwise than proposed, each with its "
        "reason; default none: the list is approved as proposed",
    )


class EntryView(Body):
    base_id: str
    unit_name: str
    jurisdiction: str
    grade: str = Field(description=f"The department's proposed grade: {GRADE_NAMES}")
    suggested_grade: str | None = Field(
        description=f"The policy's suggestion from the weighted scores: {GRADE_NAMES}"
    )
    reason: str | None = Field(description="Why the proposal differs from the suggestion")
    final_grade: str | None = Field(description=f"Once approved: {GRADE_NAMES}")
    amendment_reason: str | None = Field(description="Why the leading group amended the proposal")


class GradeListView(Body):
    year: int
    status: str
    revision: int
    meeting_ref: str | None
    approved_on: str | None
    policy_version: str
    version: int
    entries: list[EntryView] = Field(description="this page of the entries, by base id")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page of entries; null: this is the last"
    )


async def _check_reach(conn: AsyncConnection, principal: Principal, base_ids: list[str]) -> None:
    """The list is national: every base on it must lie in the caller's jurisdictions."""
    rows = (await conn.execute(select(bases).where(bases.c.base_id.in_(base_ids)))).mappings()
    found = {row["base_id"]: row for row in rows}
    for base_id in base_ids:
        if base_id not in found:
            raise BaseNotFound(f"no base {base_id}")
        if not can_see(principal, found[base_id]):
            raise forbidden(
                f"base {base_id} lies outside your jurisdictions", "base-outside-jurisdiction"
            )


@router.get(
    "/{year}",
    summary="The grade list of a year, as far as the caller may see it",
    description="The list's head, and its `entries` by base id in pages; the cursor is the"
    " last base id read." + PAGING,
)
async def get_grade_list(
    year: Year, principal: CurrentPrincipal, usecases: UseCases, page: PageParams
) -> GradeListView:
    limit, cursor = page
    if cursor is not None and not _BASE_ID.fullmatch(cursor):
        raise bad_cursor()
    async with usecases.executor.db.read_engine.connect() as conn:
        head = (
            (await conn.execute(select(grade_lists).where(grade_lists.c.year == year)))
            .mappings()
            .first()
        )
        if head is None:
            raise GradeListNotFound(f"no grade list for {year}")
        e = grade_list_entries.c
        query = (
            select(
                e.base_id, e.grade, e.suggested_grade, e.reason, e.final_grade, e.amendment_reason
            )
            .add_columns(bases.c.unit_name, bases.c.jurisdiction)
            .join(bases, bases.c.base_id == grade_list_entries.c.base_id)
            .where(grade_list_entries.c.year == year, visible_bases(principal))
            .order_by(grade_list_entries.c.base_id)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(grade_list_entries.c.base_id > cursor)
        rows = (await conn.execute(query)).mappings().all()
    entries = page_of(
        [EntryView.model_validate(dict(row)) for row in rows], limit, lambda e: e.base_id
    )
    paged = {"entries": entries.items, "next_cursor": entries.next_cursor}
    return GradeListView.model_validate(
        {**{k: head[k] for k in GradeListView.model_fields if k not in paged}, **paged}
    )


@router.post("/{year}/proposal", summary="The national department proposes the year's list")
async def propose_grade_list(
    year: Year,
    body: ProposalBody,
    request: Request,
    principal: Department,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        lists = usecases.grade_lists
        base_ids = body.base_ids
        if base_ids is None:
            base_ids = await lists.due_for_assessment(year, conn)
        await _check_reach(conn, principal, base_ids)
        result = await lists.propose(
            conn,
            command_context(request, principal),
            year=year,
            base_ids=base_ids,
            expected_version=expected,
        )
        return 200, {"year": year, "base_ids": base_ids, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{year}/approval",
    summary="The leading group approves the list, or amends grades on it: grades are final",
)
async def approve_grade_list(
    year: Year,
    body: ApprovalBody,
    request: Request,
    principal: LeadingGroup,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        listed = (
            await conn.execute(
                select(grade_list_entries.c.base_id).where(grade_list_entries.c.year == year)
            )
        ).scalars()
        await _check_reach(conn, principal, list(listed))
        result, finalised = await usecases.grade_lists.approve(
            conn,
            command_context(request, principal),
            year=year,
            meeting_ref=body.meeting_ref,
            meeting_date=body.meeting_date,
            amendments=tuple(a.domain() for a in body.amendments),
            expected_version=expected,
        )
        grades = {e.base_id: e.grade.value for e in finalised}
        return 200, {"year": year, "finalised": grades, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)
