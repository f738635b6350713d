"""HTTP: applications (申报) — drafted, saved field by field, submitted, withdrawn, received."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
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
    page_of,
    position,
)
from shared.auth import CurrentPrincipal, Principal, Role, forbidden, require_roles
from shared.envelope import new_id

from ..domain.errors import ApplicationAlreadyActive, SetByRegistration
from ..domain.events import Category, Programme, Route
from ..usecases.applications import active_application
from ..usecases.queries import ApplicationFilter, Scope
from .access import ApplicantUnit, ReaderScope
from .dependencies import UseCases
from .form import FormFields
from .views import ApplicationSummary, ApplicationView, HistoryEntry, detail, summary

router = APIRouter(prefix="/applications", tags=["applications 申报"])

Office = Annotated[
    Principal, Depends(require_roles(Role.PROVINCE_REVIEWER, Role.PREFECTURE_REVIEWER))
]
#: Who applies comes from the unit's verified registration (POST /units), never the body.
REGISTRATION_FIELDS = ("unit_name", "category", "jurisdiction", "level", "route", "credit_code")
_Refused = SkipJsonSchema[Any]


class DraftBody(Body):
    """The unit's name, category, level, jurisdiction, credit code and route come from its
    verified registration: a body that sends any of them is refused (422)."""

    call_id: str = Field(
        min_length=1,
        max_length=40,
        title="申报通知 / Call",
        description="the open call of the unit's province",
    )
    form: FormFields | None = Field(
        None,
        title="申报表 / Annex 2 form",
        description="partial: any fields to save with the draft",
    )
    also_workstation: bool = Field(
        False,
        title="同时申报省科协海智计划工作站 / Also the provincial work station",
        description="Notice §5(3); default false",
    )
    unit_name: _Refused = Field(None, exclude=True)
    category: _Refused = Field(None, exclude=True)
    jurisdiction: _Refused = Field(None, exclude=True)
    level: _Refused = Field(None, exclude=True)
    route: _Refused = Field(None, exclude=True)
    credit_code: _Refused = Field(None, exclude=True)


class WithdrawBody(Body):
    reason: str = Field(min_length=1, max_length=2000)


class ReceiptBody(Body):
    received_on: date = Field(title="收件日期 / Received on")
    recipient: str = Field(min_length=1, max_length=200, title="收件人 / Recipient")
    paper_copies: int = Field(ge=0, le=50, title="纸质份数 / Paper copies")


@router.post("", status_code=201, summary="Draft an application under an open call (applicant)")
async def draft(
    body: DraftBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    sent = [name for name in REGISTRATION_FIELDS if name in body.model_fields_set]
    if sent:
        raise SetByRegistration(
            f"{', '.join(sent)} come(s) from your unit's verified registration, not from the "
            f"application: see GET /units/{unit}, amend it with PATCH /units/{unit}.",
            fields=sent,
        )
    application_id, case_id = new_id(), new_id()
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        content = body.form.changes() if body.form else {}
        result = await usecases.filing.draft(
            conn, ctx, unit, call_id=body.call_id, application_id=application_id,
            case_id=case_id, content=content,
        )  # fmt: skip
        answer: dict[str, Any] = {"application_id": application_id, "case_id": case_id}
        if body.also_workstation:
            national, linked = await usecases.filing.request_workstation(
                conn, ctx, application_id, by_org=unit
            )
            result = national
            answer["linked_case_id"] = linked.case_id if linked else None
            answer["linked_application_id"] = _application_id(linked)
        return 201, {**answer, "version": result.version}

    try:
        return await command_response(request, usecases.executor, principal, key, action)
    except IntegrityError:
        # A concurrent draft of the same unit, call and programme committed first: the read
        # model's unique index refused this one (its events rolled back with it). It may be
        # the national application's twin or, with `also_workstation`, the linked one's.
        async with usecases.executor.db.read_engine.connect() as conn:
            drafted = [Programme.NATIONAL_BASE]
            if body.also_workstation:
                drafted.append(Programme.PROVINCIAL_WORKSTATION)
            for programme in drafted:
                active = await active_application(conn, unit, body.call_id, programme)
                if active is not None:
                    break
        if active is None:
            raise
        raise ApplicationAlreadyActive(
            f"DraftApplication refused: {programme} application {active} is active under "
            f"call {body.call_id}",
            application_id=active,
            programme=str(programme),
        ) from None


@router.get(
    "",
    summary="Applications within your reach (own unit, or your jurisdiction)",
    description="By application id; the cursor is the last id read." + PAGING,
)
async def list_applications(
    scope: ReaderScope,
    usecases: UseCases,
    page: PageParams,
    call_id: str | None = None,
    status: Annotated[
        str | None, Query(pattern=r"^(draft|submitted|returned|withdrawn|rejected|designated)$")
    ] = None,
    route: Route | None = None,
    category: Category | None = None,
    programme: Programme | None = None,
) -> Page[ApplicationSummary]:
    limit, cursor = page
    where = ApplicationFilter(call_id, status, route, category, programme)
    rows = await usecases.queries.applications(scope, where, limit, cursor)
    items = [summary(row) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].application_id if more else None)


@router.get(
    "/{application_id}",
    response_model=ApplicationView,
    summary="One application: as submitted, and (its own unit only) the working copy",
)
async def get_application(
    application_id: str, scope: ReaderScope, usecases: UseCases
) -> JSONResponse:
    row = await usecases.queries.application(scope, application_id)
    view = detail(row, owner=scope.owns(row))
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": f'"{row["version"]}"'})


@router.get(
    "/{application_id}/history",
    summary="Every event of the application, in order",
    description="In stream-version order; the cursor is the last version read, so events"
    " appended meanwhile come on a later page." + PAGING,
)
async def history(
    application_id: str, scope: ReaderScope, usecases: UseCases, page: PageParams
) -> Page[HistoryEntry]:
    limit, cursor = page
    found = await usecases.queries.history(scope, application_id, position(cursor), limit + 1)
    return page_of([HistoryEntry.of(e) for e in found], limit, lambda e: str(e.version))


@router.patch("/{application_id}", summary="Save draft fields (partial: only those sent change)")
async def update_draft(
    application_id: str,
    body: FormFields,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.update_draft(
            conn, ctx, application_id, body.changes(), by_org=unit, expected_version=expected
        )
        return 200, {"application_id": application_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{application_id}/submit", summary="Submit, or resubmit after a return")
async def submit(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.submit(
            conn, ctx, application_id, by_org=unit, expected_version=expected
        )
        revision = getattr(result.state, "revision", None)
        return 200, {"application_id": application_id, "revision": revision, **_v(result)}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{application_id}/withdraw", summary="Withdraw, until a final decision")
async def withdraw(
    application_id: str,
    body: WithdrawBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.withdraw(
            conn, ctx, application_id, body.reason, by_org=unit, expected_version=expected
        )
        return 200, {"application_id": application_id, **_v(result)}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{application_id}/workstation",
    status_code=201,
    summary="Also apply for the provincial work station: drafts the linked application",
)
async def request_workstation(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        national, linked = await usecases.filing.request_workstation(
            conn, ctx, application_id, by_org=unit
        )
        answer = {
            "application_id": application_id,
            "linked_application_id": _application_id(linked),
            "linked_case_id": linked.case_id if linked else None,
        }
        return (201 if linked else 200), {**answer, **_v(national)}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{application_id}/receipt", summary="收件记录: the receiving office got the file")
async def record_receipt(
    application_id: str,
    body: ReceiptBody,
    request: Request,
    principal: Office,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    scope = Scope(jurisdictions=principal.jurisdictions)
    row = await usecases.queries.application(scope, application_id)
    # The receiving office: the province always; the prefecture when the route runs through it.
    by_province = principal.has(Role.PROVINCE_REVIEWER) and principal.covers(row["province"])
    by_prefecture = (
        row["route"] == Route.VIA_PREFECTURE
        and principal.has(Role.PREFECTURE_REVIEWER)
        and principal.covers(row["jurisdiction"])
    )
    if not (by_province or by_prefecture):
        raise forbidden(
            "Only a reviewer of the office receiving this file records its receipt.",
            "not-the-receiving-office",
        )
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.record_receipt(
            conn, ctx, application_id, received_on=body.received_on,
            recipient=body.recipient, paper_copies=body.paper_copies,
        )  # fmt: skip
        return 200, {"application_id": application_id, **_v(result)}

    return await command_response(request, usecases.executor, principal, key, action)


def _v(result: Any) -> dict[str, int]:
    return {"version": int(result.version)}


def _application_id(result: Any) -> str | None:
    return result.stream_id.removeprefix("application-") if result else None
