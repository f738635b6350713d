"""Who may reach what: the caller's unit (applicants) or jurisdictions (reviewers), as a Scope.

An object outside the caller's reach answers 404, so nothing tells it exists; a caller whose
roles may never do the thing answers 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import CurrentPrincipal, Principal, Role, forbidden, require_roles

from ..usecases.queries import Scope

READERS = (
    Role.PREFECTURE_REVIEWER,
    Role.PROVINCE_REVIEWER,
    Role.NATIONAL_REVIEWER,
    Role.LEADING_GROUP,
    Role.GENERAL_OFFICE,
    Role.AUDITOR,
    Role.ADMIN,
)


def unit_of(principal: Principal) -> str:
    """An applicant acts for the unit named by its token's `org` claim."""
    if principal.org_id is None:
        raise forbidden(
            "An applicant's token must name its unit (claim 'org').", "applicant-without-unit"
        )
    return principal.org_id


async def _applicant(
    principal: Annotated[Principal, Depends(require_roles(Role.APPLICANT))],
) -> str:
    return unit_of(principal)


async def _scope(principal: CurrentPrincipal) -> Scope:
    unit = principal.org_id if principal.has(Role.APPLICANT) else None
    jurisdictions = principal.jurisdictions if principal.has(*READERS) else ()
    if unit is None and not jurisdictions:
        raise forbidden(
            "Only an applicant unit or a reviewer with a jurisdiction may read this.",
            "reader-without-reach",
        )
    return Scope(unit, tuple(jurisdictions))


ApplicantUnit = Annotated[str, Depends(_applicant)]
ReaderScope = Annotated[Scope, Depends(_scope)]
