"""HTTP: the organisation registry (单位注册) — a unit registers, its CAST verifies it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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
from shared.auth import CurrentPrincipal, Principal, Role, forbidden, require_roles

from ..domain.commands import Registration
from ..domain.dossier import route_for
from ..domain.errors import CreditCodeRegistered
from ..domain.events import Category, Contact, Level, Office
from ..domain.unit import office_for
from ..projections.units import units
from ..usecases.queries import Scope
from ..usecases.units import Amendment, credit_code_holder
from .access import ApplicantUnit, ReaderScope
from .dependencies import UseCases

router = APIRouter(prefix="/units", tags=["units 单位注册"])

Officer = Annotated[
    Principal, Depends(require_roles(Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER))
]
_OFFICE_ROLE = {
    Office.PREFECTURE: Role.PREFECTURE_REVIEWER,
    Office.PROVINCE: Role.PROVINCE_REVIEWER,
}

Name = Field(
    min_length=1, max_length=200, title="单位名称 / Unit name", examples=["昆明高新区管委会"]
)
CreditCode = Field(
    min_length=1,
    max_length=40,
    title="统一社会信用代码 / Unified social credit code",
    description="18 characters (GB 32100-2015); the 18th is a check character, verified.",
    examples=["91530100MA6K5J8X2A"],
)
CategoryField = Field(title="单位类别 / Category of unit")
LevelField = Field(
    title="行政层级 / Administrative level",
    description="central 中央在滇单位, provincial 省直/省属, prefecture 州市所属: decides who "
    "verifies the unit (prefecture or provincial CAST) and the route of its applications.",
)
Jurisdiction = Field(
    pattern=r"^\d{2}(\d{2}){0,2}$",
    title="所在行政区划 / Jurisdiction",
    description="The unit's administrative division code, as specific as known (5301 Kunming); "
    "a prefecture-owned unit names its prefecture. Inside the token's jurisdictions, if any.",
    examples=["5301"],
)
Address = Field(min_length=1, max_length=300, title="单位地址 / Address")


class ContactBody(Body):
    name: str = Field(min_length=1, max_length=100, title="联系人 / Contact person")
    phone: str = Field(min_length=5, max_length=30, title="电话 / Telephone")
    email: str = Field(min_length=3, max_length=200, title="电子信箱 / Email")

    def contact(self) -> Contact:
        return Contact(self.name, self.phone, self.email)


Contacts = Field(min_length=1, max_length=10, title="联系人 / Contacts")


class RegistrationBody(Body):
    name: str = Name
    credit_code: str = CreditCode
    category: Category = CategoryField
    level: Level = LevelField
    jurisdiction: str = Jurisdiction
    contacts: list[ContactBody] = Contacts
    address: str = Address

    def registration(self) -> Registration:
        return Registration(
            self.name, self.credit_code, self.category, self.level, self.jurisdiction,
            tuple(c.contact() for c in self.contacts), self.address,
        )  # fmt: skip


class AmendmentBody(Body):
    """Only the fields sent change. Changing name, code, category, level or jurisdiction of a
    verified unit sends it back for verification; contacts and address do not."""

    name: str | None = Field(None, min_length=1, max_length=200, title="单位名称 / Unit name")
    credit_code: str | None = Field(
        None, min_length=1, max_length=40, title="统一社会信用代码 / Unified social credit code"
    )
    category: Category | None = Field(None, title="单位类别 / Category of unit")
    level: Level | None = Field(None, title="行政层级 / Administrative level")
    jurisdiction: str | None = Field(
        None, pattern=r"^\d{2}(\d{2}){0,2}$", title="所在行政区划 / Jurisdiction"
    )
    contacts: list[ContactBody] | None = Field(
        None, min_length=1, max_length=10, title="联系人 / Contacts"
    )
    address: str | None = Field(None, min_length=1, max_length=300, title="单位地址 / Address")

    def amendment(self) -> Amendment:
        contacts = None if self.contacts is None else tuple(c.contact() for c in self.contacts)
        return Amendment(
            self.name, self.credit_code, self.category, self.level, self.jurisdiction,
            contacts, self.address,
        )  # fmt: skip


class VerifyBody(Body):
    opinion: str | None = Field(None, max_length=2000, title="审核意见 / Opinion")


class ReturnBody(Body):
    reasons: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        min_length=1, max_length=20, title="退回理由 / Reasons"
    )


class UnitView(BaseModel):
    unit_id: str
    name: str
    credit_code: str
    category: str
    level: str
    province: str
    jurisdiction: str
    contacts: list[dict[str, str]]
    address: str
    status: str = Field(description="pending, verified or returned")
    office: str = Field(description="the CAST that verifies it: prefecture or province")
    route: str = Field(description="the route of its applications: direct or via_prefecture")
    opinion: str | None
    reasons: list[str] | None
    verified_by: str | None
    registered_at: str
    updated_at: str
    version: int


def unit_view(row: Any) -> dict[str, Any]:
    route = route_for(Level(row["level"]), row["jurisdiction"])
    fields = {k: row[k] for k in UnitView.model_fields if k != "route"}
    return UnitView.model_validate({**fields, "route": str(route)}).model_dump(mode="json")


async def _row(conn: AsyncConnection, unit_id: str) -> dict[str, Any]:
    query = select(units).where(units.c.unit_id == unit_id)
    return dict((await conn.execute(query)).mappings().one())


def _inside_token(principal: Principal, jurisdiction: str | None) -> None:
    # The token's jurisdictions, when it has any, are the unit's: the body may not leave them.
    if jurisdiction is not None and principal.jurisdictions and not principal.covers(jurisdiction):
        raise forbidden(
            f"Your unit is not in jurisdiction {jurisdiction}.", "outside-token-jurisdiction"
        )


@router.post(
    "",
    status_code=201,
    response_model=UnitView,
    summary="Register the caller's unit (applicant; the unit id is the token's org)",
)
async def register(
    body: RegistrationBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    _inside_token(principal, body.jurisdiction)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await usecases.units.register(conn, ctx, unit, body.registration())
        return 201, unit_view(await _row(conn, unit))

    try:
        return await command_response(request, usecases.executor, principal, key, action)
    except IntegrityError:
        await _code_taken(usecases, "RegisterUnit", unit, body.credit_code)
        raise


@router.patch("/{unit_id}", response_model=UnitView, summary="Amend the registration (the unit)")
async def amend(
    unit_id: str,
    body: AmendmentBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.unit(Scope(unit_id=unit), unit_id)  # another unit's: 404
    _inside_token(principal, body.jurisdiction)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await usecases.units.amend(conn, ctx, unit_id, body.amendment(), expected_version=expected)
        return 200, unit_view(await _row(conn, unit_id))

    try:
        return await command_response(request, usecases.executor, principal, key, action)
    except IntegrityError:
        if body.credit_code is not None:
            await _code_taken(usecases, "AmendUnitRegistration", unit_id, body.credit_code)
        raise


async def _code_taken(usecases: Any, command: str, unit_id: str, credit_code: str) -> None:
    """A concurrent registration under the same credit code committed first: the read model's
    unique index refused this one (its events rolled back with it)."""
    async with usecases.executor.db.read_engine.connect() as conn:
        holder = await credit_code_holder(conn, credit_code, unit_id)
    if holder is not None:
        raise CreditCodeRegistered(
            f"{command} refused: unit {holder} is registered under credit code "
            f"{credit_code.strip().upper()}",
            unit_id=holder,
            credit_code=credit_code.strip().upper(),
        ) from None


async def _office_of(usecases: Any, principal: Principal, unit_id: str) -> Office:
    """The unit's CAST: the prefecture's for a prefecture-owned unit, else the province's."""
    row = await usecases.queries.unit(Scope(jurisdictions=principal.jurisdictions), unit_id)
    office = office_for(Level(row["level"]))
    if not (principal.has(_OFFICE_ROLE[office]) and principal.covers(row["jurisdiction"])):
        raise forbidden(
            f"A {row['level']} unit is verified by its {office} CAST: a {_OFFICE_ROLE[office]} "
            f"covering {row['jurisdiction']}.",
            "not-the-units-cast",
        )
    return office


@router.post(
    "/{unit_id}/verify",
    response_model=UnitView,
    summary="Verify the registration (the unit's CAST: prefecture for prefecture-owned units, "
    "province for provincial and central units)",
)
async def verify(
    unit_id: str,
    body: VerifyBody,
    request: Request,
    principal: Officer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    office = await _office_of(usecases, principal, unit_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        await usecases.units.verify(conn, ctx, unit_id, office, body.opinion)
        return 200, unit_view(await _row(conn, unit_id))

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{unit_id}/return",
    response_model=UnitView,
    summary="Return the registration with reasons (the unit's CAST); the unit amends it",
)
async def return_registration(
    unit_id: str,
    body: ReturnBody,
    request: Request,
    principal: Officer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    office = await _office_of(usecases, principal, unit_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        reasons = tuple(body.reasons)
        await usecases.units.return_registration(conn, ctx, unit_id, office, reasons)
        return 200, unit_view(await _row(conn, unit_id))

    return await command_response(request, usecases.executor, principal, key, action)


@router.get(
    "",
    summary="Registered units within your reach: your own unit, or those in your jurisdiction "
    "(`status=pending`: the verification queue)",
    description="By unit id; the cursor is the last id read." + PAGING,
)
async def list_units(
    scope: ReaderScope,
    usecases: UseCases,
    page: PageParams,
    status: Annotated[str | None, Query(pattern=r"^(pending|verified|returned)$")] = None,
    office: Office | None = None,
) -> Page[UnitView]:
    limit, cursor = page
    rows = await usecases.queries.units(
        scope, status=status, office=office, limit=limit, cursor=cursor
    )
    items = [UnitView.model_validate(unit_view(row)) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].unit_id if more else None)


@router.get("/{unit_id}", response_model=UnitView, summary="One unit's registration")
async def get_unit(unit_id: str, scope: ReaderScope, usecases: UseCases) -> JSONResponse:
    row = await usecases.queries.unit(scope, unit_id)
    return JSONResponse(unit_view(row), headers={"ETag": f'"{row["version"]}"'})
