"""HTTP: the finance feed, the reconciliation (JSON, CSV, exports) and the funds per year,
exact to the fen."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shared.api import DEFAULT_PAGE_SIZE, MAX_INT, MAX_PAGE_SIZE, PageParams, page_of
from shared.auth import Principal
from shared.decider import NotFound
from shared.exports import (
    CSV_MEDIA_TYPE,
    Column,
    Export,
    Kind,
    Sheet,
    export_response,
    export_route,
    render_csv,
    too_large,
)
from shared.problems import jsonable

from ..domain.reconciliation import Figures, Reconciliation, Tally
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
FIGURE_NAMES = {
    "planned": ("计划", "Planned"),
    "scheduled": ("未到期", "Scheduled"),
    "due": ("待审批", "Due"),
    "approved": ("已审批待拨付", "Approved"),
    "held": ("暂缓拨付", "Held"),
    "paid": ("已拨付", "Paid"),
    "cancelled": ("已取消", "Cancelled"),
    "returned": ("退回", "Returned"),
}


def _figure_columns(money: Kind) -> tuple[Column, ...]:
    """A count and an amount per figure; the amount in fen (`Kind.INTEGER`, the machine CSV)
    or in 元 (`Kind.MONEY`, the exports)."""
    unit_zh, unit_en = ("分", "fen") if money is Kind.INTEGER else ("元", "yuan")
    columns = []
    for name in FIGURES:
        zh, en = FIGURE_NAMES[name]
        columns += [
            Column(f"{name}_count", f"{zh}笔数", f"{en} count", Kind.INTEGER),
            Column(f"{name}_fen", f"{zh}金额（{unit_zh}）", f"{en} amount ({unit_en})", money),
        ]
    return tuple(columns)


def reconciliation_columns(money: Kind) -> tuple[Column, ...]:
    return (
        Column("scope", "范围", "Scope"),
        Column("base_id", "基地编号", "Base"),
        Column("year", "年度", "Year", Kind.INTEGER),
        *_figure_columns(money),
    )


CSV_HEADER = [c.key for c in reconciliation_columns(Kind.INTEGER)]


def _row(scope: str, base_id: str, year: int | None, figures: Figures) -> dict[str, Any]:
    row: dict[str, Any] = {"scope": scope, "base_id": base_id, "year": year}
    for name in FIGURES:
        tally = getattr(figures, name)
        row[f"{name}_count"], row[f"{name}_fen"] = tally.count, tally.amount_fen
    return row


def reconciliation_rows(result: Reconciliation) -> list[dict[str, Any]]:
    """A row per base and year, one per base, and the total."""
    rows = []
    for base in result.bases:
        rows += [_row("year", base.base_id, y.year, y.figures) for y in base.years]
        rows.append(_row("base", base.base_id, None, base.total))
    rows.append(_row("total", "", None, result.total))
    return rows


@router.get(
    "/reconciliation.csv",
    summary="The reconciliation as CSV: a row per base and year, per base, and the total",
    description="The machine's file: the column keys as headers, amounts in integer fen, no"
    " byte-order mark. For people: `/exports/reconciliation` (元, zh/en headers, CSV or XLSX).",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def reconciliation_csv(
    principal: PlanReader, usecases: UseCases, base_id: BaseFilter = None
) -> Response:
    result = await _reconcile(principal, usecases, base_id)
    sheet = Sheet(
        "funding-reconciliation",
        "补助资金对账",
        reconciliation_columns(Kind.INTEGER),
        reconciliation_rows(result),
    )
    return Response(
        render_csv(sheet, None, bom=False),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="funding-reconciliation.csv"'},
    )


@export_route(
    router,
    "/exports/reconciliation",
    summary="The reconciliation as CSV or XLSX, amounts in 元: the rows of the CSV",
    description="A row per base and year, per base, and the total, within your reach (as"
    " `/reconciliation`).",
)
async def export_reconciliation(
    principal: PlanReader,
    usecases: UseCases,
    asked: Export,
    base_id: BaseFilter = None,
) -> Response:
    result = await _reconcile(principal, usecases, base_id)
    rows = reconciliation_rows(result)
    too_large(rows)
    sheet = Sheet(
        "funding-reconciliation", "补助资金对账", reconciliation_columns(Kind.MONEY), rows
    )
    return await export_response(sheet, asked)


class YearFunds(BaseModel):
    year: int = Field(description="the calendar year (CST) the instalments fall due")
    planned: Tally
    paid: Tally
    cancelled: Tally
    returned: Tally


class FundStatistics(BaseModel):
    years: list[YearFunds] = Field(description="a row per year that has instalments, in order")
    total: YearFunds | None = Field(description="every year's sum; year 0. Null: no plans")


YEAR_FIGURES = ("planned", "paid", "cancelled", "returned")


def funds_per_year(result: Reconciliation) -> list[dict[str, Any]]:
    """Every base's figures in reach summed per year: planned, paid, cancelled, returned."""
    years: dict[int, Figures] = {}
    for base in result.bases:
        for y in base.years:
            years[y.year] = years.get(y.year, Figures()) + y.figures
    return [
        {"year": year, **{name: getattr(figures, name) for name in YEAR_FIGURES}}
        for year, figures in sorted(years.items())
    ]


@router.get(
    "/statistics/funds",
    summary="Funds planned, paid, cancelled and returned per year, in fen (dashboards)",
    description="Within your reach as `/reconciliation`: a row per year, answered whole (one"
    " per year of the programme).",
)
async def fund_statistics(principal: PlanReader, usecases: UseCases) -> FundStatistics:
    result = await _reconcile(principal, usecases, None)
    years = funds_per_year(result)
    total = None
    if years:
        total = {"year": 0, **{name: getattr(result.total, name) for name in YEAR_FIGURES}}
    return FundStatistics.model_validate({"years": years, "total": total}, from_attributes=True)


FUNDS_COLUMNS = (
    Column("year", "年度", "Year", Kind.INTEGER),
    *(
        column
        for column in _figure_columns(Kind.MONEY)
        if column.key.rsplit("_", 1)[0] in YEAR_FIGURES
    ),
)


@export_route(
    router,
    "/exports/funds",
    summary="Funds planned, paid, cancelled and returned per year as CSV or XLSX, in 元",
    description="The rows of `/statistics/funds`.",
)
async def export_funds(
    principal: PlanReader,
    usecases: UseCases,
    asked: Export,
) -> Response:
    result = await _reconcile(principal, usecases, None)
    rows = []
    for year in funds_per_year(result):
        row: dict[str, Any] = {"year": year["year"]}
        for name in YEAR_FIGURES:
            row[f"{name}_count"], row[f"{name}_fen"] = year[name].count, year[name].amount_fen
        rows.append(row)
    return await export_response(
        Sheet("funding-per-year", "年度资金统计", FUNDS_COLUMNS, rows), asked
    )
