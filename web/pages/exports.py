"""Search, the programme's statistics, and the exports (检索、统计与导出) for the officials.

The search page finds applications (application service) and bases (assessment service) by a
unit's name — two characters are enough — its credit code, or words of the overview. The
dashboard shows what each service counts for the person's role and reach: the cases per stage
and province, the annual reports (overdue ones above all), the funds per year. Every list the
services export is fetched here with the person's own token, so it holds what they may see:
the dashboard's lists, the reconciliation, the province's ranking of a call and a year's grade
list (linked from their own pages).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from shared.auth import Role

from ..fields import ID
from ..i18n import N_
from ..paging import PAGE
from ..visit import CurrentVisit, NavItem
from .assessment import LIST_READERS

router = APIRouter()

#: Who reads applications within a jurisdiction (the application service's readers).
CASE_READERS = (
    Role.PREFECTURE_REVIEWER,
    Role.PROVINCE_REVIEWER,
    Role.NATIONAL_REVIEWER,
    Role.LEADING_GROUP,
    Role.GENERAL_OFFICE,
    Role.AUDITOR,
)
#: Who reads the funding service's figures.
FUNDS_READERS = (Role.FINANCE, Role.AUDITOR)
DASHBOARD = (*CASE_READERS, *FUNDS_READERS)
NAV: list[NavItem] = [
    NavItem(N_("Search"), "/search", frozenset(CASE_READERS)),
    NavItem(N_("Statistics"), "/statistics", frozenset(DASHBOARD)),
]

#: The exports the console hands on: (service, path, who may ask, the file's Chinese name).
#: An export of one record names it in its path and file name (`{call_id}`, `{year}`), from the
#: console's query: `/exports/ranking.csv?call_id=…`, `/exports/grade-list.xlsx?year=2022`.
EXPORTS: dict[str, tuple[str, str, tuple[Role, ...], str]] = {
    "applications": ("application", "/exports/applications", CASE_READERS, "申报列表"),
    "cases": ("application", "/exports/cases", CASE_READERS, "申报统计"),
    "bases": ("assessment", "/exports/bases", DASHBOARD, "工作基地"),
    "reports": ("assessment", "/exports/reports", CASE_READERS, "年度报告统计"),
    "funds": ("funding", "/exports/funds", FUNDS_READERS, "年度资金统计"),
    "reconciliation": ("funding", "/exports/reconciliation", FUNDS_READERS, "补助资金对账"),
    "ranking": (
        "review",
        "/exports/calls/{call_id}/ranking",
        (Role.PROVINCE_REVIEWER,),
        "择优推荐排序",
    ),
    "grade-list": (
        "assessment",
        "/exports/grade-lists/{year}",
        LIST_READERS,
        "{year}年度考核等次名单",
    ),
}
STATUSES = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "returned": N_("Returned for changes"),
    "withdrawn": N_("Withdrawn"),
    "rejected": N_("Rejected"),
    "designated": N_("Designated"),
    "active": N_("Active"),
    "revoked": N_("Revoked"),
    "expired": N_("Expired"),
}
PROGRAMMES = {
    "national_base": N_("CAST HaiZhi Plan work base (national)"),
    "provincial_workstation": N_("Provincial CAST HaiZhi work station"),
}
Kind = Literal["applications", "bases"]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/search")
async def search(
    visit: CurrentVisit,
    q: Annotated[str, Query(max_length=100)] = "",
    kind: Kind = "applications",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Applications or bases within the person's reach, by name, credit code or overview."""
    visit.require(*CASE_READERS)
    found: dict[str, Any] | None = None
    if q.strip():
        service, path = (
            ("application", "/search/applications")
            if kind == "applications"
            else ("assessment", "/search/bases")
        )
        found = await visit.get(service, path, q=q.strip(), limit=PAGE, cursor=cursor)
    return visit.page("exports/search.html", q=q, kind=kind, found=found, statuses=STATUSES)


@router.get("/statistics")
async def statistics(visit: CurrentVisit, year: Year = None) -> Response:
    """The dashboard: what each service counts, for this person's role and reach."""
    person = visit.require(*DASHBOARD)
    cases = reports = funds = None
    if person.has(*CASE_READERS):
        cases = await visit.get("application", "/statistics/cases", year=year)
        reports = await visit.get("assessment", "/statistics/reports", year=year)
    if person.has(*FUNDS_READERS):
        funds = await visit.get("funding", "/statistics/funds")
    exports = [name for name, (_, _, roles, _) in EXPORTS.items() if person.has(*roles)]
    return visit.page(
        "exports/statistics.html",
        year=year,
        cases=cases,
        reports=reports,
        funds=funds,
        exports=exports,
        statuses=STATUSES,
        programmes=PROGRAMMES,
    )


@router.get("/exports/{name}.{format}")
async def download(
    visit: CurrentVisit,
    name: Annotated[str, Path(pattern=r"^[a-z-]{1,40}$")],
    format: Literal["csv", "xlsx"],
    year: Year = None,
    base_id: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    call_id: Annotated[str | None, Query(pattern=ID)] = None,
) -> Response:
    """A service's export, fetched with the person's own token, headers in their language."""
    if name not in EXPORTS:
        return visit.page("error.html", status=404, explanation=None)
    service, path, roles, title = EXPORTS[name]
    visit.require(*roles)
    named = {key: value for key, value in (("call_id", call_id), ("year", year)) if value}
    try:
        path, title = path.format(**named), title.format(**named)
    except KeyError:  # an export of one record, without the record
        return visit.page("error.html", status=404, explanation=None)
    params = {"format": format, "lang": "zh" if visit.t.language == "zh" else "en"}
    if year is not None and name in ("cases", "reports"):
        params["year"] = str(year)
    if base_id and name == "reconciliation":
        params["base_id"] = base_id
    found = await visit.download(service, path, **params)
    return visit.file(found, f"{title}.{format}")
