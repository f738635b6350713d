"""HTTP: designated bases and their renewal requests (Art. 14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    Page,
    PageParams,
    command_context,
    command_response,
    page_of,
)
from shared.auth import CurrentPrincipal
from shared.envelope import new_id

from ..usecases.queries import Scope
from .access import ApplicantUnit, ReaderScope
from .dependencies import UseCases
from .views import BaseDetailView, BaseView, base_view

router = APIRouter(prefix="/bases", tags=["renewal 续期"])


class RenewalBody(Body):
    statement: str = Field(min_length=1, max_length=4000, description="the written request")


class WithdrawRenewalBody(Body):
    reason: str = Field(min_length=1, max_length=2000)


class ResubmitRenewalBody(Body):
    statement: str = Field(
        min_length=1, max_length=4000, description="the written request, completed"
    )


@router.get(
    "",
    summary="Designated bases within your reach, with their renewal windows",
    description="By base id; the cursor is the last id read." + PAGING,
)
async def list_bases(scope: ReaderScope, usecases: UseCases, page: PageParams) -> Page[BaseView]:
    limit, cursor = page
    items = [base_view(row) for row in await usecases.queries.bases(scope, limit, cursor)]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].base_id if more else None)


@router.get(
    "/{base_id}",
    summary="One base: its term, renewal window and renewal requests",
    description="`renewal_requests` come by id (time-sortable: the oldest first), in pages; the"
    " cursor is the last request's id." + PAGING,
)
async def get_base(
    base_id: str, scope: ReaderScope, usecases: UseCases, page: PageParams
) -> BaseDetailView:
    limit, cursor = page
    row = await usecases.queries.base(scope, base_id, cursor, limit + 1)
    requests = page_of(row["renewal_requests"], limit, lambda r: str(r["renewal_id"]))
    values = {k: row[k] for k in BaseDetailView.model_fields if k in row}
    return BaseDetailView.model_validate(
        values | {"renewal_requests": requests.items, "next_cursor": requests.next_cursor}
    )


@router.post(
    "/{base_id}/renewal-requests",
    status_code=201,
    summary="File the written renewal request, inside the window (the base's own unit)",
)
async def request_renewal(
    base_id: str,
    body: RenewalBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.base(Scope(unit_id=unit), base_id)
    renewal_id = new_id()
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.renewals.request(
            conn, ctx, base_id, renewal_id=renewal_id, statement=body.statement, by_org=unit
        )
        return 201, {"base_id": base_id, "renewal_id": renewal_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{base_id}/renewal-requests/{renewal_id}/withdraw",
    summary="Withdraw the renewal request in flight",
)
async def withdraw_renewal(
    base_id: str,
    renewal_id: str,
    body: WithdrawRenewalBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.base(Scope(unit_id=unit), base_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.renewals.withdraw(
            conn, ctx, base_id, renewal_id, reason=body.reason, by_org=unit
        )
        return 200, {"base_id": base_id, "renewal_id": renewal_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{base_id}/renewal-requests/{renewal_id}/resubmit",
    summary="Resubmit a renewal request the province returned for completion (the base's unit)",
)
async def resubmit_renewal(
    base_id: str,
    renewal_id: str,
    body: ResubmitRenewalBody,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.base(Scope(unit_id=unit), base_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.renewals.resubmit(
            conn, ctx, base_id, renewal_id, statement=body.statement, by_org=unit
        )
        return 200, {"base_id": base_id, "renewal_id": renewal_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)
