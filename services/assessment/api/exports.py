"""HTTP: search of bases, the annual reports per year and province (overdue ones above all),
and the exports of bases with their terms, grade lists and report statistics.

Each keeps to the caller's reach exactly as `GET /bases` and `GET /grade-lists/{year}` do
(`visible_bases`): an applicant its unit's bases, an official those of its jurisdictions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Integer, case, cast, func, select

from shared.api import PAGING, Page, PageParams
from shared.auth import CurrentPrincipal
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
from shared.search import SearchText, matching, wanted_terms

from ..domain.errors import GradeListNotFound
from ..projections.base_years import base_years
from ..projections.bases import bases
from ..projections.grade_lists import grade_list_entries, grade_lists
from ..projections.search import search_terms
from .access import visible_bases
from .bases import BaseView
from .dependencies import UseCases

router = APIRouter(tags=["search, statistics and exports 检索、统计与导出"])

Status = Annotated[str | None, Query(pattern=r"^(active|revoked|expired)$")]
Jurisdiction = Annotated[str | None, Query(pattern=r"^\d{2,12}$")]
ListYear = Annotated[int, Path(ge=2000, le=2100)]
ReportYear = Annotated[int | None, Query(ge=2000, le=2100, description="one year; all if absent")]

BASE_COLUMNS = (
    Column("base_id", "基地编号", "Base"),
    Column("unit_name", "依托单位", "Unit"),
    Column("province", "省份", "Province"),
    Column("jurisdiction", "行政区划", "Jurisdiction"),
    Column("status", "状态", "Status"),
    Column("term_start", "任期开始", "Term start", Kind.DATE),
    Column("term_end", "任期结束", "Term end", Kind.DATE),
    Column("first_report_year", "首个报告年度", "First report year", Kind.INTEGER),
    Column("renewal_requested_on", "续期申请日", "Renewal requested on", Kind.DATE),
    Column("ended_on", "终止日", "Ended on", Kind.DATE),
    Column("ended_reason", "终止原因", "Ended because"),
)
GRADE_COLUMNS = (
    Column("base_id", "基地编号", "Base"),
    Column("unit_name", "依托单位", "Unit"),
    Column("jurisdiction", "行政区划", "Jurisdiction"),
    Column("suggested_grade", "建议等次", "Suggested grade"),
    Column("grade", "拟定等次", "Proposed grade"),
    Column("reason", "调整理由", "Reason"),
    Column("final_grade", "确定等次", "Final grade"),
    Column("amendment_reason", "领导小组调整理由", "Amendment reason"),
)
REPORT_COLUMNS = (
    Column("year", "年度", "Year", Kind.INTEGER),
    Column("province", "省份", "Province"),
    Column("bases", "基地数", "Bases", Kind.INTEGER),
    Column("filed", "已报送", "Filed", Kind.INTEGER),
    Column("filed_late", "逾期报送", "Filed late", Kind.INTEGER),
    Column("overdue", "逾期未报", "Overdue", Kind.INTEGER),
)


class ReportsPerProvince(BaseModel):
    year: int
    province: str
    bases: int
    filed: int
    filed_late: int
    overdue: int


class ReportStatistics(BaseModel):
    rows: list[ReportsPerProvince]
    overdue: int


@router.get(
    "/search/bases",
    summary="Bases within your reach by their unit's name",
    description="Every term of `q` must match (two CJK characters are enough); by base id, the"
    " cursor is the last id read. A credit code or overview words: search the applications"
    " (application service), which carry the `base_id`." + PAGING,
)
async def search_bases(
    principal: CurrentPrincipal, usecases: UseCases, page: PageParams, q: SearchText
) -> Page[BaseView]:
    limit, cursor = page
    found = matching(search_terms, "base", wanted_terms(q))
    query = select(bases).where(visible_bases(principal), bases.c.base_id.in_(found))
    if cursor:
        query = query.where(bases.c.base_id > cursor)
    rows = await _rows(usecases, query.order_by(bases.c.base_id).limit(limit + 1))
    items = [BaseView.model_validate({k: r[k] for k in BaseView.model_fields}) for r in rows]
    more = len(items) > limit
    return Page(items=items[:limit], next_cursor=items[limit - 1].base_id if more else None)


async def _rows(usecases: UseCases, query: Any) -> list[dict[str, Any]]:
    async with usecases.executor.db.read_engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings().all()]


@export_route(
    router,
    "/exports/bases",
    summary="The bases within your reach and their terms as CSV or XLSX (filters as the list)",
    description="A row per base, by id.",
)
async def export_bases(
    principal: CurrentPrincipal,
    usecases: UseCases,
    asked: Export,
    status: Status = None,
    jurisdiction: Jurisdiction = None,
) -> Response:
    query = select(bases).where(visible_bases(principal)).order_by(bases.c.base_id)
    if status:
        query = query.where(bases.c.status == status)
    if jurisdiction:
        query = query.where(bases.c.jurisdiction.startswith(jurisdiction, autoescape=True))
    rows = await _rows(usecases, query.limit(MAX_EXPORT_ROWS + 1))
    too_large(rows)
    return await export_response(Sheet("bases", "工作基地", BASE_COLUMNS, rows), asked)


@export_route(
    router,
    "/exports/grade-lists/{year}",
    summary="The grade list of a year as CSV or XLSX: the entries you may see",
    description="A row per base on the list, by id (the entries of `GET /grade-lists/{year}`).",
)
async def export_grade_list(
    year: ListYear,
    principal: CurrentPrincipal,
    usecases: UseCases,
    asked: Export,
) -> Response:
    head = await _rows(usecases, select(grade_lists.c.year).where(grade_lists.c.year == year))
    if not head:
        raise GradeListNotFound(f"no grade list for {year}")
    e = grade_list_entries.c
    query = (
        select(e.base_id, e.grade, e.suggested_grade, e.reason, e.final_grade, e.amendment_reason)
        .add_columns(bases.c.unit_name, bases.c.jurisdiction)
        .join(bases, bases.c.base_id == e.base_id)
        .where(e.year == year, visible_bases(principal))
        .order_by(e.base_id)
        .limit(MAX_EXPORT_ROWS + 1)
    )
    rows = await _rows(usecases, query)
    too_large(rows)
    sheet = Sheet(f"grade-list-{year}", f"{year}年度考核等次名单", GRADE_COLUMNS, rows)
    return await export_response(sheet, asked)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(cast(case((condition, 1), else_=0), Integer)), 0)


async def _report_rows(
    principal: CurrentPrincipal, usecases: UseCases, year: int | None
) -> list[dict[str, Any]]:
    """Per year and province, the bases with a report year, and how many filed, filed late,
    and are overdue (not filed by the due date: `AnnualReportOverdue`)."""
    y = base_years.c
    query = (
        select(
            y.year,
            bases.c.province,
            func.count().label("bases"),
            _count(y.report_status.in_(("filed", "forwarded"))).label("filed"),
            _count(y.filed_late.is_(True)).label("filed_late"),
            _count(y.report_overdue.is_(True)).label("overdue"),
        )
        .join(bases, bases.c.base_id == y.base_id)
        .where(visible_bases(principal), y.report_status != "not_open")
        .group_by(y.year, bases.c.province)
        .order_by(y.year, bases.c.province)
    )
    if year is not None:
        query = query.where(y.year == year)
    return await _rows(usecases, query)


@router.get(
    "/statistics/reports",
    summary="Annual reports per year and province: bases, filed, filed late, overdue",
    description="Years whose reporting opened, within your reach; a row per year and province,"
    " answered whole (bounded by the programme's years × provinces).",
)
async def report_statistics(
    principal: CurrentPrincipal, usecases: UseCases, year: ReportYear = None
) -> ReportStatistics:
    rows = await _report_rows(principal, usecases, year)
    overdue = sum(int(r["overdue"]) for r in rows)
    return ReportStatistics.model_validate({"rows": rows, "overdue": overdue})


@export_route(
    router,
    "/exports/reports",
    summary="Annual reports per year and province as CSV or XLSX",
    description="The rows of `/statistics/reports`.",
)
async def export_reports(
    principal: CurrentPrincipal,
    usecases: UseCases,
    asked: Export,
    year: ReportYear = None,
) -> Response:
    rows = await _report_rows(principal, usecases, year)
    sheet = Sheet("annual-reports", "年度报告统计", REPORT_COLUMNS, rows)
    return await export_response(sheet, asked)
