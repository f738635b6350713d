"""HTTP: renewal requests (Art. 14) — province forwards or refuses, the nation asks for the
renewal assessment, the general office awards the plaque again."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import Body, IdempotencyKey, IfMatch, command_context, command_response
from shared.auth import Principal, Role, forbidden
from shared.usecase import CommandContext

from ..domain.errors import RenewalNotFound
from ..projections.renewals import renewals
from ..usecases import ReviewServiceUseCases
from ..usecases.renewals import RenewalResult
from .dependencies import Reader, Reviewer, UseCases, org_of
from .reviews import AcceptBody, DeclarationBody, ReturnToPrefectureBody

router = APIRouter(prefix="/renewals", tags=["renewals 续期"])

RenewalId = Annotated[str, Path(min_length=1, max_length=64)]
Run = Callable[[AsyncConnection, CommandContext], Awaitable[tuple[RenewalResult, dict[str, Any]]]]


class EmptyBody(Body):
    pass


async def _visible_renewal(
    usecases: ReviewServiceUseCases, principal: Principal, renewal_id: str
) -> RowMapping:
    async with usecases.executor.db.read_engine.connect() as conn:
        row = (
            (await conn.execute(select(renewals).where(renewals.c.renewal_id == renewal_id)))
            .mappings()
            .first()
        )
    if row is None or not principal.covers(row["jurisdiction"]):
        raise RenewalNotFound(f"no renewal request {renewal_id} in your jurisdiction")
    return row


async def _command(
    request: Request,
    usecases: UseCases,
    principal: Principal,
    key: str | None,
    renewal_id: str,
    role: Role | None,
    run: Run,
) -> JSONResponse:
    if role is not None and not principal.has(role):
        raise forbidden(f"This decision on a renewal needs the role {role.value}.")
    await _visible_renewal(usecases, principal, renewal_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result, extra = await run(conn, ctx)
        events = [e.name for e in result.events]
        return 200, {"renewal_id": renewal_id, "version": result.version, "events": events} | extra

    return await command_response(request, usecases.executor, principal, key, action)


@router.get("/{renewal_id}", summary="Where a renewal request stands")
async def get_renewal(renewal_id: RenewalId, principal: Reader, usecases: UseCases) -> JSONResponse:
    row = dict(await _visible_renewal(usecases, principal, renewal_id))
    row["reasons"] = json.loads(row["reasons"]) if row["reasons"] else []
    return JSONResponse(row, headers={"ETag": f'"{row["version"]}"'})


@router.post("/{renewal_id}/declarations", summary="Declare no conflict of interest, or one")
async def declare(
    renewal_id: RenewalId,
    body: DeclarationBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    async def run(
        conn: AsyncConnection, ctx: CommandContext
    ) -> tuple[RenewalResult, dict[str, Any]]:
        result = await usecases.renewals.declare(
            conn,
            ctx,
            renewal_id,
            conflict=body.conflict,
            reason=body.reason,
            by_org=org_of(principal),
        )
        return result, {}

    return await _command(request, usecases, principal, key, renewal_id, None, run)


@router.post("/{renewal_id}/forward", summary="Province: forward the request to the nation")
async def forward(
    renewal_id: RenewalId,
    body: AcceptBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(
        conn: AsyncConnection, ctx: CommandContext
    ) -> tuple[RenewalResult, dict[str, Any]]:
        result = await usecases.renewals.forward(
            conn,
            ctx,
            renewal_id,
            opinion=body.opinion,
            by_org=org_of(principal),
            expected_version=version,
        )
        return result, {}

    return await _command(
        request, usecases, principal, key, renewal_id, Role.PROVINCE_REVIEWER, run
    )


@router.post("/{renewal_id}/refuse", summary="Province: refuse the request, with reasons")
async def refuse(
    renewal_id: RenewalId,
    body: ReturnToPrefectureBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(
        conn: AsyncConnection, ctx: CommandContext
    ) -> tuple[RenewalResult, dict[str, Any]]:
        result = await usecases.renewals.refuse(
            conn,
            ctx,
            renewal_id,
            reasons=tuple(body.reasons),
            by_org=org_of(principal),
            expected_version=version,
        )
        return result, {}

    return await _command(
        request, usecases, principal, key, renewal_id, Role.PROVINCE_REVIEWER, run
    )


@router.post("/{renewal_id}/assessment-request", summary="Nation: ask for the renewal assessment")
async def request_assessment(
    renewal_id: RenewalId,
    body: EmptyBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(
        conn: AsyncConnection, ctx: CommandContext
    ) -> tuple[RenewalResult, dict[str, Any]]:
        result = await usecases.renewals.request_assessment(
            conn, ctx, renewal_id, by_org=org_of(principal), expected_version=version
        )
        return result, {}

    return await _command(
        request, usecases, principal, key, renewal_id, Role.NATIONAL_REVIEWER, run
    )


@router.post("/{renewal_id}/grant", summary="General office: the plaque again, a new term")
async def grant(
    renewal_id: RenewalId,
    body: EmptyBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(
        conn: AsyncConnection, ctx: CommandContext
    ) -> tuple[RenewalResult, dict[str, Any]]:
        result, certificate_no = await usecases.renewals.grant(
            conn, ctx, renewal_id, by_org=org_of(principal), expected_version=version
        )
        return result, {"certificate_no": certificate_no}

    return await _command(request, usecases, principal, key, renewal_id, Role.GENERAL_OFFICE, run)
