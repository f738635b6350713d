"""The console's OpenID Connect client against a real provider: the test issuer over HTTP.

Each test drives the flow as a browser would: the authorize URL fetched, the sign-in form
read and posted, the redirect to the console's callback taken apart (nothing listens there),
and `finish` called with what the callback received.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.auth import InvalidToken, JwksVerifier, Role, issue_development_token
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.testkit.oidc import Account, Issuer, RelyingParty, running_issuer
from web.oidc import (
    OidcError,
    OidcUnavailable,
    Pending,
    Provider,
    SignedIn,
    begin,
    discover,
    finish,
    verify_access_token,
)
from web.visit import local_path

CALLBACK = "http://127.0.0.1:9/auth/callback"  # the console's; never requested here
CONSOLE = RelyingParty("console", (CALLBACK,))
CONFIDENTIAL = RelyingParty("console-confidential", (CALLBACK,), client_secret="s3cret-" * 5)
LI = Account(
    "u-li", "Li Wei", roles=("province_reviewer", "not-ours"), org="org-yn", jurisdictions=("53",)
)
ZHANG = Account("u-zhang", "Zhang Min", roles=("finance",), org="org-cast", jurisdictions=("CN",))


class _Form(HTMLParser):
    """The sign-in page's form, read as a browser reads it: action, fields, options."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.options: list[str] = []
        self.labelled: set[str] = set()
        self.buttons: dict[str, str] = {}
        self._in_button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.action = named.get("action") or ""
        elif tag == "input" and named.get("type") == "hidden":
            self.fields[named["name"] or ""] = named.get("value") or ""
        elif tag == "option":
            self.options.append(named.get("value") or "")
        elif tag == "label":
            self.labelled.add(named.get("for") or "")
        elif tag == "button":
            self._in_button = named

    def handle_data(self, data: str) -> None:
        if self._in_button is not None and data.strip():
            self.buttons[data.strip()] = self._in_button.get("value") or ""
            self._in_button = None


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer([LI, ZHANG], [CONSOLE, CONFIDENTIAL]) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must not stand between us and 127.0.0.1.
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
async def provider(issuer: Issuer, http: httpx.AsyncClient) -> Provider:
    return await discover(http, issuer.issuer)


async def sign_in_page(http: httpx.AsyncClient, url: str) -> _Form:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    form = _Form()
    form.feed(page.text)
    return form


async def browse(
    http: httpx.AsyncClient, url: str, user: str = LI.sub, button: str = "Sign in"
) -> dict[str, str]:
    """The query the console's callback receives after `user` presses `button`."""
    form = await sign_in_page(http, url)
    assert user in form.options
    posted = await http.post(
        form.action, data={**form.fields, "user": user, "action": form.buttons[button]}
    )
    assert posted.status_code == 303, posted.text
    return callback_query(posted)


def callback_query(redirect: httpx.Response) -> dict[str, str]:
    location = httpx.URL(redirect.headers["location"])
    assert str(location.copy_with(query=None)) == CALLBACK
    return dict(location.params)


async def complete(
    http: httpx.AsyncClient,
    provider: Provider,
    pending: Pending,
    query: dict[str, str],
    client: RelyingParty = CONSOLE,
    audience: str = "haizhi",
) -> SignedIn:
    """What the console's callback does with the query it receives."""
    return await finish(
        http,
        provider,
        client.client_id,
        client.client_secret,
        CALLBACK,
        pending,
        query.get("code"),
        query.get("state"),
        error=query.get("error"),
        error_description=query.get("error_description"),
        iss=query.get("iss"),
        audience=audience,
    )


async def test_discovery_gives_the_issuers_endpoints(issuer: Issuer, provider: Provider) -> None:
    assert provider == Provider(
        issuer=issuer.issuer,
        authorization_endpoint=f"{issuer.issuer}/authorize",
        token_endpoint=f"{issuer.issuer}/token",
        jwks_uri=issuer.jwks_url,
        end_session_endpoint=None,
        iss_in_response=True,  # RFC 9207: a callback without `iss` is then refused
    )


async def test_discovery_refuses_a_document_for_another_issuer(
    issuer: Issuer, http: httpx.AsyncClient
) -> None:
    """The same server under another name: its document names 127.0.0.1, not localhost."""
    elsewhere = issuer.issuer.replace("127.0.0.1", "localhost")
    with pytest.raises(OidcError, match="names the issuer"):
        await discover(http, elsewhere)


async def test_an_unreachable_provider_is_unavailable(http: httpx.AsyncClient) -> None:
    with running_issuer([LI], [CONSOLE]) as stopped:
        gone = stopped.issuer
    with pytest.raises(OidcUnavailable):
        await discover(http, gone)


async def test_a_sign_in_gives_the_users_principal_as_the_services_see_it(
    issuer: Issuer, provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK, next_path="/cases?page=2")
    assert pending.next_path == "/cases?page=2"
    form = await sign_in_page(http, url)
    assert "user" in form.labelled, "the user list has a label"
    assert form.options == [LI.sub, ZHANG.sub]

    query = await browse(http, url, LI.sub)
    assert query["state"] == pending.state
    assert query["iss"] == issuer.issuer
    signed = await complete(http, provider, pending, query)

    assert signed.principal.user_id == "u-li"
    assert signed.principal.roles == frozenset({Role.PROVINCE_REVIEWER})  # unknown role dropped
    assert signed.principal.org_id == "org-yn"
    assert signed.principal.jurisdictions == ("53",)
    assert signed.name == "Li Wei"
    now = datetime.now(UTC)
    assert now < signed.expires_at <= now + timedelta(minutes=16)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_service_accepts_the_issuers_access_token(
    algorithm: Any, http: httpx.AsyncClient
) -> None:
    """The access token verified exactly as a service does: `JwksVerifier` on the JWKS URL,
    audience `haizhi`, the provider as issuer (HAIZHI_OIDC_JWKS_URL, HAIZHI_JWT_ISSUER)."""
    with running_issuer([ZHANG], [CONSOLE], algorithm=algorithm) as own:
        provider = await discover(http, own.issuer)
        url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
        signed = await complete(http, provider, pending, await browse(http, url, ZHANG.sub))
        service = JwksVerifier(own.jwks_url, "haizhi", own.issuer)
        assert await service.verify(signed.access_token) == signed.principal
    assert signed.principal.roles == frozenset({Role.FINANCE})
    assert signed.principal.covers("5301")  # "CN" covers every code


async def test_a_login_hint_naming_a_user_skips_the_form(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK, login_hint=ZHANG.sub)
    redirect = await http.get(url)
    assert redirect.status_code == 303
    signed = await complete(http, provider, pending, callback_query(redirect))
    assert signed.principal.user_id == ZHANG.sub


async def test_a_confidential_client_signs_in_with_its_secret_only(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONFIDENTIAL.client_id, CALLBACK)
    query = await browse(http, url)
    without = dataclasses.replace(CONFIDENTIAL, client_secret=None)
    with pytest.raises(OidcError, match="invalid_client"):
        await complete(http, provider, pending, query, client=without)

    url, pending = begin(provider, CONFIDENTIAL.client_id, CALLBACK)
    signed = await complete(http, provider, pending, await browse(http, url), client=CONFIDENTIAL)
    assert signed.principal.user_id == LI.sub


@pytest.mark.parametrize("state", ["forged", "", None])
async def test_a_wrong_or_missing_state_is_refused(
    provider: Provider, http: httpx.AsyncClient, state: str | None
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    forged = {name: value for name, value in query.items() if name != "state"}
    if state is not None:
        forged["state"] = state
    with pytest.raises(OidcError, match="state does not match"):
        await complete(http, provider, pending, forged)


async def test_a_code_is_used_once(provider: Provider, http: httpx.AsyncClient) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    await complete(http, provider, pending, query)
    with pytest.raises(OidcError, match=r"invalid_grant: The authorization code was already used"):
        await complete(http, provider, pending, query)


async def test_a_wrong_code_verifier_is_refused(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    _, other = begin(provider, CONSOLE.client_id, CALLBACK)
    stolen = dataclasses.replace(pending, code_verifier=other.code_verifier)
    with pytest.raises(OidcError, match="invalid_grant: code_verifier does not match"):
        await complete(http, provider, stolen, query)


async def test_a_wrong_nonce_is_refused(provider: Provider, http: httpx.AsyncClient) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    replayed = dataclasses.replace(pending, nonce="another-sign-in")
    with pytest.raises(OidcError, match="nonce"):
        await complete(http, provider, replayed, query)


async def test_an_expired_code_is_refused(http: httpx.AsyncClient) -> None:
    with running_issuer([LI], [CONSOLE], code_ttl=timedelta(0)) as hasty:
        provider = await discover(http, hasty.issuer)
        url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
        query = await browse(http, url)
        with pytest.raises(OidcError, match="invalid_grant: The authorization code has expired"):
            await complete(http, provider, pending, query)


async def test_the_providers_error_on_the_callback_is_surfaced(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url, button="Cancel")
    assert query["error"] == "access_denied"
    assert "code" not in query
    with pytest.raises(
        OidcError, match=r"refused the sign-in \(access_denied: The user declined to sign in\.\)"
    ):
        await complete(http, provider, pending, query)


async def test_a_request_the_provider_refuses_comes_back_with_its_words(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK, scope="profile")
    query = callback_query(await http.get(url))
    with pytest.raises(OidcError, match="invalid_scope: The scope must include openid"):
        await complete(http, provider, pending, query)


async def test_an_unregistered_redirect_uri_is_never_redirected_to(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    url, _ = begin(provider, CONSOLE.client_id, "https://evil.example/callback")
    page = await http.get(url)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "is not registered" in page.text


async def test_a_callback_from_another_issuer_is_refused(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    """RFC 9207: the `iss` the provider adds to its callback must be the one we asked."""
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    with pytest.raises(OidcError, match="came from the issuer"):
        await complete(http, provider, pending, {**query, "iss": "https://other.example"})


async def test_an_access_token_for_another_audience_is_refused(
    provider: Provider, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url)
    with pytest.raises(OidcError, match="Audience doesn't match"):
        await complete(http, provider, pending, query, audience="another-system")

    elsewhere = issuer.access_token(LI, audience="another-system")
    with pytest.raises(OidcError, match="Audience doesn't match"):
        await verify_access_token(http, provider, elsewhere)


async def test_an_access_token_from_another_issuer_is_refused(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    with running_issuer([LI], [CONSOLE]) as other:
        # Signed by the other provider's key, which this provider's JWKS does not hold.
        with pytest.raises(OidcError, match="no single RS256/ES256 key"):
            await verify_access_token(http, provider, other.access_token(LI))
        # Checked against the other provider's keys, but not issued by the one we trust.
        impostor = dataclasses.replace(provider, jwks_uri=other.jwks_url)
        with pytest.raises(OidcError, match="Invalid issuer"):
            await verify_access_token(http, impostor, other.access_token(LI))


async def test_an_hs256_token_is_refused(
    issuer: Issuer, provider: Provider, http: httpx.AsyncClient
) -> None:
    """Signed with the development secret, every claim right, even naming the provider's key:
    no RS256/ES256 signature, so neither the console nor a service accepts it."""
    token = issue_development_token(
        DEVELOPMENT_JWT_SECRET, LI.sub, ["admin"], jurisdictions=["CN"], issuer=issuer.issuer
    )
    with pytest.raises(OidcError, match="signed with 'HS256': only RS256 or ES256"):
        await verify_access_token(http, provider, token)
    claims = jwt.decode(token, options={"verify_signature": False})
    naming_the_key = jwt.encode(
        claims, DEVELOPMENT_JWT_SECRET, algorithm="HS256", headers={"kid": issuer.kid}
    )
    with pytest.raises(OidcError, match="signed with 'HS256'"):
        await verify_access_token(http, provider, naming_the_key)
    with pytest.raises(InvalidToken, match="alg value is not allowed"):
        await JwksVerifier(issuer.jwks_url, "haizhi", issuer.issuer).verify(naming_the_key)


async def test_a_token_is_checked_with_its_keys_algorithm_not_its_own(
    issuer: Issuer, provider: Provider, http: httpx.AsyncClient
) -> None:
    """An ES256 signature from some other key, naming the provider's RSA key by its kid."""
    now = int(time.time())
    claims = {"sub": LI.sub, "aud": "haizhi", "iss": issuer.issuer, "iat": now, "exp": now + 60}
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": issuer.kid})
    with pytest.raises(OidcError, match="alg value is not allowed"):
        await verify_access_token(http, provider, forged)


async def test_an_expired_access_token_is_refused(
    issuer: Issuer, provider: Provider, http: httpx.AsyncClient
) -> None:
    then = int(time.time()) - 3600
    expired = issuer.sign(
        {"sub": LI.sub, "aud": "haizhi", "iss": issuer.issuer, "iat": then, "exp": then + 60}
    )
    with pytest.raises(OidcError, match="expired"):
        await verify_access_token(http, provider, expired)


def test_the_pending_sign_in_survives_the_session_cookie() -> None:
    provider = Provider("https://id.example", "https://id.example/a", "https://id.example/t", "j")
    url, pending = begin(provider, "console", CALLBACK, next_path="/calls")
    assert Pending.from_dict(pending.as_dict()) == pending
    with pytest.raises(OidcError, match="No sign-in is in progress"):
        Pending.from_dict({"state": pending.state})
    params = httpx.URL(url).params
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["state"] == pending.state
    assert params["nonce"] == pending.nonce


@pytest.mark.parametrize(
    ("wanted", "kept"),
    [
        ("/cases/1?tab=2", "/cases/1?tab=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("cases", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_only_a_path_on_this_site_is_kept_for_after_the_sign_in(wanted: str, kept: str) -> None:
    assert local_path(wanted) == kept


async def test_a_callback_without_its_issuer_is_refused_where_the_provider_always_names_it(
    provider: Provider, http: httpx.AsyncClient
) -> None:
    """RFC 9207: this provider names itself in every answer, so one without `iss` may be a
    mix-up attack's, from another provider."""
    url, pending = begin(provider, CONSOLE.client_id, CALLBACK)
    query = await browse(http, url, LI.sub)
    del query["iss"]
    with pytest.raises(OidcError, match="does not name its issuer"):
        await complete(http, provider, pending, query)
