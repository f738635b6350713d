"""HTTP: the province's ranking of a call (择优推荐) as a CSV or XLSX download.

The same candidates as `GET /calls/{call_id}/ranking`, within the same reach (the ranking of
the caller's province, else 404): the recommended first by rank, then the others by id.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from sqlalchemy import func, select

from shared.api import MAX_INT
from shared.exports import (
    MAX_EXPORT_ROWS,
    Column,
    Export,
    Kind,
    Sheet,
    export_response,
    export_route,
    too_large,
)

from ..domain.errors import RankingNotFound
from ..projections.rankings import ranking_candidates
from ..projections.reviews import reviews
from .dependencies import Reader, UseCases
from .problems import ROLE_REQUIRED, VALIDATION, problems
from .rankings import _visible_ranking

router = APIRouter(tags=["exports 导出"])

CallId = Annotated[str, Path(min_length=1, max_length=64)]
RANKING_COLUMNS = (
    Column("rank", "推荐排序", "Rank", Kind.INTEGER),
    Column("application_id", "申报编号", "Application"),
    Column("unit_name", "申报单位", "Unit"),
    Column("unit_id", "单位编号", "Unit id"),
    Column("status", "状态", "Status"),
    Column("reasons", "不推荐理由", "Reasons not recommended"),
)


@export_route(
    router,
    "/exports/calls/{call_id}/ranking",
    summary="The province's ranking of a call as CSV or XLSX",
    description="A row per candidate: the recommended by rank, then the others by application id.",
    responses=problems(s403=[ROLE_REQUIRED], s404=[RankingNotFound], s422=[VALIDATION]),
)
async def export_ranking(
    call_id: CallId,
    principal: Reader,
    usecases: UseCases,
    asked: Export,
) -> Response:
    ranking = await _visible_ranking(usecases, principal, call_id)
    order = func.coalesce(ranking_candidates.c.rank, MAX_INT)
    query = (
        select(ranking_candidates, reviews.c.unit_name)
        .join(reviews, reviews.c.review_id == ranking_candidates.c.review_id)
        .where(ranking_candidates.c.ranking_id == ranking["ranking_id"])
        .order_by(order, ranking_candidates.c.application_id)
        .limit(MAX_EXPORT_ROWS + 1)
    )
    async with usecases.executor.db.read_engine.connect() as conn:
        found = (await conn.execute(query)).mappings().all()
    too_large(found)
    rows = [
        {**row, "reasons": "；".join(json.loads(row["reasons"])) if row["reasons"] else ""}
        for row in found
    ]
    sheet = Sheet(f"ranking-{ranking['province']}", "择优推荐排序", RANKING_COLUMNS, rows)
    return await export_response(sheet, asked)
