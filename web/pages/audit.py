"""The auditor's pages (审计): a case's whole timeline, the services' records verified, a case
as of a chosen time. The auditor reads and changes nothing.

Every service answers a case's timeline from the `HAIZHI` stream, so one service tells the
whole case; each event carries its hash and whether its signature verified. The verification
and the view "as of" a time are each service's own, so they are asked of all four.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from shared.auth import Role

from ..annex2 import standalone_labels
from ..backend import ServiceProblem
from ..errors import explain
from ..i18n import N_
from ..paging import PAGE
from ..settings import NOTIFICATION, SERVICES
from ..visit import CST, CurrentVisit, NavItem, Visit

router = APIRouter()
NAV: list[NavItem] = [NavItem(N_("Audit"), "/audit", frozenset({Role.AUDITOR}))]

SERVICE_NAMES = {
    "application": N_("Applications (application service)"),
    "review": N_("Reviews (review service)"),
    "assessment": N_("Annual assessment (assessment service)"),
    "funding": N_("Subsidy funding (funding service)"),
    NOTIFICATION: N_("Notifications (notification service)"),
}
APPLICATION_STATUSES = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted (申报)"),
    "returned": N_("Returned for revision (退回修改)"),
    "withdrawn": N_("Withdrawn"),
    "rejected": N_("Not approved (不予通过)"),
    "designated": N_("Designated a base"),
}
PROGRAMMES = {
    "national_base": N_("CAST HaiZhi Plan work base (national)"),
    "provincial_workstation": N_("Provincial CAST HaiZhi work station"),
}
_CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _case_path(case_id: str) -> str:
    return f"/audit/cases/{quote(case_id, safe='')}"


def instant_of(typed: str) -> datetime | None:
    """A CST date-time as typed ("2022-03-20T10:00", "2022-03-20 10:00") as a UTC instant; a
    date alone means the end of that day (24:00 CST). None when it is neither."""
    text = unicodedata.normalize("NFKC", typed).strip().replace(" ", "T")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", text):
        return None
    try:
        if "T" not in text:
            day = datetime.fromisoformat(text).date()
            moment = datetime.combine(day, time(), CST) + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text).replace(tzinfo=CST)
    except ValueError:
        return None
    return moment.astimezone(UTC)


async def _each_service(
    visit: Visit, path: str, services: tuple[str, ...] = SERVICES, **params: str
) -> list[tuple[str, dict[str, Any] | None, Any]]:
    """`path` asked of each service at once: (service, answer, or None and why it failed)."""

    async def ask(service: str) -> tuple[str, dict[str, Any] | None, Any]:
        try:
            return service, await visit.get(service, path, **params), None
        except ServiceProblem as problem:
            if problem.status == 401:
                raise
            return service, None, explain(problem.status, problem.problem, visit.t.gettext)

    return list(await asyncio.gather(*(ask(service) for service in services)))


@router.get("/audit")
async def find_case(
    visit: CurrentVisit,
    case_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Find a case: by its id, or from the applications the auditor may read."""
    visit.require(Role.AUDITOR)
    typed = (case_id or "").strip()
    if typed and _CASE_ID.fullmatch(typed):
        return visit.redirect(_case_path(typed))
    wanted = status if status in APPLICATION_STATUSES else None
    page = await visit.get("application", "/applications", limit=PAGE, cursor=cursor, status=wanted)
    return visit.page(
        "audit/find.html",
        status=422 if typed else 200,
        applications=page["items"],
        next_cursor=page.get("next_cursor"),
        chosen_status=wanted or "",
        statuses=APPLICATION_STATUSES,
        programmes=PROGRAMMES,
        typed=typed,
        bad_case_id=bool(typed),
        case_path=_case_path,
    )


@router.get("/audit/verify")
async def verify(visit: CurrentVisit) -> Response:
    """Every service's hash chains, signatures, and its events against the stream's."""
    visit.require(Role.AUDITOR)
    # every store the console reaches: the four, and the notifier's when it is configured
    every = (*SERVICES, NOTIFICATION) if visit.settings.notifications else SERVICES
    results = await _each_service(visit, "/audit/verify", every)
    return visit.page("audit/verify.html", results=results, services=SERVICE_NAMES)


@router.get("/audit/cases/{case_id}")
async def timeline(visit: CurrentVisit, case_id: str, cursor: str | None = None) -> Response:
    """The case's whole life across the services, from the stream: one service tells it."""
    visit.require(Role.AUDITOR)
    if not _CASE_ID.fullmatch(case_id):
        return visit.page("audit/no_case.html", status=404, case_id=case_id)
    path = f"/audit/cases/{case_id}/timeline"
    answer: dict[str, Any] | None = None
    for service in SERVICES:  # any one answers; the next if one is unreachable
        try:
            answer = await visit.get(service, path, limit=PAGE, cursor=cursor)
            break
        except ServiceProblem as problem:
            if problem.status not in (502, 503, 504) or service == SERVICES[-1]:
                raise
    assert answer is not None
    return visit.page(
        "audit/timeline.html",
        case_id=case_id,
        events=answer["events"],
        next_cursor=answer.get("next_cursor"),
        first_page=cursor is None,
        services=SERVICE_NAMES,
        case_path=_case_path(case_id),
    )


@router.get("/audit/cases/{case_id}/as-of")
async def as_of(visit: CurrentVisit, case_id: str, at: str | None = None) -> Response:
    """The case as each service knew it at a CST date and time the auditor chooses."""
    visit.require(Role.AUDITOR)
    if not _CASE_ID.fullmatch(case_id):
        return visit.page("audit/no_case.html", status=404, case_id=case_id)
    typed = (at or "").strip()
    moment = instant_of(typed) if typed else None
    results: list[tuple[str, dict[str, Any] | None, Any]] = []
    if moment is not None:
        results = await _each_service(
            visit, f"/audit/cases/{case_id}/as-of", time=moment.isoformat()
        )
    return visit.page(
        "audit/as_of.html",
        status=422 if typed and moment is None else 200,
        case_id=case_id,
        case_path=_case_path(case_id),
        typed=typed,
        bad_time=bool(typed) and moment is None,
        moment=moment,
        results=results,
        services=SERVICE_NAMES,
        form_labels=standalone_labels(visit.say, visit.t.language == "en"),
    )
