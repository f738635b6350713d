"""HTTP: subsidy plans and their instalments. A unit sees its own bases' plans only."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.api import MAX_PAGE_SIZE, Page
from shared.decider import NotFound
from shared.problems import HTTPProblem, problem_type

from ..domain.errors import SubsidyNotPlannedError
from .dependencies import PlanReader, UseCases, audited_provinces, own_unit

router = APIRouter(prefix="/plans", tags=["plans 资助计划"])


class InstalmentView(BaseModel):
    instalment_id: str
    number: int
    amount_fen: int
    due_on: str
    stage: str
    prepared_by: str | None
    payment_ref: str | None
    paid_on: str | None
    confirmed_by: str | None
    held_for: str | None
    returned: int
    cancel_reason: str | None


class PlanView(BaseModel):
    plan_id: str
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    programme: str = Field(description="national_base | provincial_workstation")
    approved_on: str
    call_opened_on: str | None = Field(
        description="the day the base's call opened, which picked the province's policy "
        "version; null when the designation carried none (the approval day picked it)"
    )
    amount_fen: int
    total_fen: int
    policy_version: str = Field(description="the province's own version, e.g. 53-2022.1")
    status: str
    open_holds: int
    exit_reason: str | None
    exited_on: str | None
    term_end: str | None
    version: int
    instalments: list[InstalmentView]


_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})~([\w-]{1,120})")
CURSOR_PATTERN = _CURSOR.pattern


def _after(cursor: str | None) -> tuple[str, str] | None:
    if cursor is None:
        return None
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise HTTPProblem(
            422,
            "Invalid request",
            "cursor must be a next_cursor this route returned.",
            type_=problem_type("invalid-request"),
            errors=[{"location": ["query", "cursor"], "message": "not a cursor", "type": "value"}],
        )
    return match.group(1), match.group(2)


@router.get(
    "",
    summary="Subsidy plans (finance: all; an auditor: their provinces'; a unit: its own)",
    description=f"Oldest first, at most `limit` (1–{MAX_PAGE_SIZE}) a page; pass `next_cursor`"
    " as `cursor` for the next page (null: no more).",
)
async def list_plans(
    principal: PlanReader,
    usecases: UseCases,
    base_id: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=140, pattern=f"^{CURSOR_PATTERN}$")] = None,
) -> Page[PlanView]:
    unit, provinces = own_unit(principal), audited_provinces(principal)
    found = await usecases.queries.plans(
        base_id=base_id,
        unit_id=unit,
        provinces=provinces,
        after=_after(cursor),
        limit=limit + 1,
    )
    if base_id is not None and not found and cursor is None:
        unplanned = [
            row
            for row in await usecases.queries.not_planned(base_id, unit)
            if provinces is None or any(row["province"].startswith(p) for p in provinces if p)
        ]
        if unplanned:  # see GET /bases/{base_id}/funding
            raise SubsidyNotPlannedError(f"{base_id}: {unplanned[0]['reason']}")
        raise NotFound(f"no subsidy plan for base {base_id}")
    page, more = found[:limit], len(found) > limit
    next_cursor = f"{page[-1]['approved_on']}~{page[-1]['plan_id']}" if more else None
    return Page(items=[PlanView.model_validate(plan) for plan in page], next_cursor=next_cursor)


@router.get("/{plan_id}", summary="One subsidy plan with its instalments")
async def get_plan(plan_id: str, principal: PlanReader, usecases: UseCases) -> PlanView:
    found = await usecases.queries.plans(
        plan_id=plan_id, unit_id=own_unit(principal), provinces=audited_provinces(principal)
    )
    if not found:
        raise NotFound(f"no subsidy plan {plan_id}")
    return PlanView.model_validate(found[0])
