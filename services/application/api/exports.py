"""HTTP: search (applications, units), the cases per stage, and the exports of both lists.

Each answers within the reader's reach exactly as the lists do (`ReaderScope`): an applicant
its own unit's, a reviewer those of its jurisdictions, never a draft never submitted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from shared.api import PAGING, Page, PageParams
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
from shared.search import SearchText, wanted_terms

from ..domain.events import Category, Programme, Route
from ..usecases.queries import ApplicationFilter
from .access import ReaderScope
from .dependencies import UseCases
from .units import UnitView, unit_view
from .views import ApplicationSummary, summary

router = APIRouter(tags=["search, statistics and exports 检索、统计与导出"])

Year = Annotated[int | None, Query(ge=2000, le=2100, description="a call's year; all if absent")]
Status = Annotated[
    str | None, Query(pattern=r"^(draft|submitted|returned|withdrawn|rejected|designated)$")
]

APPLICATION_COLUMNS = (
    Column("application_id", "申报编号", "Application"),
    Column("unit_name", "申报单位", "Unit"),
    Column("credit_code", "统一社会信用代码", "Credit code"),
    Column("category", "单位类别", "Category"),
    Column("level", "单位级别", "Level"),
    Column("province", "省份", "Province"),
    Column("jurisdiction", "行政区划", "Jurisdiction"),
    Column("programme", "申报类型", "Programme"),
    Column("route", "申报途径", "Route"),
    Column("status", "状态", "Status"),
    Column("revision", "提交次数", "Revision", Kind.INTEGER),
    Column("call_id", "申报通知", "Call"),
    Column("base_id", "基地编号", "Base"),
    Column("updated_at", "更新时间", "Updated at"),
)
CASES_COLUMNS = (
    Column("year", "年度", "Year", Kind.INTEGER),
    Column("province", "省份", "Province"),
    Column("programme", "申报类型", "Programme"),
    Column("status", "状态", "Status"),
    Column("cases", "件数", "Cases", Kind.INTEGER),
)


class CasesPerStage(BaseModel):
    year: int
    province: str
    programme: str
    status: str
    cases: int


class CaseStatistics(BaseModel):
    rows: list[CasesPerStage]
    by_status: dict[str, int]
    total: int


@router.get(
    "/search/applications",
    summary="Applications within your reach by unit name, credit code or overview words",
    description="Every term of `q` must match (two CJK characters are enough); by application"
    " id, the cursor is the last id read." + PAGING,
)
async def search_applications(
    scope: ReaderScope, usecases: UseCases, page: PageParams, q: SearchText
) -> Page[ApplicationSummary]:
    limit, cursor = page
    rows = await usecases.queries.search_applications(scope, wanted_terms(q), limit, cursor)
    items = [summary(row) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].application_id if more else None)


@router.get(
    "/search/units",
    summary="Registered units within your reach by name or credit code",
    description="Every term of `q` must match; by unit id, the cursor is the last id read."
    + PAGING,
)
async def search_units(
    scope: ReaderScope, usecases: UseCases, page: PageParams, q: SearchText
) -> Page[UnitView]:
    limit, cursor = page
    rows = await usecases.queries.search_units(scope, wanted_terms(q), limit, cursor)
    items = [UnitView.model_validate(unit_view(row)) for row in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].unit_id if more else None)


@router.get(
    "/statistics/cases",
    summary="Applications within your reach per call year, province, programme and status",
    description="A row per (year, province, programme, status) that has cases: at most the"
    " years × provinces × 2 programmes × 6 statuses, answered whole.",
)
async def case_statistics(
    scope: ReaderScope, usecases: UseCases, year: Year = None
) -> CaseStatistics:
    rows = await usecases.queries.cases_per_stage(scope, year)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["cases"]
    return CaseStatistics.model_validate(
        {"rows": rows, "by_status": by_status, "total": sum(by_status.values())}
    )


@export_route(
    router,
    "/exports/applications",
    summary="The applications list within your reach as CSV or XLSX (same filters as the list)",
    description="A row per application, by id.",
)
async def export_applications(
    scope: ReaderScope,
    usecases: UseCases,
    asked: Export,
    call_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    status: Status = None,
    route: Route | None = None,
    category: Category | None = None,
    programme: Programme | None = None,
) -> Response:
    where = ApplicationFilter(call_id, status, route, category, programme)
    rows = await usecases.queries.applications(scope, where, MAX_EXPORT_ROWS, None)
    too_large(rows)
    sheet = Sheet("applications", "申报列表", APPLICATION_COLUMNS, rows)
    return await export_response(sheet, asked)


@export_route(
    router,
    "/exports/cases",
    summary="The cases per year, province, programme and status as CSV or XLSX",
    description="The rows of `/statistics/cases`.",
)
async def export_cases(
    scope: ReaderScope,
    usecases: UseCases,
    asked: Export,
    year: Year = None,
) -> Response:
    rows = await usecases.queries.cases_per_stage(scope, year)
    return await export_response(Sheet("cases", "申报统计", CASES_COLUMNS, rows), asked)
