"""The start page of each person, the language switch and signing out."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from ..i18n import language
from ..visit import CurrentVisit, Form, NavItem, local_path
from .signin import ROLE_LABELS

router = APIRouter()
NAV: list[NavItem] = [NavItem("Home", "/")]


@router.get("/")
async def start(visit: CurrentVisit) -> Response:
    person = visit.person
    roles = ", ".join(visit.say(label) for role, label in ROLE_LABELS.items() if person.has(role))
    links = [
        item
        for item in visit.nav
        if item.path != "/" and (item.roles is None or person.has(*item.roles))
    ]
    return visit.page("home.html", roles_text=roles, links=links)


@router.post("/language")
async def switch_language(visit: CurrentVisit, form: Form) -> Response:
    """简体中文 or English, remembered for this person on this browser."""
    chosen = language(form.get("language"))
    visit.session.language = chosen
    visit.session.changed = True
    back = form.get("back")
    response = RedirectResponse(local_path(back if isinstance(back, str) else "/"), status_code=303)
    person = visit.session.person
    visit.request.app.state.cookies.remember(
        visit.request, response, person.user_id if person else None, chosen
    )
    return response


@router.post("/signout")
async def sign_out(visit: CurrentVisit, form: Form) -> Response:
    visit.session.sign_out()
    return visit.done("You have signed out.", "/signin")
