"""HTTP: calls for applications (申报通知)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import Body, IdempotencyKey, Page, PageParams, command_context, command_response
from shared.auth import CurrentPrincipal, Principal, Role, require_jurisdiction, require_roles
from shared.decider import NotFound
from shared.envelope import new_id

from ..domain.events import MATERIAL_SLOTS, Slot
from ..projections.calls import calls
from .dependencies import UseCases

router = APIRouter(prefix="/calls", tags=["calls 申报通知"])

ProvincialOfficer = Annotated[Principal, Depends(require_roles(Role.PROVINCE_REVIEWER, Role.ADMIN))]


class OpenCallBody(Body):
    province: str = Field(pattern=r"^\d{2}$", examples=["53"])
    year: int = Field(ge=2000, le=2100)
    title: str = Field(min_length=1, max_length=200)
    deadline_on: date = Field(description="the last day, in China Standard Time")
    deadline_time: time | None = Field(None, description="Beijing time on that day; default 24:00")
    required_slots: list[Slot] = Field(default_factory=lambda: list(MATERIAL_SLOTS))
    allows_workstation: bool = False
    paper_copies: int = Field(0, ge=0, le=50)


class CallView(Body):
    call_id: str
    province: str
    year: int
    title: str
    deadline: str
    status: str
    allows_workstation: bool
    paper_copies: int
    version: int


@router.post("", status_code=201, summary="Open a call for applications (provincial officer)")
async def open_call(
    body: OpenCallBody,
    request: Request,
    principal: ProvincialOfficer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    require_jurisdiction(principal, body.province)
    call_id = new_id()

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.calls.open_call(
            conn,
            command_context(request, principal),
            call_id=call_id,
            province=body.province,
            year=body.year,
            title=body.title,
            deadline_on=body.deadline_on,
            deadline_time=body.deadline_time,
            required_slots=tuple(body.required_slots),
            allows_workstation=body.allows_workstation,
            paper_copies=body.paper_copies,
            by_jurisdiction=body.province,
        )
        return 201, {"call_id": call_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.get("", summary="List calls for applications")
async def list_calls(
    _principal: CurrentPrincipal,
    usecases: UseCases,
    page: PageParams,
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(open|closed)$")] = None,
) -> Page[CallView]:
    limit, cursor = page
    query = select(calls).order_by(calls.c.call_id).limit(limit + 1)
    if province:
        query = query.where(calls.c.province == province)
    if status:
        query = query.where(calls.c.status == status)
    if cursor:
        query = query.where(calls.c.call_id > cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    items = [CallView.model_validate({k: row[k] for k in CallView.model_fields}) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].call_id if more else None)


@router.get("/{call_id}", summary="One call for applications")
async def get_call(call_id: str, _principal: CurrentPrincipal, usecases: UseCases) -> CallView:
    async with usecases.executor.db.read_engine.connect() as conn:
        row = (
            (await conn.execute(select(calls).where(calls.c.call_id == call_id))).mappings().first()
        )
    if row is None:
        raise NotFound(f"no call for applications {call_id}")
    return CallView.model_validate({k: row[k] for k in CallView.model_fields})
