"""HTTP: the approval (批复) and the plaque certificate of a review — issued by the general
office, read by reviewers in the review's jurisdiction and by auditors — and the auditor's check
of a document against the issues recorded in the stream."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.engine import RowMapping

from shared.auth import Principal, Role, forbidden, require_roles
from shared.document_desk import (
    DocumentDesk,
    DocumentKind,
    DocumentNoLongerMatches,
    DocumentNotFound,
    DocumentNotReady,
    DocumentRoutes,
    Subject,
    document_router,
)

from ..domain.errors import ReviewNotFound
from ..usecases import ReviewServiceUseCases
from ..usecases.documents import KINDS
from .dependencies import READER_ROLES, visible_review
from .problems import ROLE_REQUIRED, VALIDATION, problems


def _usecases(request: Request) -> ReviewServiceUseCases:
    usecases: ReviewServiceUseCases = request.app.state.usecases
    return usecases


def _desk(request: Request) -> DocumentDesk:
    return _usecases(request).documents


async def _subject(request: Request, principal: Principal, review_id: str) -> Subject:
    row = await visible_review(_usecases(request), principal, review_id)
    return Subject(row["review_id"], row["case_id"], row["jurisdiction"], row["unit_id"])


def _may_issue(principal: Principal, kind: DocumentKind) -> None:
    """The general office issues the approval and awards the plaque (DOMAIN: actors)."""
    if not principal.has(Role.GENERAL_OFFICE):
        raise forbidden(f"Issuing the {kind.name} needs the role general_office.", "role-required")


def _may_see(principal: Principal, row: RowMapping) -> bool:
    return principal.covers(row["jurisdiction"])


router = document_router(
    DocumentRoutes(
        base="/reviews/{review_id}",
        param="review_id",
        kinds=KINDS,
        desk=_desk,
        subject=_subject,
        may_issue=_may_issue,
        reader=require_roles(*READER_ROLES),
        may_see=_may_see,
    ),
    problems(
        s403=[ROLE_REQUIRED],
        s404=[ReviewNotFound, DocumentNotFound],
        s409=[DocumentNotReady, DocumentNoLongerMatches],
        s413=[("document-too-large", "The uploaded document is larger than any issued here")],
        s415=[
            ("not-a-pdf", "The uploaded file is not a PDF"),
            ("multipart-required", "Upload the PDF as multipart/form-data, or send JSON"),
        ],
        s422=[VALIDATION],
    ),
)
