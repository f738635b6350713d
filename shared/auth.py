"""Bearer JWT authentication and the checks every route makes: role, then jurisdiction or owner.

Tokens carry `sub`, `roles`, `org`, `jurisdictions`, `aud`, `iss`, `exp` and `iat`. Development
signs them with HS256 and a shared secret (`issue_development_token`); production verifies an
OIDC provider's RS256/ES256 keys from its JWKS and so refuses every HS256 token. Expiry is
checked against the real time, never the controllable development clock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.problems import HTTPProblem, problem_type

NATIONWIDE = frozenset({"CN", "00"})
_LEEWAY = timedelta(seconds=30)  # clock skew between the token issuer and us
_REQUIRED_CLAIMS = ["sub", "aud", "iss", "exp", "iat"]
_PROVIDER_ALGORITHMS = ["RS256", "ES256"]  # asymmetric only: no HS256 token can pass


class Role(StrEnum):
    APPLICANT = "applicant"
    PREFECTURE_REVIEWER = "prefecture_reviewer"
    PROVINCE_REVIEWER = "province_reviewer"
    NATIONAL_REVIEWER = "national_reviewer"
    LEADING_GROUP = "leading_group"
    GENERAL_OFFICE = "general_office"
    FINANCE = "finance"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, the roles they hold, their organisation and jurisdictions."""

    user_id: str
    roles: frozenset[Role]
    org_id: str | None = None
    jurisdictions: tuple[str, ...] = ()
    #: The `email` claim, when the token carries one (a notifier's address for the person).
    email: str | None = None

    def has(self, *roles: Role) -> bool:
        """Holds at least one of `roles`."""
        return not self.roles.isdisjoint(roles)

    def covers(self, code: str) -> bool:
        """A jurisdiction covers every code it is a prefix of; "CN" or "00" covers all.

        No role implies coverage: an admin without jurisdictions covers nothing.
        """
        if not code:
            return False
        return any(own in NATIONWIDE or code.startswith(own) for own in self.jurisdictions if own)

    def belongs_to(self, org_id: str | None) -> bool:
        return org_id is not None and self.org_id == org_id


class InvalidToken(Exception):
    """The token is missing a claim, expired, for another audience, or not ours at all."""


class KeysUnavailable(Exception):
    """The identity provider's keys could not be fetched: not the caller's fault (503)."""


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Roles the system does not know are ignored: an OIDC provider may send its own."""
    roles, org, jurisdictions = (
        claims.get("roles", []),
        claims.get("org"),
        claims.get("jurisdictions", []),
    )
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("claim 'sub' must be a non-empty string")
    if not _strings(roles) or not _strings(jurisdictions):
        raise InvalidToken("claims 'roles' and 'jurisdictions' must be lists of strings")
    if org is not None and not isinstance(org, str):
        raise InvalidToken("claim 'org' must be a string")
    known = {role.value for role in Role}
    return Principal(
        user_id=claims["sub"],
        roles=frozenset(Role(role) for role in roles if role in known),
        org_id=org,
        jurisdictions=tuple(jurisdictions),
        email=single_address(claims.get("email")),
    )


_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+")


def single_address(value: object) -> str | None:
    """`value` if it is one plain e-mail address (local@domain, no display name, no line break,
    no list, at most 320 characters); otherwise None: nobody is mailed at it."""
    if not isinstance(value, str) or len(value) > 320 or not _ADDRESS.fullmatch(value):
        return None
    return value


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _decode(token: str, key: Any, algorithms: list[str], audience: str, issuer: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=_LEEWAY,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    return principal_from_claims(claims)


class HS256Verifier:
    """Development and tests: tokens signed with the shared secret."""

    def __init__(self, secret: str, audience: str, issuer: str) -> None:
        self._secret, self._audience, self._issuer = secret, audience, issuer

    async def verify(self, token: str) -> Principal:
        return _decode(token, self._secret, ["HS256"], self._audience, self._issuer)


class JwksVerifier:
    """Production: an OIDC provider's public keys, fetched from its JWKS and cached."""

    def __init__(self, jwks_url: str, audience: str, issuer: str) -> None:
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self._audience, self._issuer = audience, issuer

    async def verify(self, token: str) -> Principal:
        try:
            # PyJWKClient fetches with blocking urllib: keep it off the event loop.
            key = await asyncio.to_thread(self._keys.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(str(error)) from error
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return _decode(token, key.key, _PROVIDER_ALGORITHMS, self._audience, self._issuer)


def issue_development_token(
    secret: str,
    user_id: str,
    roles: Iterable[Role | str],
    org: str | None = None,
    jurisdictions: Sequence[str] = (),
    ttl: timedelta = timedelta(hours=12),
    audience: str = "haizhi",
    issuer: str = "haizhi",
    *,
    issued_at: datetime | None = None,
    email: str | None = None,
) -> str:
    """An HS256 token for development and tests; production's JWKS verifier refuses it."""
    now = issued_at or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "roles": [Role(role).value for role in roles],
        "org": org,
        "jurisdictions": list(jurisdictions),
        "aud": audience,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if email is not None:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthenticated(detail: str) -> HTTPProblem:
    return HTTPProblem(
        401,
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(detail: str, code: str = "forbidden") -> HTTPProblem:
    """A 403 typed like every other problem: `type` names the refusal, `code` repeats it."""
    return HTTPProblem(403, "Forbidden", detail, type_=problem_type(code), code=code)


_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from `Authorization: Bearer <jwt>` checked by `app.state.token_verifier`."""
    if credentials is None:
        raise HTTPProblem(
            401,
            "Unauthorized",
            "Send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as refused:
        raise _unauthenticated(f"The bearer token was refused: {refused}.") from refused
    except KeysUnavailable as unavailable:
        raise HTTPProblem(
            503, "Service Unavailable", "The identity provider's keys are unreachable."
        ) from unavailable


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, if they hold one of `roles`; else 403."""
    wanted = ", ".join(roles)

    async def holding_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            raise forbidden(f"This needs one of the roles: {wanted}.", "role-required")
        return principal

    return holding_role


def require_jurisdiction(principal: Principal, code: str) -> None:
    """For an object already loaded: 403 unless the caller's jurisdictions cover its code."""
    if not principal.covers(code):
        raise forbidden(f"Jurisdiction {code} is outside yours.", "outside-jurisdiction")


def require_organisation(principal: Principal, org_id: str | None) -> None:
    """For an object already loaded: 403 unless the caller belongs to the owning organisation."""
    if not principal.belongs_to(org_id):
        raise forbidden("This belongs to another organisation.", "another-organisation")
