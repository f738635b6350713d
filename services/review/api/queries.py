"""HTTP: each reviewer's work queue, and a case's full review history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import ColumnElement, Select, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    DEFAULT_PAGE_SIZE,
    KEYSET_CURSOR,
    MAX_PAGE_SIZE,
    Limit,
    PageParams,
    keyset,
    page_of,
    position,
)
from shared.auth import Role
from shared.decider import NotFound

from ..domain.errors import ConflictDeclarationMissing
from ..domain.events import Level
from ..projections.rankings import ranking_candidates, rankings
from ..projections.renewals import renewals
from ..projections.reviews import IN_REVIEW, reviews
from .dependencies import LEVEL_ROLE, Reader, UseCases, covered, require_declared
from .problems import ROLE_REQUIRED, problems

router = APIRouter(tags=["queries"])

#: The renewal levels each role decides at.
RENEWAL_LEVELS: dict[Role, Level] = {
    Role.PROVINCE_REVIEWER: Level.PROVINCE,
    Role.NATIONAL_REVIEWER: Level.NATIONAL,
    Role.GENERAL_OFFICE: Level.GENERAL_OFFICE,
}


#: A queue cursor: the last item's sort key and id (a keyset), as `next_cursors` gave it.
QueueCursor = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=KEYSET_CURSOR,
        description="this list's cursor from `next_cursors`; absent: its first page",
    ),
]


def _after(cursor: str | None, key: ColumnElement[Any], ident: ColumnElement[Any]) -> Any:
    after = keyset(cursor)
    return true() if after is None else tuple_(key, ident) > tuple_(*after)


async def _page(
    conn: AsyncConnection, query: Select[Any], limit: int, key: str, ident: str
) -> tuple[list[dict[str, Any]], str | None]:
    rows = [dict(r) for r in (await conn.execute(query.limit(limit + 1))).mappings()]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], f"{last[key]}~{last[ident]}"


@router.get(
    "/queue",
    summary="My work queue: cases waiting at my levels, in my jurisdiction",
    description="`reviews` waiting at a level the caller's roles decide (a province reviewer"
    " also sees work stations awaiting the provincial decision), `renewals` likewise, and the"
    " calls' `rankings` still collecting (province reviewers). Each list holds at most"
    f" `limit` items (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); `next_cursors` names,"
    " per list, the cursor of its next page (`reviews_cursor`, `renewals_cursor`,"
    " `rankings_cursor`; null: no more).",
    responses=problems(s403=[ROLE_REQUIRED]),
)
async def work_queue(
    principal: Reader,
    usecases: UseCases,
    limit: Limit = DEFAULT_PAGE_SIZE,
    reviews_cursor: QueueCursor = None,
    renewals_cursor: QueueCursor = None,
    rankings_cursor: QueueCursor = None,
) -> dict[str, Any]:
    # Cases awaiting the recommendation wait in their call's ranking, listed below.
    levels = [
        level.value
        for level, role in LEVEL_ROLE.items()
        if principal.has(role) and level is not Level.PROVINCE_RECOMMENDATION
    ]
    renewal_levels = [level.value for role, level in RENEWAL_LEVELS.items() if principal.has(role)]
    waiting_reviews = (
        select(reviews)
        .where(
            reviews.c.status == IN_REVIEW,
            reviews.c.level.in_(levels),
            covered(reviews.c.jurisdiction, principal),
            _after(reviews_cursor, reviews.c.updated_at, reviews.c.review_id),
        )
        .order_by(reviews.c.updated_at, reviews.c.review_id)
    )
    waiting_renewals = (
        select(renewals)
        .where(
            renewals.c.level.in_(renewal_levels),
            covered(renewals.c.jurisdiction, principal),
            _after(renewals_cursor, renewals.c.updated_at, renewals.c.renewal_id),
        )
        .order_by(renewals.c.updated_at, renewals.c.renewal_id)
    )
    open_rankings = (
        select(rankings)
        .where(
            rankings.c.status == "collecting",
            covered(rankings.c.province, principal),
            _after(rankings_cursor, rankings.c.call_id, rankings.c.ranking_id),
            rankings.c.ranking_id.in_(
                select(ranking_candidates.c.ranking_id).where(
                    ranking_candidates.c.status == "candidate"
                )
            ),
        )
        .order_by(rankings.c.call_id, rankings.c.ranking_id)
    )
    queue: dict[str, Any] = {}
    cursors: dict[str, str | None] = {}
    async with usecases.executor.db.read_engine.connect() as conn:
        queue["reviews"], cursors["reviews"] = await _page(
            conn, waiting_reviews, limit, "updated_at", "review_id"
        )
        queue["renewals"], cursors["renewals"] = await _page(
            conn, waiting_renewals, limit, "updated_at", "renewal_id"
        )
        queue["rankings"], cursors["rankings"] = (
            await _page(conn, open_rankings, limit, "call_id", "ranking_id")
            if principal.has(Role.PROVINCE_REVIEWER)
            else ([], None)
        )
    return {**queue, "next_cursors": cursors}


@router.get(
    "/cases/{case_id}/history",
    summary="Every review event of a case, in order",
    description="The review's and renewals' events with their hashes (the audit chain), in"
    " the order they were stored. Precondition for a reviewer: a declaration of no conflict of"
    " interest on the case's review (`POST /reviews/{review_id}/declarations` with `{}`), else"
    " 403 `conflict-declaration-missing`; an auditor reads without declaring. `events` come in"
    f" pages of `limit` (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); pass `next_cursor`"
    " (the last event's store position) as `cursor` for the next (null: no more).",
    responses=problems(
        s403=[ROLE_REQUIRED, ConflictDeclarationMissing],
        s404=[("not-found", "No case of this id in your jurisdiction")],
    ),
)
async def case_history(
    case_id: Annotated[str, Path(min_length=1, max_length=64)],
    principal: Reader,
    usecases: UseCases,
    page: PageParams,
) -> dict[str, Any]:
    limit, cursor = page
    after = position(cursor)
    async with usecases.executor.db.read_engine.connect() as conn:
        review = (
            (await conn.execute(select(reviews).where(reviews.c.case_id == case_id)))
            .mappings()
            .first()
        )
        renewal = (
            (await conn.execute(select(renewals).where(renewals.c.case_id == case_id)))
            .mappings()
            .first()
        )
    owner = review or renewal
    if owner is None or not principal.covers(owner["jurisdiction"]):
        raise NotFound(f"no case {case_id} in your jurisdiction")
    if review is not None:
        await require_declared(usecases, principal, review["review_id"])
    # Positions are drawn at insert: a settled read passes over no event still in flight.
    found = await usecases.executor.store.read_case(case_id, after, limit + 1, settled=True)
    events = page_of(found, limit, lambda e: str(e.position))
    return {
        "case_id": case_id,
        "next_cursor": events.next_cursor,
        "events": [
            {
                "id": e.id,
                "type": e.name,
                "stream": e.subject,
                "version": e.streamversion,
                "time": e.time.isoformat(),
                "actor": e.actor,
                "data": e.data,
                "policyversion": e.policyversion,
                "prevhash": e.prevhash,
                "hash": e.hash,
            }
            for e in events.items
        ],
    }
