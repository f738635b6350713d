"""HTTP: a base's funding view — its plans, or why its province funds none, and 优先立项."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from shared.decider import NotFound

from .dependencies import PlanReader, UseCases, audited_provinces, own_unit
from .plans import PlanView

router = APIRouter(prefix="/bases", tags=["plans 资助计划"])


class NotPlannedView(BaseModel):
    plan_id: str = Field(description="the plan the designation would have had; none exists")
    programme: str
    approved_on: str
    call_opened_on: str | None
    policy_version: str | None = Field(
        description="the province's version in force, which has no table for the programme; "
        "null when the province had no version in force"
    )
    reason: str = Field(description="why there is no plan, 中文 / English")


class PriorityApprovalView(BaseModel):
    plan_id: str
    policy_version: str = Field(description="the province's version that promises it")


class BaseFundingView(BaseModel):
    base_id: str = Field(description="the base's id; a provincial work station's `station_id`")
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    programme: str = Field(description="national_base | provincial_workstation")
    approved_on: str
    call_opened_on: str | None = Field(
        description="the day the call opened, which picked the province's policy version; "
        "null when the designation carried none (then the approval day picked it)"
    )
    status: Literal["planned", "not_planned"] = Field(
        description="planned: a subsidy plan under the province's policy (资助计划); "
        "not_planned: the province funds nothing for it (未列入补助), see `reason`"
    )
    reason: str | None = Field(description="why not planned, 中文 / English; null if planned")
    policy_version: str | None = Field(description="the province's version that decided it")
    priority_project_approval: PriorityApprovalView | None = Field(
        description="优先立项 (Notice §4): recorded when the province's policy promises it"
    )
    plans: list[PlanView]
    not_planned: list[NotPlannedView]


BaseId = Annotated[str, Path(min_length=1, max_length=120)]


@router.get(
    "/{base_id}/funding",
    summary="A base's funding: its subsidy plans, or why it has none; priority approval",
    responses={404: {"description": "funding has not heard of the base (or it is another unit's)"}},
)
async def base_funding(
    base_id: BaseId, principal: PlanReader, usecases: UseCases
) -> BaseFundingView:
    found = await usecases.queries.base_funding(base_id, own_unit(principal))
    provinces = audited_provinces(principal)
    if found is not None and provinces is not None:
        found = found if any(found["province"].startswith(p) for p in provinces if p) else None
    if found is None:
        raise NotFound(f"funding has no designation of base {base_id}")
    return BaseFundingView.model_validate(found)
