"""FastAPI dependencies of this service's routes, and the checks every review route makes:
the role of the level, the jurisdiction of the unit, the declaration before the content."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.engine import RowMapping

from shared.auth import NATIONWIDE, Principal, Role, forbidden, require_roles

from ..domain.errors import ConflictDeclarationMissing, ReviewNotFound
from ..domain.events import Level
from ..domain.review_stages import NotOpened
from ..projections.reviews import reviews
from ..usecases import ReviewServiceUseCases


def _usecases(request: Request) -> ReviewServiceUseCases:
    usecases: ReviewServiceUseCases = request.app.state.usecases
    return usecases


UseCases = Annotated[ReviewServiceUseCases, Depends(_usecases)]

REVIEWER_ROLES = (
    Role.PREFECTURE_REVIEWER,
    Role.PROVINCE_REVIEWER,
    Role.NATIONAL_REVIEWER,
    Role.LEADING_GROUP,
    Role.GENERAL_OFFICE,
)
#: The auditor reads and replays everything in their jurisdiction and changes nothing.
READER_ROLES = (*REVIEWER_ROLES, Role.AUDITOR)

Reviewer = Annotated[Principal, Depends(require_roles(*REVIEWER_ROLES))]
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]

#: Who decides at each level of the chain (docs/domain.md).
LEVEL_ROLE: dict[Level, Role] = {
    Level.PREFECTURE: Role.PREFECTURE_REVIEWER,
    Level.PROVINCE: Role.PROVINCE_REVIEWER,
    Level.PROVINCE_RECOMMENDATION: Role.PROVINCE_REVIEWER,
    Level.PROVINCIAL_DECISION: Role.PROVINCE_REVIEWER,  # the provincial CAST (Notice §5(3))
    Level.NATIONAL: Role.NATIONAL_REVIEWER,
    Level.LEADING_GROUP: Role.LEADING_GROUP,
    Level.GENERAL_OFFICE: Role.GENERAL_OFFICE,
}


def require_level_role(principal: Principal, level: Level) -> None:
    role = LEVEL_ROLE[level]
    if not principal.has(role):
        raise forbidden(
            f"Deciding at the {level.value} level needs the role {role.value}.", "role-required"
        )


def org_of(principal: Principal) -> str:
    """The reviewer's organisation, for the conflict-of-interest rule ("" if none given)."""
    return principal.org_id or ""


def covered(column: ColumnElement[str], principal: Principal) -> ColumnElement[bool]:
    """SQL: the code in `column` lies inside one of the caller's jurisdictions."""
    codes = [code for code in principal.jurisdictions if code]
    if any(code in NATIONWIDE for code in codes):
        return true()
    if not codes:
        return false()
    return or_(*(column.startswith(code, autoescape=True) for code in codes))


async def visible_review(
    usecases: ReviewServiceUseCases, principal: Principal, review_id: str
) -> RowMapping:
    """The review's summary, or 404 when it is outside the caller's jurisdiction."""
    async with usecases.executor.db.read_engine.connect() as conn:
        row = (
            (await conn.execute(select(reviews).where(reviews.c.review_id == review_id)))
            .mappings()
            .first()
        )
    if row is None or not principal.covers(row["jurisdiction"]):
        raise ReviewNotFound(f"no review {review_id} in your jurisdiction")
    return row


async def require_declared(
    usecases: ReviewServiceUseCases, principal: Principal, review_id: str
) -> None:
    """A reviewer reads an application's content only after declaring no conflict of interest."""
    if not principal.has(*REVIEWER_ROLES):
        return  # an auditor decides nothing
    state = (await usecases.reviews.load(review_id)).state
    if isinstance(state, NotOpened) or principal.user_id not in state.dossier.fairness.cleared:
        raise ConflictDeclarationMissing(
            f"{principal.user_id} must declare no conflict of interest with this application"
            " before reading its content",
            review_id=review_id,
        )
