"""A local OpenID provider for tests, and for signing in to the console from a browser.

It is a real HTTP server (uvicorn on 127.0.0.1, a free port, in a background thread) with a
signing key made when it starts: discovery, a JWKS, an authorization endpoint with a small
sign-in page, and a token endpoint for the authorization code flow with PKCE (S256 only).
Access tokens carry what the services read (`sub`, `roles`, `org`, `jurisdictions`, audience
`haizhi`, `iss`); ID tokens carry `sub`, `name` and `nonce`, for the client that asked.

    with running_issuer([Account("u-1", "Li Wei", roles=("finance",))],
                        [RelyingParty("console", ("http://127.0.0.1:8080/auth/callback",))]
                        ) as issuer:
        issuer.issuer    # "http://127.0.0.1:<port>", the discovery document's `issuer`
        issuer.jwks_url  # what a service's HAIZHI_OIDC_JWKS_URL would name

Nothing here is for production: there are no passwords, and anyone who can reach the port
may sign in as any configured account.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

Algorithm = Literal["RS256", "ES256"]

#: RFC 7636: a verifier is 43–128 unreserved characters; an S256 challenge is 43 base64url ones.
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_STARTUP_SECONDS = 10.0


@dataclass(frozen=True)
class Account:
    """A user who may sign in, and the claims their access token carries."""

    sub: str
    name: str
    roles: tuple[str, ...] = ()
    org: str | None = None
    jurisdictions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelyingParty:
    """A registered client: its redirect URIs (matched exactly) and its secret, if it has one."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str | None = None


class AuthorizeRefused(Exception):
    """An authorization request that names an unknown client or an unregistered redirect URI:
    shown to the user, never redirected (RFC 6749 §4.1.2.1), lest the provider be an open
    redirector."""


class AuthorizeError(Exception):
    """An authorization request that is wrong in another way: redirected to the client with
    `error` and `error_description`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class TokenError(Exception):
    """A token request refused: an RFC 6749 §5.2 error answer."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class _Authorization:
    """An authorization request that passed every check (but the user's choice)."""

    client: RelyingParty
    redirect_uri: str
    scope: str
    state: str
    nonce: str | None
    code_challenge: str

    def hidden_fields(self) -> dict[str, str]:
        fields = {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.nonce is not None:
            fields["nonce"] = self.nonce
        return fields


@dataclass(frozen=True)
class _Grant:
    """What a one-time code was issued for."""

    authorization: _Authorization
    account: Account
    expires_at: float  # time.monotonic()


@dataclass
class Issuer:
    """The provider's state: its URL, signing key, accounts, clients and outstanding codes.

    The HTTP handlers run on the server thread's event loop and never await while they
    read or change the codes, so the codes need no lock; the test's thread only signs,
    which reads the key.
    """

    issuer: str
    accounts: Sequence[Account]
    clients: Sequence[RelyingParty]
    algorithm: Algorithm = "RS256"
    access_audience: str = "haizhi"
    access_ttl: timedelta = timedelta(minutes=15)
    code_ttl: timedelta = timedelta(minutes=1)
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    _key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(init=False, repr=False)
    _codes: dict[str, _Grant] = field(default_factory=dict, init=False, repr=False)
    _spent: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")
        if self.algorithm == "RS256":
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self._key = ec.generate_private_key(ec.SECP256R1())

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def account(self, sub: str) -> Account | None:
        return next((each for each in self.accounts if each.sub == sub), None)

    def client(self, client_id: str) -> RelyingParty | None:
        return next((each for each in self.clients if each.client_id == client_id), None)

    def jwks(self) -> dict[str, Any]:
        public = self._key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}]}

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT") -> str:
        """Any claims, signed with this provider's key: for tests that need a token the
        flow would never give (another audience, an expired one)."""
        headers = {"kid": self.kid, "typ": typ}
        return jwt.encode(dict(claims), self._key, algorithm=self.algorithm, headers=headers)

    def access_token(
        self, account: Account, *, client_id: str = "", audience: str | None = None
    ) -> str:
        """The access token the token endpoint gives `account` (RFC 9068's shape)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": account.sub,
            "aud": audience or self.access_audience,
            "iat": now,
            "exp": now + int(self.access_ttl.total_seconds()),
            "jti": secrets.token_hex(16),
            "client_id": client_id,
            "roles": list(account.roles),
            "org": account.org,
            "jurisdictions": list(account.jurisdictions),
        }
        return self.sign(claims, typ="at+jwt")

    def id_token(self, account: Account, client_id: str, nonce: str | None, at: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": account.sub,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + int(self.access_ttl.total_seconds()),
            "name": account.name,
            "at_hash": _left_half_hash(at),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return self.sign(claims)

    # The authorization endpoint's checks and the code it issues.

    def authorization(self, params: Mapping[str, str]) -> _Authorization:
        client = self.client(params.get("client_id", ""))
        if client is None:
            raise AuthorizeRefused(f"Unknown client_id {params.get('client_id', '')!r}.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise AuthorizeRefused(f"redirect_uri {redirect_uri!r} is not registered.")
        if params.get("response_type") != "code":
            raise AuthorizeError("unsupported_response_type", "Only response_type=code.")
        scope = params.get("scope", "")
        if "openid" not in scope.split():
            raise AuthorizeError("invalid_scope", "The scope must include openid.")
        if not params.get("state"):
            raise AuthorizeError("invalid_request", "state is required.")
        if params.get("code_challenge_method") != "S256":
            raise AuthorizeError("invalid_request", "code_challenge_method must be S256.")
        challenge = params.get("code_challenge", "")
        if not _CHALLENGE.fullmatch(challenge):
            raise AuthorizeError("invalid_request", "code_challenge must be an S256 challenge.")
        return _Authorization(
            client, redirect_uri, scope, params["state"], params.get("nonce"), challenge
        )

    def issue_code(self, authorization: _Authorization, account: Account) -> str:
        code = secrets.token_urlsafe(32)
        expires_at = time.monotonic() + self.code_ttl.total_seconds()
        self._codes[code] = _Grant(authorization, account, expires_at)
        return code

    # The token endpoint's checks.

    def exchange(self, form: Mapping[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "authorization_code":
            raise TokenError("unsupported_grant_type", "Only grant_type=authorization_code.")
        client = self.client(form.get("client_id", ""))
        if client is None:
            raise TokenError("invalid_client", "Unknown client_id.")
        if client.client_secret is not None and not secrets.compare_digest(
            form.get("client_secret", "").encode(), client.client_secret.encode()
        ):
            raise TokenError("invalid_client", "The client_secret is missing or wrong.")
        code = form.get("code", "")
        if code in self._spent:
            # RFC 6749 §4.1.2: a code is used once; a second use hints that it was stolen.
            raise TokenError("invalid_grant", "The authorization code was already used.")
        grant = self._codes.pop(code, None)
        if grant is None:
            raise TokenError("invalid_grant", "Unknown authorization code.")
        self._spent.add(code)  # spent by any attempt, even a failed one: no second guess
        if time.monotonic() >= grant.expires_at:
            raise TokenError("invalid_grant", "The authorization code has expired.")
        if grant.authorization.client.client_id != client.client_id:
            raise TokenError("invalid_grant", "The code was issued to another client.")
        if form.get("redirect_uri") != grant.authorization.redirect_uri:
            raise TokenError("invalid_grant", "redirect_uri differs from the authorization's.")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.fullmatch(verifier):
            raise TokenError("invalid_request", "code_verifier is missing or malformed.")
        if not secrets.compare_digest(_s256(verifier), grant.authorization.code_challenge):
            raise TokenError("invalid_grant", "code_verifier does not match the challenge.")
        access = self.access_token(grant.account, client_id=client.client_id)
        return {
            "access_token": access,
            "id_token": self.id_token(
                grant.account, client.client_id, grant.authorization.nonce, access
            ),
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
            "scope": grant.authorization.scope,
        }

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.algorithm],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "roles", "org", "jurisdictions"],
            "authorization_response_iss_parameter_supported": True,
        }


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _left_half_hash(token: str) -> str:
    """OIDC Core §3.1.3.6 `at_hash`, for RS256 and ES256 alike (both SHA-256)."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def _redirect(issuer: Issuer, authorization: _Authorization, **params: str) -> Response:
    # RFC 9207: `iss` tells the client which provider answered (mix-up attacks).
    url = httpx.URL(authorization.redirect_uri).copy_merge_params(
        {**params, "state": authorization.state, "iss": issuer.issuer}
    )
    return RedirectResponse(str(url), status_code=303)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} — HaiZhi test identity provider</title>\n</head>\n"
        f"<body>\n<main>\n<h1>{html.escape(title)}</h1>\n{body}</main>\n</body>\n</html>\n"
    )
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _sign_in_page(issuer: Issuer, authorization: _Authorization) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">\n'
        for name, value in authorization.hidden_fields().items()
    )
    options = "".join(
        f'<option value="{html.escape(each.sub)}">'
        f"{html.escape(each.name)} ({html.escape(', '.join(each.roles) or 'no roles')})"
        "</option>\n"
        for each in issuer.accounts
    )
    body = (
        f"<p>Signing in to <strong>{html.escape(authorization.client.client_id)}</strong>. "
        "This provider is for tests: choose whom to sign in as.</p>\n"
        f'<form method="post" action="{html.escape(issuer.issuer)}/authorize">\n{hidden}'
        f'<label for="user">User</label>\n<select id="user" name="user">\n{options}</select>\n'
        '<button type="submit" name="action" value="sign-in">Sign in</button>\n'
        '<button type="submit" name="action" value="cancel">Cancel</button>\n</form>\n'
    )
    return _page("Sign in", body)


def _token_error(error: TokenError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=400,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def create_app(issuer: Issuer) -> FastAPI:
    """The provider's routes over `issuer`'s state."""
    app = FastAPI(title="HaiZhi test OpenID provider", openapi_url=None, docs_url=None)

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return issuer.discovery()

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    @app.get("/authorize", response_model=None)
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            authorization = issuer.authorization(params)
        except AuthorizeRefused as refused:
            return _page("Sign-in refused", f"<p>{html.escape(str(refused))}</p>\n", 400)
        except AuthorizeError as wrong:
            return _error_redirect(issuer, params, wrong)
        hinted = issuer.account(params.get("login_hint", ""))
        if hinted is not None:  # the hint names an account: no page to click through
            return _redirect(issuer, authorization, code=issuer.issue_code(authorization, hinted))
        return _sign_in_page(issuer, authorization)

    # The sign-in form has no CSRF token: there is no session here to protect, and the
    # posted fields are checked again as if they came in the authorization request.
    @app.post("/authorize", response_model=None)
    async def sign_in(request: Request) -> Response:
        form = await _form(request)
        try:
            authorization = issuer.authorization(form)
        except AuthorizeRefused as refused:
            return _page("Sign-in refused", f"<p>{html.escape(str(refused))}</p>\n", 400)
        except AuthorizeError as wrong:
            return _error_redirect(issuer, form, wrong)
        if form.get("action") == "cancel":
            return _redirect(
                issuer,
                authorization,
                error="access_denied",
                error_description="The user declined to sign in.",
            )
        account = issuer.account(form.get("user", ""))
        if account is None:
            return _page("Sign-in refused", "<p>Choose one of the listed users.</p>\n", 400)
        return _redirect(issuer, authorization, code=issuer.issue_code(authorization, account))

    @app.post("/token", response_model=None)
    async def token(request: Request) -> Response:
        form = await _form(request)
        try:
            answer = issuer.exchange(form)
        except TokenError as refused:
            return _token_error(refused)
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return app


async def _form(request: Request) -> dict[str, str]:
    """A posted form's text fields (an uploaded file is no field of these forms)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _error_redirect(issuer: Issuer, params: Mapping[str, str], wrong: AuthorizeError) -> Response:
    """Back to the client (whose redirect URI is registered, checked first) with the error."""
    redirect_uri = params["redirect_uri"]
    query = {"error": wrong.error, "error_description": wrong.description, "iss": issuer.issuer}
    if params.get("state"):
        query["state"] = params["state"]
    return RedirectResponse(str(httpx.URL(redirect_uri).copy_merge_params(query)), 303)


@contextlib.contextmanager
def running_issuer(
    accounts: Sequence[Account],
    clients: Sequence[RelyingParty],
    *,
    algorithm: Algorithm = "RS256",
    access_audience: str = "haizhi",
    access_ttl: timedelta = timedelta(minutes=15),
    code_ttl: timedelta = timedelta(minutes=1),
) -> Iterator[Issuer]:
    """The provider serving on 127.0.0.1 at a free port until the block ends.

    The socket is bound here, before the server starts, so the issuer URL (which has the
    port in it) is known to the tokens from the first request on.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    issuer = Issuer(
        f"http://127.0.0.1:{port}",
        tuple(accounts),
        tuple(clients),
        algorithm=algorithm,
        access_audience=access_audience,
        access_ttl=access_ttl,
        code_ttl=code_ttl,
    )
    # log_config=None: the test process's logging stays as the test set it.
    config = uvicorn.Config(
        create_app(issuer),
        log_config=None,
        access_log=False,
        lifespan="off",
        loop="asyncio",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"oidc-issuer-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test OpenID provider did not start on port {port}")
            time.sleep(0.01)
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_SECONDS)
        if thread.is_alive():  # a connection that will not close: stop without waiting
            server.force_exit = True
            thread.join(timeout=_STARTUP_SECONDS)
        listener.close()
