"""FastAPI dependencies of this service's routes: its use cases and who may call what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.auth import NATIONWIDE, Principal, Role, forbidden, require_roles

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


def audited_provinces(principal: Principal) -> tuple[str, ...] | None:
    """The provinces an auditor reads: their jurisdictions (a province's code, or CN for
    every one; a prefecture's auditor reads no plan, funding being provincial). None: no
    such limit (finance, a nationwide auditor, or an applicant, limited to its unit)."""
    if principal.has(Role.FINANCE) or not principal.has(Role.AUDITOR):
        return None
    if any(code in NATIONWIDE for code in principal.jurisdictions):
        return None
    return tuple(principal.jurisdictions)


def require_nationwide_reader(principal: Principal) -> None:
    """The feed spans every province: finance or a nationwide auditor only."""
    if audited_provinces(principal) is not None:
        raise forbidden(
            "The feed spans every province; it needs finance or a nationwide (CN) auditor.",
            "outside-jurisdiction",
        )


def own_unit(principal: Principal) -> str | None:
    """None for finance and auditors (every plan); the caller's unit for an applicant."""
    if principal.has(Role.FINANCE, Role.AUDITOR):
        return None
    if principal.org_id is None:
        raise forbidden("An applicant token must name its unit (org).", "applicant-without-unit")
    return principal.org_id
