"""HTTP: renewal requests (Art. 14) — the province passes them on or returns one for
completeness, the nation asks for the renewal assessment, the general office awards the plaque
again."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
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
from shared.auth import Principal, Role, forbidden
from shared.decider import ConcurrencyConflict
from shared.usecase import CommandContext

from ..domain.errors import (
    ConflictDeclarationMissing,
    DecisionNotAllowedAtLevel,
    LevelMismatch,
    ReasonsRequired,
    RenewalAlreadyReturned,
    RenewalNotFound,
    RenewalNotInProgress,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
)
from ..projections.renewals import renewals
from ..usecases import ReviewServiceUseCases
from ..usecases.renewals import RenewalResult
from .dependencies import Reader, Reviewer, UseCases, covered, org_of
from .problems import ROLE_REQUIRED, VALIDATION, Refusal, problems
from .reviews import AcceptBody, DeclarationBody, ReturnToPrefectureBody

router = APIRouter(prefix="/renewals", tags=["renewals 续期"])

RenewalId = Annotated[str, Path(min_length=1, max_length=64)]
Run = Callable[[AsyncConnection, CommandContext], Awaitable[tuple[RenewalResult, dict[str, Any]]]]


class EmptyBody(Body):
    pass


DECISION = (
    "Preconditions: the caller holds the level's role and declared no conflict of interest on"
    " this renewal (`POST /renewals/{renewal_id}/declarations` with `{}`); the province's"
    " and the nation's deciders are different people. Send the `ETag` of"
    " `GET /renewals/{renewal_id}` as `If-Match` (optional) and an `Idempotency-Key`."
)
NOT_THIS_DECIDER: list[Refusal] = [
    ROLE_REQUIRED,
    ConflictDeclarationMissing,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
]
REFUSALS = problems(
    s403=NOT_THIS_DECIDER,
    s404=[RenewalNotFound],
    s409=[LevelMismatch, RenewalNotInProgress, ConcurrencyConflict],
    s422=[VALIDATION, DecisionNotAllowedAtLevel, ReasonsRequired],
)


class RenewalSummary(BaseModel):
    renewal_id: str
    case_id: str
    base_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_end: str = Field(description="the last day of the current term")
    statement: str | None = Field(description="the unit's written request, as last submitted")
    status: str = Field(
        description="in_review | returned | awaiting_assessment | granted | refused | withdrawn"
    )
    level: str | None = Field(description="province | national | general_office, or null")
    certificate_no: str | None
    new_term_start: str | None
    new_term_end: str | None
    reasons: list[str] = Field(description="why it was returned to the unit, or refused")
    refused_on: str | None
    updated_at: str
    version: int


def _summary(row: RowMapping) -> dict[str, Any]:
    summary = dict(row)
    summary["reasons"] = json.loads(row["reasons"]) if row["reasons"] else []
    return summary


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
        raise forbidden(f"This decision on a renewal needs the role {role.value}.", "role-required")
    await _visible_renewal(usecases, principal, renewal_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result, extra = await run(conn, ctx)
        events = [e.name for e in result.events]
        return 200, {"renewal_id": renewal_id, "version": result.version, "events": events} | extra

    return await command_response(request, usecases.executor, principal, key, action)


@router.get(
    "",
    summary="Find renewal requests by case or base id, within your jurisdiction",
    description="Filters combine; without any, every renewal request in your jurisdiction."
    " By renewal id." + PAGING,
)
async def find_renewals(
    principal: Reader,
    usecases: UseCases,
    page: PageParams,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    base_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[RenewalSummary]:
    limit, cursor = page
    query = select(renewals).where(covered(renewals.c.jurisdiction, principal))
    if case_id is not None:
        query = query.where(renewals.c.case_id == case_id)
    if base_id is not None:
        query = query.where(renewals.c.base_id == base_id)
    if cursor:
        query = query.where(renewals.c.renewal_id > cursor)
    query = query.order_by(renewals.c.renewal_id).limit(limit + 1)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    items = [RenewalSummary.model_validate(_summary(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(items=items, next_cursor=items[-1].renewal_id if more else None)


@router.get(
    "/{renewal_id}",
    summary="Where a renewal request stands",
    description="The `ETag` is the renewal's stream version, to send as `If-Match`.",
    responses=problems(s403=[ROLE_REQUIRED], s404=[RenewalNotFound]),
)
async def get_renewal(renewal_id: RenewalId, principal: Reader, usecases: UseCases) -> JSONResponse:
    row = _summary(await _visible_renewal(usecases, principal, renewal_id))
    return JSONResponse(row, headers={"ETag": f'"{row["version"]}"'})


@router.post(
    "/{renewal_id}/declarations",
    summary="Declare no conflict of interest, or one",
    description="Before deciding on the renewal: `{}` declares no conflict (the default).",
    responses=problems(
        s403=[ROLE_REQUIRED, ReviewerFromApplicantUnit, ReviewerRecused],
        s404=[RenewalNotFound],
        s409=[RenewalNotInProgress],
        s422=[VALIDATION],
    ),
)
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


@router.post(
    "/{renewal_id}/forward",
    summary="Province: pass the request on to the nation",
    description=DECISION,
    responses=REFUSALS,
)
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


@router.post(
    "/{renewal_id}/return",
    summary="Province: return the request to the unit for completeness, with reasons",
    description="The province checks completeness; it never refuses a renewal (the national"
    " renewal assessment decides). `RenewalReturned` tells the unit why; its completed request"
    " (`RenewalRequestResubmitted`) brings the renewal back to the province, which may return"
    " a request once: the completed one is passed on (409 `renewal-already-returned`). " + DECISION,
    responses=problems(
        s403=NOT_THIS_DECIDER,
        s404=[RenewalNotFound],
        s409=[LevelMismatch, RenewalNotInProgress, RenewalAlreadyReturned, ConcurrencyConflict],
        s422=[VALIDATION, ReasonsRequired],
    ),
)
async def return_request(
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
        result = await usecases.renewals.return_request(
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


@router.post(
    "/{renewal_id}/assessment-request",
    summary="Nation: ask for the renewal assessment",
    description="Publishes `RenewalAssessmentRequested`; the assessment service's national"
    " officer assesses the term's grades and answers `RenewalAssessed`: qualified waits for the"
    " general office's grant, unqualified refuses the renewal that day. " + DECISION,
    responses=REFUSALS,
)
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


@router.post(
    "/{renewal_id}/grant",
    summary="General office: the plaque again, a new term",
    description="After a qualified renewal assessment. The new term starts the day after the"
    " old one ended, even when granted later (terms are continuous), under a new HZJD"
    " certificate number. " + DECISION,
    responses=REFUSALS,
)
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
