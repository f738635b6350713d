"""The public certificate check (证书查验): anyone, signed in or not, checks a certificate.

A base's plaque certificate (HZJD-…) or a province's work station certificate (e.g.
云海智站-2022-001) carries a QR code pointing at `/certificates/<number>`; the page says
whether it is valid, for which unit and term, and the plaque's name. These pages never ask
who is at the browser: the review service answers the check without a token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from ..backend import ServiceProblem
from ..i18n import N_
from ..visit import CurrentVisit, NavItem

router = APIRouter()
NAV: list[NavItem] = []

#: The longest number the review service looks up; anything longer is no certificate.
MAX_NUMBER = 60
STATUSES = {
    "valid": N_("Valid: the base is designated"),
    "revoked": N_("Revoked (撤销)"),
    "expired": N_("Expired: the term has ended"),
}
PROGRAMMES = {
    "national_base": N_("CAST HaiZhi Plan work base (national)"),
    "provincial_workstation": N_("Provincial CAST HaiZhi work station"),
}


def certificate_path(number: str) -> str:
    return f"/certificates/{quote(number, safe='')}"


@router.get("/certificates")
async def check_form(visit: CurrentVisit, number: str | None = None) -> Response:
    """The form; with a number typed, the page of that certificate."""
    typed = (number or "").strip()
    if typed:
        return visit.redirect(certificate_path(typed))
    return visit.page("public/check.html", typed="", empty=number is not None)


@router.get("/certificates/{certificate_no:path}")
async def certificate(visit: CurrentVisit, certificate_no: str) -> Response:
    """What the review service says of the number; an unknown or malformed one is a 404."""
    number = certificate_no.strip()
    found: dict[str, Any] | None = None
    if 0 < len(number) <= MAX_NUMBER and "/" not in number:
        try:
            found = await visit.public("review", certificate_path(number))
        except ServiceProblem as problem:
            if problem.status not in (404, 422):
                raise
    if found is None:
        return visit.page("public/unknown.html", status=404, typed=number[: MAX_NUMBER * 2])
    return visit.page(
        "public/certificate.html",
        cert=found,
        typed=found["certificate_no"],
        statuses=STATUSES,
        programmes=PROGRAMMES,
    )
