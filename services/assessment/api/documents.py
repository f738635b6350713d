"""HTTP: a base's rectification notice (整改通知) and a year's grade list (考核等次名单) — issued
by the national department (the list also by the leading group), read by the base's unit and by
officials and auditors who reach it (the whole list: nationwide readers) — and the auditor's
check of a document against the issues recorded in the stream."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.engine import RowMapping

from shared.auth import NATIONWIDE, CurrentPrincipal, Principal, Role, forbidden
from shared.document_desk import (
    DocumentDesk,
    DocumentKind,
    DocumentRoutes,
    Subject,
    document_router,
)
from shared.problems import HTTPProblem, problem_type

from ..domain.errors import GradeListNotFound
from ..usecases import AssessmentUseCases
from ..usecases.documents import GRADE_LIST, RECTIFICATION
from ..usecases.grade_lists import grade_list_stream
from .access import base_in_reach


def _usecases(request: Request) -> AssessmentUseCases:
    usecases: AssessmentUseCases = request.app.state.usecases
    return usecases


def _desk(request: Request) -> DocumentDesk:
    return _usecases(request).documents


async def _reader(principal: CurrentPrincipal) -> Principal:
    """Anyone signed in: what each may reach is the object's to say (`access.can_see`)."""
    return principal


async def _base(request: Request, principal: Principal, base_id: str) -> Subject:
    async with _usecases(request).executor.db.read_engine.connect() as conn:
        row = await base_in_reach(conn, principal, base_id)
    return Subject(row["base_id"], row["case_id"], row["jurisdiction"], row["unit_id"])


async def _grade_list(request: Request, principal: Principal, year: str) -> Subject:
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        raise HTTPProblem(
            422,
            "Invalid request",
            f"A grade list's year lies in 2000–2100, not {year!r}.",
            type_=problem_type("invalid-request"),
        )
    # The list is national: only a nationwide official or auditor reads it whole.
    if principal.has(Role.APPLICANT) or not any(c in NATIONWIDE for c in principal.jurisdictions):
        raise GradeListNotFound(f"no grade list for {year} within your reach")
    stream = grade_list_stream(int(year))
    return Subject(stream, stream, "CN")


def _may_issue(principal: Principal, kind: DocumentKind) -> None:
    roles = (Role.NATIONAL_REVIEWER, Role.LEADING_GROUP) if kind is GRADE_LIST else ()
    if not principal.has(Role.NATIONAL_REVIEWER, *roles):  # the department proposes, Art. 12
        raise forbidden(f"Issuing the {kind.name} needs the national department.", "role-required")


def _may_see(principal: Principal, row: RowMapping) -> bool:
    """`access.can_see`, for an issued document's row."""
    if principal.has(Role.APPLICANT) and principal.belongs_to(row["owner"]):
        return True
    officials = principal.roles - {Role.APPLICANT}
    return bool(officials) and principal.covers(row["jurisdiction"])


base_router = document_router(
    DocumentRoutes(
        base="/bases/{base_id}",
        param="base_id",
        kinds=(RECTIFICATION,),
        desk=_desk,
        subject=_base,
        may_issue=_may_issue,
        reader=_reader,
        may_see=_may_see,
    )
)
grade_list_router = document_router(
    DocumentRoutes(
        base="/grade-lists/{year}",
        param="year",
        kinds=(GRADE_LIST,),
        desk=_desk,
        subject=_grade_list,
        may_issue=_may_issue,
        reader=_reader,
        may_see=_may_see,
    ),
    verify=False,
)
