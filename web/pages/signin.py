"""Signing in: the persona picker in development, the organisation's OpenID provider otherwise.

The persona picker (development and tests only; production has no such route) lets whoever
runs the system act as any role, unit and jurisdiction: it signs a development token with
the services' development secret, as `haizhi token` does.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from haizhi.client import Person as Someone
from haizhi.people import CAST, KMUST, KUNMING_HTZ, QUJING_EDZ
from shared.auth import Role, issue_development_token

from ..errors import Explanation
from ..i18n import N_
from ..oidc import OidcError, OidcUnavailable, Pending, Provider, begin, discover, finish
from ..session import Person
from ..visit import BadForm, CurrentVisit, Form, NavItem, local_path

router = APIRouter()
NAV: list[NavItem] = []

ROLE_LABELS = {
    Role.APPLICANT: N_("Applicant unit"),
    Role.PREFECTURE_REVIEWER: N_("Prefecture CAST reviewer"),
    Role.PROVINCE_REVIEWER: N_("Provincial CAST reviewer"),
    Role.NATIONAL_REVIEWER: N_("National department reviewer"),
    Role.LEADING_GROUP: N_("Leading group secretariat"),
    Role.GENERAL_OFFICE: N_("General office"),
    Role.FINANCE: N_("Finance officer"),
    Role.AUDITOR: N_("Auditor"),
    Role.ADMIN: N_("Administrator"),
}
#: How long a sign-in may take at the provider before its callback is refused.
PENDING_SECONDS = 600
#: An access token with less left than this is refused at sign-in: the person would be sent
#: back to sign in at once (and, with single sign-on, round and round).
MIN_TOKEN_SECONDS = 60
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_JURISDICTION = re.compile(r"^(CN|[0-9]{2}([0-9]{2}){0,2})$")


@dataclass(frozen=True)
class Persona:
    """Someone to act as, in development: the people of the Yunnan demo, or anyone typed in."""

    user_id: str
    name: str
    role: Role
    org: str | None
    jurisdiction: str

    @classmethod
    def of(cls, someone: Someone) -> Persona:
        return cls(
            someone.user_id, someone.name, someone.roles[0], someone.org, someone.jurisdictions[0]
        )


PERSONAS: tuple[Persona, ...] = (
    *(Persona.of(unit.contact) for unit in (KMUST, KUNMING_HTZ, QUJING_EDZ)),
    *(Persona.of(official) for official in CAST.everyone()),
)


@router.get("/signin")
async def sign_in_page(visit: CurrentVisit, next: str = "/") -> Response:
    if not visit.settings.persona_picker:
        return visit.redirect(f"/auth/login?next={quote(local_path(next), safe='/')}")
    return visit.page(
        "signin.html",
        personas=PERSONAS,
        roles=ROLE_LABELS,
        next_path=local_path(next),
    )


@router.post("/signin/persona")
async def sign_in_as_persona(visit: CurrentVisit, form: Form) -> Response:
    """Development only: act as the persona the form names."""
    if not visit.settings.persona_picker:
        return visit.page("error.html", status=404, explanation=None)
    user_id = str(form.get("user_id", "")).strip()
    name = str(form.get("name", "")).strip() or user_id
    org = str(form.get("org", "")).strip() or None
    jurisdiction = str(form.get("jurisdiction", "")).strip()
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        raise BadForm("role", visit.t.gettext("Choose one of the roles.")) from None
    if not _ACCOUNT.match(user_id):
        raise BadForm("user_id", visit.t.gettext("An account is 1–64 letters, digits or . _ @ -"))
    if not _JURISDICTION.match(jurisdiction):
        raise BadForm(
            "jurisdiction",
            visit.t.gettext("A jurisdiction is CN or an area code of 2, 4 or 6 digits."),
        )
    if role is Role.APPLICANT and not org:
        raise BadForm("org", visit.t.gettext("An applicant acts for a unit: give its unit id."))
    hours = visit.settings.session_hours
    now = datetime.now(UTC)
    token = issue_development_token(
        visit.settings.jwt_secret.get_secret_value(),
        user_id,
        [role],
        org=org,
        jurisdictions=[jurisdiction],
        # a development address (RFC 2606's reserved .test), so the notifier mails the sink
        email=user_id if "@" in user_id else f"{user_id}@haizhi.test",
        ttl=timedelta(hours=hours),
        audience=visit.settings.jwt_audience,
        issuer=visit.settings.jwt_issuer,
        issued_at=now,
    )
    person = Person(
        user_id, name[:80], [role.value], org, [jurisdiction], token,
        (now + timedelta(hours=hours)).timestamp(),
    )  # fmt: skip
    cookies = visit.request.app.state.cookies
    visit.session.sign_in(person, cookies.remembered(visit.request, user_id))
    next_path = form.get("next")
    return visit.redirect(local_path(next_path if isinstance(next_path, str) else "/"))


# --- OpenID Connect: authorization code with PKCE ----------------------------------------


def _callback_url(visit: CurrentVisit) -> str:
    base = visit.settings.public_url or str(visit.request.base_url)
    return base.rstrip("/") + "/auth/callback"


async def _provider(visit: CurrentVisit) -> Provider:
    """The provider's endpoints, discovered once (again after a failure)."""
    state = visit.request.app.state
    provider: Provider | None = getattr(state, "oidc_provider", None)
    if provider is None:
        assert visit.settings.oidc_issuer is not None
        provider = await discover(visit.backend.http, visit.settings.oidc_issuer)
        state.oidc_provider = provider
    return provider


def _sign_in_failed(visit: CurrentVisit, status: int, message: str, detail: str) -> Response:
    next_step = visit.say("Sign in again; if it keeps failing, tell your administrator.")
    explanation = Explanation(visit.say(message), next_step, None, status, detail)
    return visit.page("error.html", status=status, explanation=explanation)


@router.get("/auth/login")
async def oidc_login(visit: CurrentVisit, next: str = "/") -> Response:
    settings = visit.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return visit.page("error.html", status=404, explanation=None)
    try:
        provider = await _provider(visit)
    except OidcUnavailable as error:
        return _sign_in_failed(visit, 503, N_("The sign-in service cannot be reached."), str(error))
    except OidcError as error:
        return _sign_in_failed(visit, 502, N_("The sign-in service is misconfigured."), str(error))
    url, pending = begin(
        provider, settings.oidc_client_id, _callback_url(visit), next_path=local_path(next)
    )
    visit.session.pending = pending.as_dict() | {"started": str(int(time.time()))}
    visit.session.changed = True
    return RedirectResponse(url, status_code=303)


@router.get("/auth/callback")
async def oidc_callback(
    visit: CurrentVisit,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    iss: str | None = None,
) -> Response:
    settings = visit.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return visit.page("error.html", status=404, explanation=None)
    secret = settings.oidc_client_secret
    try:
        started = int((visit.session.pending or {}).get("started", "0"))
        if time.time() - started > PENDING_SECONDS:
            raise OidcError("The sign-in was started too long ago: start again.")
        pending = Pending.from_dict(visit.session.pending or {})
        signed = await finish(
            visit.backend.http,
            await _provider(visit),
            settings.oidc_client_id,
            secret.get_secret_value() if secret else None,
            _callback_url(visit),
            pending,
            code,
            state,
            error=error,
            error_description=error_description,
            iss=iss,
            audience=settings.jwt_audience,
        )
    except OidcUnavailable as failure:
        return _sign_in_failed(
            visit, 503, N_("The sign-in service cannot be reached."), str(failure)
        )
    except OidcError as failure:
        visit.session.pending = None
        visit.session.changed = True
        return _sign_in_failed(visit, 400, N_("Signing in did not succeed."), str(failure))
    if signed.expires_at.timestamp() - time.time() < MIN_TOKEN_SECONDS:
        return _sign_in_failed(
            visit, 400, N_("Signing in did not succeed."), "the access token expires at once"
        )
    principal = signed.principal
    person = Person(
        principal.user_id,
        signed.name[:80],
        sorted(role.value for role in principal.roles),
        principal.org_id,
        list(principal.jurisdictions),
        signed.access_token,
        signed.expires_at.timestamp(),
    )
    visit.session.pending = None
    cookies = visit.request.app.state.cookies
    visit.session.sign_in(person, cookies.remembered(visit.request, principal.user_id))
    return visit.redirect(pending.next_path)
