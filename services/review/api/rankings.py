"""HTTP: the provincial recommendation of a call (择优推荐) — its candidates and ranked list."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import func, select, tuple_
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    DEFAULT_PAGE_SIZE,
    MAX_INT,
    MAX_PAGE_SIZE,
    Body,
    IdempotencyKey,
    IfMatch,
    PageParams,
    bad_cursor,
    command_context,
    command_response,
    keyset,
    page_of,
)
from shared.auth import Principal, Role, forbidden
from shared.decider import ConcurrencyConflict

from ..domain.commands import NonRecommendation
from ..domain.errors import (
    ConflictDeclarationMissing,
    DuplicateCandidate,
    NoCandidates,
    QuotaExceeded,
    RankingNotFound,
    ReasonsRequired,
    RecommendationListFinal,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
    UnknownCandidate,
)
from ..projections.rankings import ranking_candidates, rankings
from ..projections.reviews import reviews
from ..usecases import ReviewServiceUseCases
from .dependencies import Reader, Reviewer, UseCases, org_of
from .problems import ROLE_REQUIRED, VALIDATION, problems
from .reviews import DeclarationBody, Reason

router = APIRouter(prefix="/calls/{call_id}/ranking", tags=["ranking 择优推荐"])

CallId = Annotated[str, Path(min_length=1, max_length=64)]
ApplicationId = Annotated[str, Field(min_length=1, max_length=64)]


class NotRecommendedBody(Body):
    application_id: ApplicationId
    reasons: list[Reason] = Field(min_length=1, max_length=50)


class RecommendationListBody(Body):
    ranked: list[ApplicationId] = Field(description="best first; rank 1 is the first")
    not_recommended: list[NotRecommendedBody] = Field(
        default_factory=list,
        description="every other candidate, each with its reasons; default none (then every"
        " candidate must be ranked)",
    )
    quota: int | None = Field(
        None, ge=1, le=1000, description="at most this many ranked; default null: no limit"
    )


async def _visible_ranking(
    usecases: ReviewServiceUseCases, principal: Principal, call_id: str
) -> RowMapping:
    """The call's ranking in the caller's jurisdiction, or 404."""
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (
            (await conn.execute(select(rankings).where(rankings.c.call_id == call_id)))
            .mappings()
            .all()
        )
    for row in rows:
        if principal.covers(row["province"]):
            return row
    raise RankingNotFound(f"no recommendation for call {call_id} in your jurisdiction")


def _province_reviewer(principal: Principal) -> None:
    if not principal.has(Role.PROVINCE_REVIEWER):
        raise forbidden(
            "The provincial recommendation needs the role province_reviewer.", "role-required"
        )


@router.get(
    "",
    summary="The call's candidates and ranking",
    description="National-base candidates the province accepted (work stations are never"
    " ranked). The `ETag` is the ranking's version, for `If-Match`. `candidates` come in"
    " pages, the recommended ones first by rank, then the others by application id; each"
    " page's `recommended` are its recommended candidates, by rank, so the pages in turn give"
    f" the ranked list whole. Pages of `limit` (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE});"
    " pass `next_cursor` as `cursor` for the next (null: no more).",
    responses=problems(s403=[ROLE_REQUIRED], s404=[RankingNotFound]),
)
async def get_ranking(
    call_id: CallId, principal: Reader, usecases: UseCases, page: PageParams
) -> JSONResponse:
    limit, cursor = page
    after = keyset(cursor)
    if after is not None and not (after[0].isdigit() and int(after[0]) <= MAX_INT):
        raise bad_cursor()
    ranking = await _visible_ranking(usecases, principal, call_id)
    # The ranked first (by rank), then the unranked by id: the same on SQLite and PostgreSQL.
    order = func.coalesce(ranking_candidates.c.rank, MAX_INT)
    query = (
        select(ranking_candidates, reviews.c.unit_name, order.label("sort_rank"))
        .join(reviews, reviews.c.review_id == ranking_candidates.c.review_id)
        .where(ranking_candidates.c.ranking_id == ranking["ranking_id"])
        .order_by(order, ranking_candidates.c.application_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            tuple_(order, ranking_candidates.c.application_id) > tuple_(int(after[0]), after[1])
        )
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = page_of(rows, limit, lambda row: f"{row['sort_rank']}~{row['application_id']}")
    candidates = [
        {
            "application_id": row["application_id"],
            "review_id": row["review_id"],
            "case_id": row["case_id"],
            "unit_id": row["unit_id"],
            "unit_name": row["unit_name"],
            "status": row["status"],
            "rank": row["rank"],
            "reasons": json.loads(row["reasons"]) if row["reasons"] else [],
        }
        for row in found.items
    ]
    recommended = sorted(
        (c for c in candidates if c["status"] == "recommended"), key=lambda c: c["rank"]
    )
    body = dict(ranking) | {
        "candidates": candidates,
        "recommended": recommended,
        "next_cursor": found.next_cursor,
    }
    return JSONResponse(body, headers={"ETag": f'"{ranking["version"]}"'})


@router.post(
    "/declarations",
    summary="Declare no conflict with any candidate, or one",
    description="Before submitting the list: `{}` declares no conflict with any candidate (the"
    " default); a ranker from a candidate unit cannot.",
    responses=problems(
        s403=[ROLE_REQUIRED, ReviewerFromApplicantUnit],
        s404=[RankingNotFound],
        s422=[VALIDATION],
    ),
)
async def declare(
    call_id: CallId,
    body: DeclarationBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    _province_reviewer(principal)
    ranking_id = (await _visible_ranking(usecases, principal, call_id))["ranking_id"]
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.rankings.declare(
            conn,
            ctx,
            ranking_id,
            conflict=body.conflict,
            reason=body.reason,
            by_org=org_of(principal),
        )
        return 200, {"ranking_id": ranking_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "",
    summary="Submit the ranked list; each review is marked in the same transaction",
    description="Preconditions: the role province_reviewer, a declaration of no conflict on"
    " this ranking, and not the officer who accepted a candidate at intake. Every candidate is"
    " either ranked or not recommended with reasons; the list is final.",
    responses=problems(
        s403=[
            ROLE_REQUIRED,
            ConflictDeclarationMissing,
            ReviewerRecused,
            SeparationOfDutiesViolated,
        ],
        s404=[RankingNotFound],
        s409=[RecommendationListFinal, NoCandidates, ConcurrencyConflict],
        s422=[
            VALIDATION,
            UnknownCandidate,
            DuplicateCandidate,
            QuotaExceeded,
            ReasonsRequired,
        ],
    ),
)
async def submit_list(
    call_id: CallId,
    body: RecommendationListBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    _province_reviewer(principal)
    ranking_id = (await _visible_ranking(usecases, principal, call_id))["ranking_id"]
    ctx = command_context(request, principal)
    others = tuple(
        NonRecommendation(n.application_id, tuple(n.reasons)) for n in body.not_recommended
    )

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.rankings.submit_list(
            conn,
            ctx,
            ranking_id,
            ranked=tuple(body.ranked),
            not_recommended=others,
            quota=body.quota,
            by_org=org_of(principal),
            expected_version=version,
        )
        return 200, {"ranking_id": ranking_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)
