"""Who is at the browser: a signed, HttpOnly, SameSite cookie, and the CSRF check of every form.

The session cookie holds the signed-in person (their account, name, roles, unit and
jurisdictions, and the bearer token the console forwards to the services), the language, the
CSRF token and the messages waiting to be shown after a redirect. It is signed (itsdangerous,
with its age checked), not encrypted: it carries nothing its holder may not know — their own
token — and JavaScript cannot read it (HttpOnly). Every POST must carry the session's CSRF
token in its `csrf_token` field; a cross-site form cannot know it, and SameSite=Lax keeps the
cookie off cross-site POSTs besides.

A second, long-lived cookie remembers each person's language on this browser (by a keyed
hash of their account, not the account itself), so that signing in again brings back the
language they chose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from shared.auth import Principal, Role

from .i18n import Language, language

SESSION_COOKIE = "haizhi_session"
LANGUAGE_COOKIE = "haizhi_lang"
CSRF_FIELD = "csrf_token"
#: Browsers drop a cookie over 4096 bytes (name and attributes included) without a word.
MAX_COOKIE_BYTES = 3900
_LANGUAGE_YEARS = 1
_REMEMBERED_PEOPLE = 20  # languages kept per browser: the last people who signed in on it


class SessionTooLarge(Exception):
    """The session would not fit in a cookie: an identity provider's access token too large
    (many group claims, say). Refused with a clear page instead of a sign-in loop."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the session cookie would be {size} bytes, over {MAX_COOKIE_BYTES}")
        self.size = size


@dataclass
class Flash:
    """A message shown once, on the next page: `kind` is `success` or `error`."""

    kind: str
    message: str
    next_step: str = ""
    detail: str = ""


@dataclass
class Person:
    """The signed-in person, as the console needs them."""

    user_id: str
    name: str
    roles: list[str]
    org: str | None
    jurisdictions: list[str]
    token: str
    expires_at: float  # POSIX seconds

    @property
    def principal(self) -> Principal:
        known = {role.value for role in Role}
        return Principal(
            self.user_id,
            frozenset(Role(r) for r in self.roles if r in known),
            self.org,
            tuple(self.jurisdictions),
        )

    def has(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)

    @property
    def expired(self) -> bool:
        return datetime.now(UTC).timestamp() >= self.expires_at


@dataclass
class Session:
    """One browser's session; `changed` says whether its cookie must be written again."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    language: Language = "zh"
    person: Person | None = None
    flashes: list[Flash] = field(default_factory=list)
    #: The OIDC sign-in in flight (state, nonce, verifier, where to go after it).
    pending: dict[str, str] | None = None
    #: The person's unread notifications as the header shows them, last asked at (count,
    #: whether there are more than it counted, POSIX seconds); None: not asked yet.
    unread: tuple[int, bool, float] | None = None
    changed: bool = False

    def sign_in(self, person: Person, remembered: Language | None) -> None:
        self.person, self.unread = person, None
        if remembered is not None:
            self.language = remembered
        self.csrf = secrets.token_urlsafe(24)  # a new session's token: none from before it
        self.changed = True

    def sign_out(self) -> None:
        self.person, self.pending, self.unread = None, None, None
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def flash(self, kind: str, message: str, next_step: str = "", detail: str = "") -> None:
        # The service's own detail is cut short: the whole session must fit in one cookie.
        self.flashes.append(Flash(kind, message[:500], next_step[:500], detail[:300]))
        self.changed = True

    def take_flashes(self) -> list[Flash]:
        taken, self.flashes = self.flashes, []
        if taken:
            self.changed = True
        return taken

    def note_unread(self, count: int, more: bool, at: float) -> None:
        self.unread = (count, more, at)
        self.changed = True

    def csrf_matches(self, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(sent, self.csrf)

    def dump(self) -> dict[str, Any]:
        return {
            "c": self.csrf,
            "l": self.language,
            "p": asdict(self.person) if self.person else None,
            "f": [asdict(f) for f in self.flashes],
            "o": self.pending,
            **({"u": list(self.unread)} if self.unread else {}),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Session:
        person = Person(**data["p"]) if data.get("p") else None
        unread = data.get("u")
        return cls(
            csrf=str(data["c"]),
            language=language(data.get("l")),
            person=person,
            flashes=[Flash(**f) for f in data.get("f", [])],
            pending=data.get("o"),
            unread=(int(unread[0]), bool(unread[1]), float(unread[2])) if unread else None,
        )


class Cookies:
    """Reads and writes the session and language cookies, signed with the console's secret."""

    def __init__(self, secret: str, max_age: int, secure: bool) -> None:
        self._secret = secret.encode()
        self._session = URLSafeTimedSerializer(secret, salt="haizhi-session")
        self._languages = URLSafeTimedSerializer(secret, salt="haizhi-languages")
        self.max_age, self.secure = max_age, secure

    def session(self, request: Request) -> Session:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                return Session.load(self._session.loads(raw, max_age=self.max_age))
            except (BadSignature, KeyError, TypeError, ValueError):
                pass  # tampered with, too old or from another version: a new session
        fresh = Session(language=self.remembered(request, None) or "zh")
        fresh.changed = True
        return fresh

    def save(self, response: Response, session: Session) -> None:
        value = self._session.dumps(session.dump())
        if len(value) > MAX_COOKIE_BYTES and session.flashes:  # the messages give way first
            session.flashes = [Flash(f.kind, f.message) for f in session.flashes[-1:]]
            value = self._session.dumps(session.dump())
        if len(value) > MAX_COOKIE_BYTES:
            raise SessionTooLarge(len(value))
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def _languages_of(self, request: Request) -> dict[str, str]:
        raw = request.cookies.get(LANGUAGE_COOKIE)
        if not raw:
            return {}
        try:
            found = self._languages.loads(raw, max_age=_LANGUAGE_YEARS * 366 * 86400)
        except BadSignature:
            return {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def _key(self, user_id: str | None) -> str:
        """Who chose, as the language cookie names them: a keyed hash, not the account id
        (the cookie stays on a shared computer after signing out)."""
        if not user_id:
            return ""
        return hmac.new(self._secret, user_id.encode(), hashlib.sha256).hexdigest()[:16]

    def remembered(self, request: Request, user_id: str | None) -> Language | None:
        """The language last chosen on this browser by `user_id` (None: by anyone)."""
        chosen = self._languages_of(request).get(self._key(user_id))
        return language(chosen) if chosen else None

    def remember(
        self, request: Request, response: Response, user_id: str | None, lang: Language
    ) -> None:
        languages = self._languages_of(request)
        key = self._key(user_id)
        languages.pop(key, None)
        languages[key] = lang
        if "" not in languages or user_id is None:
            languages[""] = lang
        kept = dict(list(languages.items())[-_REMEMBERED_PEOPLE:])
        response.set_cookie(
            LANGUAGE_COOKIE,
            self._languages.dumps(kept),
            max_age=_LANGUAGE_YEARS * 366 * 86400,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )
