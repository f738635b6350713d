"""HTTP: calls for applications (申报通知)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    Page,
    PageParams,
    command_context,
    command_response,
)
from shared.auth import CurrentPrincipal, Principal, Role, require_jurisdiction, require_roles
from shared.decider import NotFound
from shared.envelope import new_id

from ..domain.events import MATERIAL_SLOTS, Contact, Slot, SubmissionAddress
from ..projections.calls import calls
from .dependencies import UseCases

router = APIRouter(prefix="/calls", tags=["calls 申报通知"])

ProvincialOfficer = Annotated[Principal, Depends(require_roles(Role.PROVINCE_REVIEWER, Role.ADMIN))]


class ContactBody(Body):
    name: str = Field(min_length=1, max_length=100, title="联系人 / Contact", examples=["毛发强"])
    phone: str = Field(
        min_length=5, max_length=60, title="电话 / Telephone", examples=["0871-63103381"]
    )
    email: str = Field(
        min_length=3, max_length=200, title="电子信箱 / Email", examples=["ynskxgjb@126.com"]
    )


class SubmissionAddressBody(Body):
    address: str = Field(
        min_length=1,
        max_length=300,
        title="报送地址 / Address for the paper copies",
        examples=["昆明市护国路26号省科协办公大楼508室"],
    )
    postcode: str = Field(pattern=r"^\d{6}$", title="邮编 / Postcode", examples=["650021"])
    recipient: str = Field(
        min_length=1,
        max_length=200,
        title="收件部门及收件人 / Office and recipient",
        examples=["云南省科协国际联络部 毛发强"],
    )


class OpenCallBody(Body):
    province: str = Field(pattern=r"^\d{2}$", examples=["53"], title="省份 / Province")
    year: int = Field(ge=2000, le=2100, title="年度 / Year")
    title: str = Field(min_length=1, max_length=200, title="标题 / Title")
    deadline_on: date = Field(
        title="截止日期 / Deadline", description="the last day, in China Standard Time"
    )
    deadline_time: time | None = Field(
        None,
        title="截止时刻 / Deadline time",
        description="Beijing time on that day; default 24:00",
    )
    required_slots: list[Slot] = Field(
        default_factory=lambda: list(MATERIAL_SLOTS),
        title="必交材料 / Required materials",
        description="At least the four of Art. 7 (support_letter, construction_plan, "
        "overseas_cooperation, policy_measures; the default); never fewer. signed_form "
        "(签字盖章的申报表, Art. 7(2)) is required of every submission anyway.",
    )
    additional_materials: list[str] = Field(
        default_factory=list,
        max_length=20,
        title="附加材料 / Additional materials",
        description="Names of further materials the call asks for; each is uploaded to slot "
        "extra with `material` set to its name. Default none.",
    )
    allows_workstation: bool = Field(
        False, title="可同时申报工作站 / Offers the provincial work station (default false)"
    )
    paper_copies: int = Field(0, ge=0, le=50, title="纸质份数 / Paper copies (default 0)")
    contacts: list[ContactBody] = Field(
        default_factory=list, max_length=10, title="联系人 / Contacts of the call (default none)"
    )
    submission_address: SubmissionAddressBody | None = Field(
        None, title="纸质材料报送地址 / Where the paper copies go (default none)"
    )


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
    opened_on: str | None = Field(None, title="发布日期 / Opened on (CST)")
    required_slots: list[str] | None = None
    additional_materials: list[str] = Field(default_factory=list)
    contacts: list[dict[str, str]] = Field(default_factory=list, title="联系人 / Contacts")
    submission_address: dict[str, str] | None = Field(
        None, title="纸质材料报送地址 / Where the paper copies go"
    )


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
            additional_materials=tuple(body.additional_materials),
            contacts=tuple(Contact(c.name, c.phone, c.email) for c in body.contacts),
            submission_address=_address(body.submission_address),
        )
        return 201, {"call_id": call_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.get(
    "",
    summary="List calls for applications",
    description="By call id; the cursor is the last id read." + PAGING,
)
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
    items = [_view(row) for row in rows]
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
    return _view(row)


def _view(row: Any) -> CallView:
    values = {k: row[k] for k in CallView.model_fields}
    return CallView.model_validate({k: v for k, v in values.items() if v is not None})


def _address(body: SubmissionAddressBody | None) -> SubmissionAddress | None:
    return None if body is None else SubmissionAddress(body.address, body.postcode, body.recipient)
