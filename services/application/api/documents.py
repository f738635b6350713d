"""HTTP: an application's documents — the filled Annex 2 form for the signed and sealed paper
copies (issued by its unit or a reviewer), the receipt record (by the receiving office) — read
by the unit itself and by reviewers and auditors in its jurisdiction; and the auditor's check of
a document against the issues recorded in the stream."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.engine import RowMapping

from shared.auth import Principal, Role, forbidden, require_roles
from shared.document_desk import (
    DocumentDesk,
    DocumentKind,
    DocumentRoutes,
    Subject,
    document_router,
)

from ..usecases import ApplicationUseCases
from ..usecases.documents import KINDS_ISSUED, RECEIPT
from ..usecases.queries import Scope
from .access import READERS

#: Who may print a document: the receipt only the receiving office; the form also its unit.
_OFFICES = (Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER)
_ISSUERS = (Role.APPLICANT, *_OFFICES, Role.NATIONAL_REVIEWER)


def _usecases(request: Request) -> ApplicationUseCases:
    usecases: ApplicationUseCases = request.app.state.usecases
    return usecases


def _desk(request: Request) -> DocumentDesk:
    return _usecases(request).documents


def _scope(principal: Principal) -> Scope:
    unit = principal.org_id if principal.has(Role.APPLICANT) else None
    return Scope(unit, principal.jurisdictions if principal.has(*READERS) else ())


async def _subject(request: Request, principal: Principal, application_id: str) -> Subject:
    row = await _usecases(request).queries.application(_scope(principal), application_id)
    return Subject(row["application_id"], row["case_id"], row["jurisdiction"], row["unit_id"])


def _may_issue(principal: Principal, kind: DocumentKind) -> None:
    roles = _OFFICES if kind is RECEIPT else _ISSUERS
    if not principal.has(*roles):
        wanted = ", ".join(roles)
        raise forbidden(
            f"Issuing the {kind.name} needs one of the roles: {wanted}.", "role-required"
        )


def _may_see(principal: Principal, row: RowMapping) -> bool:
    own = principal.has(Role.APPLICANT) and principal.belongs_to(row["owner"])
    return own or (principal.has(*READERS) and principal.covers(row["jurisdiction"]))


router = document_router(
    DocumentRoutes(
        base="/applications/{application_id}",
        param="application_id",
        kinds=KINDS_ISSUED,
        desk=_desk,
        subject=_subject,
        may_issue=_may_issue,
        reader=require_roles(Role.APPLICANT, *READERS),
        may_see=_may_see,
    ),
)
