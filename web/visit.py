"""One request to the console as its pages see it: who, in which language, and the services.

A page takes `Visit` (and, for a form, `Form`) as dependencies: `visit.page(...)` renders a
template in the visitor's language; `visit.get/find/send` call a service with the signed-in
person's token (`visit.download` fetches a file it holds, `visit.file` hands that to the
browser); `visit.done(...)` tells the person what happened and redirects (POST, then GET).
What goes wrong is raised and turned into a page by `web.failures`."""

from __future__ import annotations

import time as clock
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.datastructures import FormData

from shared.auth import Role
from shared.envelope import new_id

from .backend import Backend, Download, Json, ServiceProblem
from .i18n import HTML_LANG, Translator
from .session import CSRF_FIELD, Person, Session
from .settings import NOTIFICATION, WebSettings

CST = timezone(timedelta(hours=8), "CST")
#: Seconds the header's count of unread notifications is kept before it is asked again (the
#: inbox and a read mark ask at once); the most it counts (one page of the service's).
UNREAD_FRESH_SECONDS = 60.0
UNREAD_COUNTED = 100


class NotSignedIn(Exception):
    """The page needs a signed-in person; the browser is sent to sign in, then back."""


class NotAllowed(Exception):
    """The signed-in person's roles do not include one the page is for."""


class CsrfRefused(Exception):
    """A form without this session's CSRF token: from another site, or an expired page."""


class BadForm(Exception):
    """A form field the console itself could not read (a malformed number or date): `message`
    and `next_step` (what to type instead) in the visitor's language, told on the page the form
    came from (`web.fields` reads the fields that raise it)."""

    def __init__(self, field: str, message: str, next_step: str = "") -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.next_step = field, message, next_step


@dataclass(frozen=True)
class NavItem:
    """A link in the header: its label (an English msgid), path, and who sees it (None: all);
    `service`, an optional service it needs (shown only where the console is given it)."""

    label: str
    path: str
    roles: frozenset[Role] | None = None
    service: str | None = None


@dataclass
class Visit:
    request: Request
    session: Session
    t: Translator
    backend: Backend
    settings: WebSettings
    templates: Environment
    nav: tuple[NavItem, ...]

    # --- who ------------------------------------------------------------------------------

    @property
    def person(self) -> Person:
        person = self.session.person
        if person is None or person.expired:
            raise NotSignedIn
        return person

    def require(self, *roles: Role) -> Person:
        person = self.person
        if roles and not person.has(*roles):
            raise NotAllowed
        return person

    @property
    def token(self) -> str:
        return self.person.token

    def say(self, message: str, **values: object) -> str:
        """`message` (an English msgid) in the visitor's language, `%(name)s` filled in."""
        said = self.t.gettext(message)
        return said % values if values else said

    # --- the services ---------------------------------------------------------------------

    async def get(self, service: str, path: str, **params: str | int | None) -> Json:
        return await self.backend.get(service, path, self.token, **params)

    async def find(self, service: str, path: str, **params: str | int | None) -> Json | None:
        return await self.backend.find(service, path, self.token, **params)

    async def download(self, service: str, path: str, **params: str) -> Download:
        """A file a service holds, fetched as the signed-in person."""
        return await self.backend.download(service, path, self.token, **params)

    async def public(self, service: str, path: str, **params: str | int | None) -> Json:
        """A service's answer to anyone (no token): what needs no sign-in."""
        return await self.backend.get(service, path, None, **params)

    async def send(
        self,
        service: str,
        path: str,
        form: FormData | None = None,
        *,
        method: str = "POST",
        json: Json = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> Json:
        """A command as the signed-in person, keyed by the form's `idempotency_key`."""
        key = form.get("idempotency_key") if form is not None else None
        return await self.backend.send(
            service,
            method,
            path,
            self.token,
            key=key if isinstance(key, str) and key else None,
            json=json,
            data=data,
            files=files,
        )

    async def refresh_unread(self, force: bool = False) -> None:
        """The header's count of the person's unread notifications, asked of the notification
        service when the one the session keeps is older than `UNREAD_FRESH_SECONDS` (or
        `force`); nothing without a person or a notification service. A failure keeps no
        count (the header shows none; the inbox page says why) until the next time."""
        person = self.session.person
        if person is None or person.expired or not self.settings.notifications:
            return
        now = clock.time()
        kept = self.session.unread
        if not force and kept is not None and now - kept[2] < UNREAD_FRESH_SECONDS:
            return
        try:
            page = await self.backend.get(
                NOTIFICATION, "/inbox", person.token, unread="true", limit=UNREAD_COUNTED
            )
        except ServiceProblem:
            self.session.note_unread(0, False, now)
            return
        self.session.note_unread(len(page.get("items") or []), bool(page.get("next_cursor")), now)

    # --- answers --------------------------------------------------------------------------

    def shows(self, item: NavItem, person: Person) -> bool:
        """Whether the header links `item` for `person`: one of its roles, and the optional
        service it needs given to this console."""
        return (item.roles is None or person.has(*item.roles)) and (
            item.service is None or item.service in self.backend.urls
        )

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        person = (
            self.session.person if self.session.person and not self.session.person.expired else None
        )
        visible = [item for item in self.nav if person is not None and self.shows(item, person)]
        html = self.templates.get_template(template).render(
            _=self.say,
            gettext=self.say,
            ngettext=self.t.ngettext,
            lang=self.t.language,
            html_lang=HTML_LANG[self.t.language],
            person=person,
            nav=visible,
            path=self.request.url.path,
            flashes=self.session.take_flashes(),
            csrf_field=CSRF_FIELD,
            csrf_token=self.session.csrf,
            new_key=new_id,
            persona_picker=self.settings.persona_picker,
            unread=self.session.unread[:2] if person and self.session.unread else None,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def file(
        self,
        download: Download,
        name: str,
        *,
        inline: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A file a service holds, handed to the browser under `name` (any characters: RFC
        6266's encoded form), to download or, `inline`, to show in the page."""
        disposition = "inline" if inline else "attachment"
        return Response(
            download.content,
            media_type=download.media_type,
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
                **(headers or {}),
            },
        )

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(local_path(path), status_code=303)

    def done(self, message: str, to: str) -> RedirectResponse:
        """Tell the person `message` (an English msgid) on the page at `to`."""
        self.session.flash("success", self.t.gettext(message))
        return self.redirect(to)


def today(visit: Visit) -> date | None:
    """Today in CST to prefill a form's date with — in production only: in development the
    services run on a shared, controllable clock the console cannot read (it is on the bus),
    and the wall clock's date would be wrong there."""
    if visit.settings.environment != "production":
        return None
    return datetime.now(CST).date()


def local_path(path: str | None, default: str = "/") -> str:
    """`path` if it is a path of this console (never another site's address), else `default`."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):  # no header splitting
        return default
    return path


def sign_in_path(next_path: str) -> str:
    return f"/signin?next={quote(local_path(next_path), safe='/')}"


# --- formatting, for the templates --------------------------------------------------------


def yuan(fen: int | None, lang: str = "zh") -> str:
    """Integer fen as yuan, exactly: 20000000 → "200,000.00 元" (zh) / "CNY 200,000.00"."""
    if fen is None:
        return "—"
    sign, fen = ("-" if fen < 0 else ""), abs(int(fen))
    amount = f"{sign}{fen // 100:,}.{fen % 100:02d}"
    return f"{amount} 元" if lang == "zh" else f"CNY {amount}"


def cst(value: str | datetime | date | None, with_time: bool = True) -> str:
    """An instant in China Standard Time (the rules' dates): "2026-12-07 18:05 CST"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return value.isoformat()
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = moment.astimezone(CST)
    return local.strftime("%Y-%m-%d %H:%M CST") if with_time else local.date().isoformat()


def deadline_text(value: object) -> str:
    """A call's deadline as the notice writes it: the last day (CST), to 24:00 unless another
    hour is set — "2022-04-30 24:00"."""
    if not isinstance(value, str) or not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CST)
    if local.time() == time(0):
        return f"{(local.date() - timedelta(days=1)).isoformat()} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def size_text(size: object, unknown: str = "—") -> str:
    """A file's size in bytes as people read it: "812 B", "35.2 KB", "20.0 MB"."""
    if not isinstance(size, int) or size < 0:
        return unknown
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


#: A form's fields: what no page of the console comes near (files have their own limit).
MAX_FORM_FIELDS = 400
MAX_FIELD_BYTES = 256 * 1024


async def _form(request: Request) -> FormData:
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)
    request.state.form = form  # for the failure pages, after the body has been read
    session: Session = request.state.session
    if not session.csrf_matches(form.get(CSRF_FIELD)):
        raise CsrfRefused
    return form


def _visit(request: Request) -> Visit:
    state = request.app.state
    session: Session | None = getattr(request.state, "session", None)
    if session is None:  # the session layer did not run (a failure before it): a new one
        session = request.state.session = Session()
    return Visit(
        request,
        session,
        state.translations[session.language],
        state.backend,
        state.settings,
        state.templates,
        state.nav,
    )


async def _current_visit(request: Request) -> Visit:
    """A page's visit, the header's unread count brought up to date first."""
    visit = _visit(request)
    await visit.refresh_unread()
    return visit


Form = Annotated[FormData, Depends(_form)]
CurrentVisit = Annotated[Visit, Depends(_current_visit)]
