"""The console's OpenID Connect client: authorization code flow with PKCE (S256), state and nonce.

    provider = await discover(http, settings.oidc_issuer)            # once, at start or first use
    url, pending = begin(provider, client_id, redirect_uri, next_path=wanted)
    # keep `pending.as_dict()` in the signed session cookie, redirect the browser to `url` ...
    signed_in = await finish(http, provider, client_id, client_secret, redirect_uri,
                             Pending.from_dict(saved), code, state, error=error,
                             error_description=error_description, iss=iss)

`finish` checks the callback (state, the provider's own error, RFC 9207's `iss`), exchanges the
code, verifies the ID token (signature from the provider's JWKS, issuer, audience = client id,
nonce, expiry, `at_hash`) and then the access token exactly as the services will: RS256 or
ES256 from the same JWKS, the provider as issuer, audience `haizhi`. The principal it returns
is the one the services will see. The JWKS is fetched at each sign-in, so a rotated key is
never missed; between sign-ins the services, not the console, verify the token.

A refusal (a forged callback, the provider's error, a token that does not verify) is
`OidcError`, whose message is fit to show; a provider that cannot be reached or answers 5xx is
`OidcUnavailable`. Nothing here connects at import time.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from shared.auth import InvalidToken, Principal, principal_from_claims

from .visit import local_path

#: Asymmetric only, as the services accept: no HS256 token (signed with a secret) can pass.
ALGORITHMS = ("RS256", "ES256")
_LEEWAY = timedelta(seconds=30)  # clock skew between the provider and us
_ACCESS_CLAIMS = ["sub", "aud", "iss", "exp", "iat"]
_ID_CLAIMS = ["sub", "aud", "iss", "exp", "iat", "nonce"]


class OidcError(Exception):
    """The sign-in was refused: by the provider, or by a check here. The message says which."""


class OidcUnavailable(Exception):
    """The provider could not be reached or failed (5xx): not the user's fault; try later."""


@dataclass(frozen=True)
class Provider:
    """The provider's endpoints, from its discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    #: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), if the provider has one.
    end_session_endpoint: str | None = None
    #: RFC 9207: the provider names itself in every authorization response; one without
    #: `iss` is then refused (a mix-up attack's answer from another provider).
    iss_in_response: bool = False


@dataclass(frozen=True)
class Pending:
    """A sign-in in flight: kept in the signed session cookie between redirect and callback."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Pending:
        """From the session cookie; an incomplete record is no sign-in in flight."""
        values = {name: data.get(name) for name in ("state", "nonce", "code_verifier", "next_path")}
        if not all(isinstance(value, str) and value for value in values.values()):
            raise OidcError("No sign-in is in progress in this browser: start it again.")
        return cls(**{name: str(value) for name, value in values.items()})


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a sign-in: the token to forward to the services and who it names."""

    access_token: str
    principal: Principal
    name: str
    expires_at: datetime


async def discover(http: httpx.AsyncClient, issuer: str) -> Provider:
    """The provider's endpoints from `{issuer}/.well-known/openid-configuration`.

    The document must name `issuer` itself (OpenID Connect Discovery §4.3): a document
    served for another issuer would have us trust that issuer's tokens.
    """
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    document = await _get_json(http, url, "discovery document")
    if document.get("issuer") != issuer:
        raise OidcError(
            f"The discovery document at {url} names the issuer {document.get('issuer')!r}, "
            f"not the configured {issuer!r}."
        )
    endpoints = {
        name: document.get(name)
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    }
    missing = sorted(name for name, value in endpoints.items() if not isinstance(value, str))
    if missing:
        raise OidcError(f"The discovery document at {url} lacks {', '.join(missing)}.")
    logout = document.get("end_session_endpoint")
    return Provider(
        issuer=issuer,
        **{name: str(value) for name, value in endpoints.items()},
        end_session_endpoint=logout if isinstance(logout, str) else None,
        iss_in_response=document.get("authorization_response_iss_parameter_supported") is True,
    )


def begin(
    provider: Provider,
    client_id: str,
    redirect_uri: str,
    scope: str = "openid profile",
    next_path: str = "/",
    *,
    login_hint: str | None = None,
) -> tuple[str, Pending]:
    """The URL to send the browser to, and what to keep until it comes back.

    `next_path` is where to go once signed in; anything but a path on this site (another
    host, `//host`, a scheme) becomes `/`, so the sign-in is no open redirect.
    """
    pending = Pending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # 86 characters: RFC 7636 wants 43–128
        next_path=local_path(next_path),
    )
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": _s256(pending.code_verifier),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    # The endpoint may carry a query of its own (some providers put the tenant there).
    url = httpx.URL(provider.authorization_endpoint).copy_merge_params(params)
    return str(url), pending


async def finish(
    http: httpx.AsyncClient,
    provider: Provider,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str,
    pending: Pending,
    code: str | None,
    state: str | None,
    *,
    error: str | None = None,
    error_description: str | None = None,
    iss: str | None = None,
    audience: str = "haizhi",
) -> SignedIn:
    """The callback's query (`code`, `state`, and `error`, `error_description`, `iss` when
    the provider sent them) turned into a verified sign-in, or `OidcError`.

    `audience` is the access token's: the services' `HAIZHI_JWT_AUDIENCE`.
    """
    # State first: a callback this browser did not start (login CSRF) is refused before
    # anything in it, even an error, is believed.
    if not state or not secrets.compare_digest(state.encode(), pending.state.encode()):
        raise OidcError(
            "The sign-in's state does not match the one this browser started: start again."
        )
    if iss is None and provider.iss_in_response:
        raise OidcError("The callback does not name its issuer, which this provider always does.")
    if iss is not None and iss != provider.issuer:
        raise OidcError(f"The callback came from the issuer {iss!r}, not {provider.issuer!r}.")
    if error:
        words = f"{error}: {error_description}" if error_description else error
        raise OidcError(f"The identity provider refused the sign-in ({words}).")
    if not code:
        raise OidcError("The identity provider's callback carries no authorization code.")
    tokens = await _exchange(http, provider, client_id, client_secret, redirect_uri, pending, code)
    keys = await _keys(http, provider)
    identity = _verify_id_token(tokens["id_token"], keys, provider, client_id, pending.nonce)
    _check_at_hash(identity, tokens["access_token"])
    principal, expires_at = _verify_access_token(tokens["access_token"], keys, provider, audience)
    name = identity.get("name") or identity.get("preferred_username") or identity["sub"]
    return SignedIn(tokens["access_token"], principal, str(name), expires_at)


async def verify_access_token(
    http: httpx.AsyncClient, provider: Provider, token: str, audience: str = "haizhi"
) -> tuple[Principal, datetime]:
    """A bearer token checked as the services check it (fetching the JWKS): who it names,
    and when it expires. `finish` does this for the token it receives."""
    return _verify_access_token(token, await _keys(http, provider), provider, audience)


async def _exchange(
    http: httpx.AsyncClient,
    provider: Provider,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str,
    pending: Pending,
    code: str,
) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": pending.code_verifier,
    }
    if client_secret is not None:
        form["client_secret"] = client_secret  # client_secret_post
    try:
        answer = await http.post(
            provider.token_endpoint, data=form, headers={"Accept": "application/json"}
        )
    except httpx.HTTPError as failure:
        raise OidcUnavailable(f"The token endpoint is unreachable: {failure!r}.") from failure
    if answer.status_code >= 500:
        raise OidcUnavailable(f"The token endpoint answered {answer.status_code}.")
    body = _json_object(answer)
    if answer.status_code != 200:
        error = body.get("error") if body is not None else None
        if not isinstance(error, str):
            raise OidcError(f"The token endpoint refused the code ({answer.status_code}).")
        description = body.get("error_description") if body is not None else None
        words = f"{error}: {description}" if isinstance(description, str) else error
        raise OidcError(f"The identity provider refused the code ({words}).")
    if body is None:
        raise OidcError("The token endpoint's answer is not a JSON object.")
    tokens = {name: body.get(name) for name in ("access_token", "id_token", "token_type")}
    if not all(isinstance(value, str) and value for value in tokens.values()):
        raise OidcError("The token endpoint's answer lacks an access token or an ID token.")
    if str(tokens["token_type"]).lower() != "bearer":  # RFC 6749: compared case-insensitively
        raise OidcError(f"The token endpoint gave a {tokens['token_type']!r} token, not Bearer.")
    return {name: str(value) for name, value in tokens.items()}


async def _keys(http: httpx.AsyncClient, provider: Provider) -> jwt.PyJWKSet:
    document = await _get_json(http, provider.jwks_uri, "JWKS")
    try:
        return jwt.PyJWKSet.from_dict(document)
    except jwt.PyJWTError as error:
        raise OidcError(f"The provider's JWKS has no usable key: {error}") from error


def _signing_key(token: str, keys: jwt.PyJWKSet) -> jwt.PyJWK:
    """The JWKS key the token names (or the only signing key, if it names none)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise OidcError(f"The token is not a JWT: {error}") from error
    if header.get("alg") not in ALGORITHMS:
        raise OidcError(f"The token is signed with {header.get('alg')!r}: only RS256 or ES256.")
    kid = header.get("kid")
    candidates = [
        key
        for key in keys
        if key.algorithm_name in ALGORITHMS
        and key.public_key_use in (None, "sig")
        and (kid is None or key.key_id == kid)
    ]
    if len(candidates) != 1:
        raise OidcError(f"The provider's JWKS has no single RS256/ES256 key for kid {kid!r}.")
    return candidates[0]


def _decode(
    token: str, keys: jwt.PyJWKSet, provider: Provider, audience: str, required: list[str]
) -> dict[str, Any]:
    key = _signing_key(token, keys)
    try:
        # The key's own algorithm only: a token cannot choose how it is checked.
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name],
            audience=audience,
            issuer=provider.issuer,
            leeway=_LEEWAY,
            options={"require": required},
        )
    except jwt.PyJWTError as error:
        raise OidcError(f"The token was refused: {error}.") from error
    return claims


def _verify_id_token(
    token: str, keys: jwt.PyJWKSet, provider: Provider, client_id: str, nonce: str
) -> dict[str, Any]:
    claims = _decode(token, keys, provider, client_id, _ID_CLAIMS)
    # OIDC Core §3.1.3.7: a token for several audiences must have been issued to us.
    if claims.get("azp", client_id) != client_id:
        raise OidcError("The ID token was issued to another client (azp).")
    sent = claims["nonce"]
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), nonce.encode()):
        raise OidcError("The ID token's nonce is not this sign-in's: start again.")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise OidcError("The ID token names no subject.")
    return claims


def _check_at_hash(identity: Mapping[str, Any], access_token: str) -> None:
    """OIDC Core §3.1.3.8: optional in the code flow, but when present it must match; it
    binds the access token to the ID token we just verified. SHA-256 for RS256 and ES256."""
    if "at_hash" not in identity:
        return
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
    if not secrets.compare_digest(str(identity["at_hash"]).encode(), expected.encode()):
        raise OidcError("The access token is not the one the ID token was issued with.")


def _verify_access_token(
    token: str, keys: jwt.PyJWKSet, provider: Provider, audience: str
) -> tuple[Principal, datetime]:
    claims = _decode(token, keys, provider, audience, _ACCESS_CLAIMS)
    try:
        principal = principal_from_claims(claims)
    except InvalidToken as refused:
        raise OidcError(f"The access token was refused: {refused}.") from refused
    return principal, datetime.fromtimestamp(claims["exp"], UTC)


async def _get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        answer = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as failure:
        raise OidcUnavailable(
            f"The provider's {what} at {url} is unreachable: {failure!r}."
        ) from failure
    if answer.status_code >= 500:
        raise OidcUnavailable(f"The provider's {what} at {url} answered {answer.status_code}.")
    body = _json_object(answer)
    if answer.status_code != 200 or body is None:
        raise OidcError(
            f"The provider's {what} at {url} answered {answer.status_code}, not a JSON object."
        )
    return body


def _json_object(answer: httpx.Response) -> dict[str, Any] | None:
    try:
        body = answer.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError both are
        return None
    return body if isinstance(body, dict) else None


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
