"""HTTP: the finance feed and the reconciliation (JSON and CSV), exact to the fen."""

from __future__ import annotations

import csv
import io
from dataclasses import fields, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shared.api import DEFAULT_PAGE_SIZE, MAX_INT, MAX_PAGE_SIZE, PageParams, page_of
from shared.auth import Principal
from shared.decider import NotFound
from shared.problems import jsonable

from ..domain.reconciliation import Figures, Reconciliation
from ..usecases.queries import FEED_MAX_PAGE
from .dependencies import (
    FinanceOrAuditor,
    PlanReader,
    UseCases,
    audited_provinces,
    own_unit,
    require_nationwide_reader,
)

router = APIRouter(tags=["finance 财务"])


class FeedItem(BaseModel):
    position: int = Field(description="the event's global position in the funding store")
    event: dict[str, Any] = Field(description="the CloudEvents 1.0 envelope, as stored")


class FeedPage(BaseModel):
    items: list[FeedItem] = Field(
        description=f"at most `limit` events, and never more than {FEED_MAX_PAGE}"
    )
    next_cursor: int = Field(
        description="pass as `after` for the next page; stable. Unlike the other lists, never"
        " null: the feed is followed, and an empty page means nothing new yet"
    )


@router.get(
    "/feed",
    summary="Every funding event in order, from a cursor (finance, auditor)",
    description="Events by global position after `after`, settled (none still being"
    f" committed is passed over). A page holds at most {FEED_MAX_PAGE} events"
    f" (`FEED_MAX_PAGE`): a `limit` above {FEED_MAX_PAGE} is served as {FEED_MAX_PAGE},"
    " not refused; a `limit` below 1 or beyond 64 bits is a 422.",
)
async def feed(
    principal: FinanceOrAuditor,
    usecases: UseCases,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT, description="a `next_cursor`; 0 = from the start")
    ] = 0,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_INT,
            description=f"events per page (default 100); above {FEED_MAX_PAGE} served as"
            f" {FEED_MAX_PAGE} (clamped)",
        ),
    ] = 100,
) -> FeedPage:
    require_nationwide_reader(principal)
    page = await usecases.queries.feed(after, limit)
    return FeedPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


BaseFilter = Annotated[str | None, Query(min_length=1, max_length=120)]


async def _reconcile(
    principal: Principal, usecases: UseCases, base_id: str | None
) -> Reconciliation:
    """Finance: every base (or the one asked); an auditor: those of their provinces; a unit:
    its own bases only."""
    unit, provinces = own_unit(principal), audited_provinces(principal)
    allowed = None if unit is None else await usecases.queries.bases_of_unit(unit)
    if provinces is not None:
        allowed = await usecases.queries.bases_in(provinces)
    if base_id is not None:
        if allowed is not None and base_id not in allowed:
            raise NotFound(f"no subsidy plan for base {base_id}")
        allowed = {base_id}
    return await usecases.queries.reconciliation(allowed)


@router.get(
    "/reconciliation",
    summary="Planned, due, approved, paid, held, cancelled, returned: per base, year, in total",
    description="`total` spans every base in the caller's reach; `bases` (by base id) come in"
    f" pages of `limit` (default {DEFAULT_PAGE_SIZE}, 1–{MAX_PAGE_SIZE}); pass `next_cursor`"
    " (the last base id) as `cursor` for the next (null: no more). The CSV"
    " (`/reconciliation.csv`) is the whole report, one file.",
)
async def reconciliation(
    principal: PlanReader, usecases: UseCases, page: PageParams, base_id: BaseFilter = None
) -> dict[str, Any]:
    limit, cursor = page
    result = await _reconcile(principal, usecases, base_id)
    bases = page_of(
        [b for b in result.bases if cursor is None or b.base_id > cursor],
        limit,
        lambda b: b.base_id,
    )
    answer: dict[str, Any] = jsonable(replace(result, bases=tuple(bases.items)))
    return answer | {"next_cursor": bases.next_cursor}


FIGURES = [f.name for f in fields(Figures)]
CSV_HEADER = [
    "scope",
    "base_id",
    "year",
    *(f"{name}_{part}" for name in FIGURES for part in ("count", "fen")),
]


def _csv_row(scope: str, base_id: str, year: str, figures: Figures) -> list[str]:
    cells = []
    for name in FIGURES:
        tally = getattr(figures, name)
        cells += [str(tally.count), str(tally.amount_fen)]
    return [scope, base_id, year, *cells]


@router.get(
    "/reconciliation.csv",
    summary="The reconciliation as CSV: a row per base and year, per base, and the total",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def reconciliation_csv(
    principal: PlanReader, usecases: UseCases, base_id: BaseFilter = None
) -> Response:
    result = await _reconcile(principal, usecases, base_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for base in result.bases:
        for year in base.years:
            writer.writerow(_csv_row("year", base.base_id, str(year.year), year.figures))
        writer.writerow(_csv_row("base", base.base_id, "", base.total))
    writer.writerow(_csv_row("total", "", "", result.total))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="funding-reconciliation.csv"'},
    )
