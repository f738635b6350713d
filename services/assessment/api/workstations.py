"""HTTP: provincial work stations (省科协海智计划工作站, Notice §5(3)) as this service sees them:
not national bases; tracked only under their province's own station policy, else recorded as
not assessed, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field
from sqlalchemy import RowMapping, select

from shared.api import PAGING, Body, Page, PageParams
from shared.auth import CurrentPrincipal

from ..projections.workstations import workstations
from .access import station_in_reach, visible_bases
from .dependencies import UseCases

router = APIRouter(prefix="/workstations", tags=["work stations 省级工作站"])

StationId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


class WorkstationView(Body):
    station_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    certificate_no: str = Field(description="The province's certificate series")
    approved_on: str
    assessed: bool = Field(description="Whether a provincial station policy applies here")
    status: str = Field(description="not_assessed | active | expired")
    reason: str | None = Field(description="Why the station is not assessed")
    term_start: str | None
    term_end: str | None
    ended_on: str | None
    policy_version: str | None = Field(description="The province's station policy applied")
    version: int


def _view(row: RowMapping) -> WorkstationView:
    return WorkstationView.model_validate({k: row[k] for k in WorkstationView.model_fields})


@router.get(
    "",
    summary="Work stations in the caller's reach",
    description="By station id; the cursor is the last id read." + PAGING,
)
async def list_workstations(
    principal: CurrentPrincipal,
    usecases: UseCases,
    page: PageParams,
    status: Annotated[str | None, Query(pattern=r"^(not_assessed|active|expired)$")] = None,
) -> Page[WorkstationView]:
    limit, cursor = page
    query = (
        select(workstations)
        .where(visible_bases(principal, workstations))
        .order_by(workstations.c.station_id)
    )
    if status:
        query = query.where(workstations.c.status == status)
    if cursor:
        query = query.where(workstations.c.station_id > cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query.limit(limit + 1))).mappings().all()
    items = [_view(row) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].station_id if more else None)


@router.get("/{station_id}", summary="One work station, and why it is (not) assessed")
async def get_workstation(
    station_id: StationId, principal: CurrentPrincipal, usecases: UseCases
) -> WorkstationView:
    async with usecases.executor.db.read_engine.connect() as conn:
        return _view(await station_in_reach(conn, principal, station_id))
