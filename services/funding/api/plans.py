"""HTTP: subsidy plans and their instalments. A unit sees its own bases' plans only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.api import PAGING, Page, PageParams, keyset, page_of
from shared.decider import NotFound

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


@router.get(
    "",
    summary="Subsidy plans (finance: all; an auditor: their provinces'; a unit: its own)",
    description="Oldest approval first (then by plan id)." + PAGING,
)
async def list_plans(
    principal: PlanReader,
    usecases: UseCases,
    page: PageParams,
    base_id: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
) -> Page[PlanView]:
    limit, cursor = page
    unit, provinces = own_unit(principal), audited_provinces(principal)
    found = await usecases.queries.plans(
        base_id=base_id,
        unit_id=unit,
        provinces=provinces,
        after=keyset(cursor),
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
    return page_of(
        [PlanView.model_validate(plan) for plan in found],
        limit,
        lambda plan: f"{plan.approved_on}~{plan.plan_id}",
    )


@router.get("/{plan_id}", summary="One subsidy plan with its instalments")
async def get_plan(plan_id: str, principal: PlanReader, usecases: UseCases) -> PlanView:
    found = await usecases.queries.plans(
        plan_id=plan_id, unit_id=own_unit(principal), provinces=audited_provinces(principal)
    )
    if not found:
        raise NotFound(f"no subsidy plan {plan_id}")
    return PlanView.model_validate(found[0])
