"""FastAPI dependencies of this service's routes: its use cases and who may call what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.auth import Principal, Role, forbidden, require_roles

from ..usecases import FundingUseCases


def _usecases(request: Request) -> FundingUseCases:
    usecases: FundingUseCases = request.app.state.usecases
    return usecases


UseCases = Annotated[FundingUseCases, Depends(_usecases)]
Finance = Annotated[Principal, Depends(require_roles(Role.FINANCE))]
FinanceOrAuditor = Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.AUDITOR))]
#: Finance and auditors read every plan; a unit (applicant) only its own bases'.
PlanReader = Annotated[
    Principal, Depends(require_roles(Role.FINANCE, Role.AUDITOR, Role.APPLICANT))
]


def own_unit(principal: Principal) -> str | None:
    """None for finance and auditors (every plan); the caller's unit for an applicant."""
    if principal.has(Role.FINANCE, Role.AUDITOR):
        return None
    if principal.org_id is None:
        raise forbidden("An applicant token must name its unit (org).", "applicant-without-unit")
    return principal.org_id
