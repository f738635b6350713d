"""Bearer tokens become principals; routes check role, then jurisdiction or organisation."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI

from shared.auth import (
    CurrentPrincipal,
    HS256Verifier,
    InvalidToken,
    JwksVerifier,
    Principal,
    Role,
    issue_development_token,
    require_jurisdiction,
    require_organisation,
    require_roles,
)
from shared.problems import install_problem_handlers

SECRET = "test-secret-that-is-long-enough-for-hs256"
verifier = HS256Verifier(SECRET, audience="haizhi", issuer="haizhi")


def principal(
    *roles: Role, jurisdictions: tuple[str, ...] = (), org: str | None = None
) -> Principal:
    return Principal("u-1", frozenset(roles), org, jurisdictions)


async def test_a_development_token_becomes_its_principal() -> None:
    token = issue_development_token(
        SECRET, "u-7", [Role.PROVINCE_REVIEWER, "auditor"], org="org-3", jurisdictions=["31"]
    )

    assert await verifier.verify(token) == Principal(
        "u-7", frozenset({Role.PROVINCE_REVIEWER, Role.AUDITOR}), "org-3", ("31",)
    )


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (
            issue_development_token(
                SECRET, "u", [], issued_at=datetime.now(UTC) - timedelta(hours=13)
            ),
            "expired",
        ),
        (issue_development_token(SECRET, "u", [], audience="elsewhere"), "(?i)audience"),
        (issue_development_token(SECRET, "u", [], issuer="elsewhere"), "(?i)issuer"),
        (issue_development_token("another-secret-just-as-long-as-ours!", "u", []), "Signature"),
        ("not.a.token", None),
        (jwt.encode({"sub": "u", "aud": "haizhi", "iss": "haizhi"}, SECRET), "exp"),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "wrong-secret", "garbage", "no-expiry"],
)
async def test_tokens_that_are_not_valid_for_us_are_refused(token: str, reason: str | None) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(token)


async def test_an_unsigned_token_is_refused() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "u", "aud": "haizhi", "iss": "haizhi", "iat": now, "exp": now + 60}
    with pytest.raises(InvalidToken):
        await verifier.verify(jwt.encode(claims, "", algorithm="none"))


async def test_malformed_claims_are_refused_and_unknown_roles_ignored() -> None:
    now = int(datetime.now(UTC).timestamp())
    base = {"sub": "u", "aud": "haizhi", "iss": "haizhi", "iat": now, "exp": now + 60}

    with pytest.raises(InvalidToken, match="lists of strings"):
        await verifier.verify(jwt.encode({**base, "roles": "admin"}, SECRET))
    accepted = await verifier.verify(
        jwt.encode({**base, "roles": ["admin", "offline_access"]}, SECRET)
    )
    assert accepted.roles == frozenset({Role.ADMIN})


def test_a_jurisdiction_covers_the_codes_it_is_a_prefix_of() -> None:
    reviewer = principal(Role.PREFECTURE_REVIEWER, jurisdictions=("3101",))

    assert reviewer.covers("310104")
    assert reviewer.covers("3101")
    assert not reviewer.covers("3102")
    assert not reviewer.covers("31")
    assert not reviewer.covers("")


@pytest.mark.parametrize("national", ["CN", "00"])
def test_a_national_jurisdiction_covers_every_code(national: str) -> None:
    assert principal(Role.NATIONAL_REVIEWER, jurisdictions=(national,)).covers("650102")


def test_no_role_implies_coverage_not_even_admin() -> None:
    assert not principal(Role.ADMIN).covers("31")


def test_has_means_any_of_the_roles() -> None:
    finance = principal(Role.FINANCE)

    assert finance.has(Role.FINANCE)
    assert finance.has(Role.AUDITOR, Role.FINANCE)
    assert not finance.has(Role.ADMIN)


def _app() -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = verifier
    install_problem_handlers(app)

    @app.get("/me")
    async def me(caller: CurrentPrincipal) -> dict[str, Any]:
        return {"user_id": caller.user_id, "roles": sorted(caller.roles)}

    @app.get("/ledger")
    async def ledger(
        caller: Annotated[Principal, Depends(require_roles(Role.FINANCE, Role.AUDITOR))],
    ) -> dict[str, str]:
        return {"reader": caller.user_id}

    @app.get("/regions/{code}/orgs/{org_id}")
    async def region(code: str, org_id: str, caller: CurrentPrincipal) -> dict[str, str]:
        if caller.has(Role.APPLICANT):
            require_organisation(caller, org_id)
        else:
            require_jurisdiction(caller, code)
        return {"code": code}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def bearer(
    *roles: Role, jurisdictions: tuple[str, ...] = (), org: str | None = None
) -> dict[str, str]:
    token = issue_development_token(SECRET, "u-1", roles, org=org, jurisdictions=jurisdictions)
    return {"Authorization": f"Bearer {token}"}


async def test_a_request_without_a_token_is_a_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dTpw",
        "Bearer garbage",
        "Bearer "
        + issue_development_token(SECRET, "u", [], issued_at=datetime.now(UTC) - timedelta(days=1)),
    ],
    ids=["basic", "garbage", "expired"],
)
async def test_a_refused_token_is_a_401_problem(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "Bearer" in response.headers["www-authenticate"]


async def test_a_valid_token_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=bearer(Role.AUDITOR))

    assert response.status_code == 200
    assert response.json() == {"user_id": "u-1", "roles": ["auditor"]}


async def test_a_route_refuses_a_caller_without_the_role(client: httpx.AsyncClient) -> None:
    refused = await client.get("/ledger", headers=bearer(Role.APPLICANT))
    allowed = await client.get("/ledger", headers=bearer(Role.AUDITOR))

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "finance" in refused.json()["detail"]
    assert allowed.status_code == 200


async def test_an_object_outside_the_callers_jurisdiction_is_refused(
    client: httpx.AsyncClient,
) -> None:
    reviewer = bearer(Role.PROVINCE_REVIEWER, jurisdictions=("31",))

    assert (await client.get("/regions/310104/orgs/o-1", headers=reviewer)).status_code == 200
    outside = await client.get("/regions/440300/orgs/o-1", headers=reviewer)
    assert outside.status_code == 403
    assert outside.json()["title"] == "Forbidden"


async def test_an_object_of_another_organisation_is_refused(client: httpx.AsyncClient) -> None:
    applicant = bearer(Role.APPLICANT, org="o-1")

    assert (await client.get("/regions/31/orgs/o-1", headers=applicant)).status_code == 200
    assert (await client.get("/regions/31/orgs/o-2", headers=applicant)).status_code == 403


# --- production: an OIDC provider's keys, served from a real HTTP endpoint --------------------

PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PROVIDER_KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


def provider_token(**overrides: object) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": "u-9",
        "roles": ["national_reviewer"],
        "jurisdictions": ["CN"],
        "aud": "haizhi",
        "iss": "https://login.example",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return jwt.encode(claims, PROVIDER_KEY, algorithm="RS256", headers={"kid": "k1"})


async def test_the_jwks_verifier_accepts_the_providers_tokens(jwks_url: str) -> None:
    jwks = JwksVerifier(jwks_url, audience="haizhi", issuer="https://login.example")

    caller = await jwks.verify(provider_token())

    assert caller.user_id == "u-9"
    assert caller.covers("650102")


async def test_the_jwks_verifier_refuses_development_tokens(jwks_url: str) -> None:
    jwks = JwksVerifier(jwks_url, audience="haizhi", issuer="https://login.example")
    development = issue_development_token(SECRET, "u", [Role.ADMIN], issuer="https://login.example")
    # An HS256 token that names the provider's key id: the algorithm is not one we accept.
    forged = jwt.encode(
        {"sub": "u", "aud": "haizhi", "iss": "https://login.example", "iat": 0, "exp": 2**31},
        SECRET,
        algorithm="HS256",
        headers={"kid": "k1"},
    )

    for token in (development, forged):
        with pytest.raises(InvalidToken):
            await jwks.verify(token)
    with pytest.raises(InvalidToken, match=r"(?i)audience"):
        await jwks.verify(provider_token(aud="elsewhere"))
