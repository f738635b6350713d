"""The start page of each person, the language switch and signing out."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from ..fields import back
from ..i18n import language
from ..visit import CurrentVisit, Form, NavItem
from .signin import ROLE_LABELS

router = APIRouter()
NAV: list[NavItem] = [NavItem("Home", "/")]


@router.get("/")
async def start(visit: CurrentVisit) -> Response:
    person = visit.person
    roles = ", ".join(visit.say(label) for role, label in ROLE_LABELS.items() if person.has(role))
    links = [item for item in visit.nav if item.path != "/" and visit.shows(item, person)]
    return visit.page("home.html", roles_text=roles, links=links)


@router.post("/language")
async def switch_language(visit: CurrentVisit, form: Form) -> Response:
    """简体中文 or English, remembered for this person on this browser."""
    chosen = language(form.get("language"))
    visit.session.language = chosen
    visit.session.changed = True
    response = RedirectResponse(back(form, "/"), status_code=303)
    person = visit.session.person
    visit.request.app.state.cookies.remember(
        visit.request, response, person.user_id if person else None, chosen
    )
    return response


@router.post("/signout")
async def sign_out(visit: CurrentVisit, form: Form) -> Response:
    """Signed out, to a page that stays put: not the sign-in, which with an identity provider
    would sign the person straight back in."""
    visit.session.sign_out()
    return visit.redirect("/goodbye")


@router.get("/goodbye")
async def goodbye(visit: CurrentVisit) -> Response:
    """After signing out; with a provider that has RP-initiated logout, a link to leave its
    session too (a shared computer)."""
    provider = getattr(visit.request.app.state, "oidc_provider", None)
    logout = None
    if provider is not None and provider.end_session_endpoint and visit.settings.oidc_client_id:
        query = urlencode({"client_id": visit.settings.oidc_client_id})
        logout = f"{provider.end_session_endpoint}?{query}"
    return visit.page("goodbye.html", provider_logout=logout)
