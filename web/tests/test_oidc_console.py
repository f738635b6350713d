"""Signing in to the console through an OpenID provider (authorization code with PKCE), as
production does: the local test provider, the console and the four services as processes,
the services verifying the provider's keys. The access token the console receives is the one
it forwards, and the services accept it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.system import System, listen
from shared.testkit.oidc import Account, RelyingParty, running_issuer
from shared.testkit.system import whole_system

from .forms import FormClient, read_page

WANG = Account(
    "u-wangfang", "王芳", roles=("province_reviewer",), org="cast-yn", jurisdictions=("53",)
)


@pytest.fixture(scope="module")
def oidc_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[System, str]]:
    listener = listen()  # the console's socket, bound first: the provider must know its port
    port = listener.getsockname()[1]
    callback = f"http://127.0.0.1:{port}/auth/callback"
    with running_issuer([WANG], [RelyingParty("haizhi-console", (callback,))]) as issuer:
        env = {
            # The services: the provider's keys, its name as the tokens' issuer.
            "HAIZHI_OIDC_JWKS_URL": issuer.jwks_url,
            "HAIZHI_JWT_ISSUER": issuer.issuer,
            # The console: sign in through the provider, no persona picker.
            "HAIZHI_WEB_OIDC_ISSUER": issuer.issuer,
            "HAIZHI_WEB_OIDC_CLIENT_ID": "haizhi-console",
        }
        folder: Path = tmp_path_factory.mktemp("console-oidc")
        with whole_system(
            folder, console=True, console_listener=listener, extra_env=env
        ) as running:
            assert running.console_url == f"http://127.0.0.1:{port}"
            yield running, issuer.issuer


def test_signing_in_through_the_provider_gives_a_token_the_services_accept(
    oidc_system: tuple[System, str],
) -> None:
    system, issuer = oidc_system
    browser = FormClient(str(system.console_url))
    try:
        sign_in = browser.get("/review/queue")  # a page of a service's answer
        assert sign_in.url.startswith(f"{issuer}/authorize?")
        assert "code_challenge_method=S256" in sign_in.url
        assert "/signin/persona" not in sign_in.html  # no persona picker with a provider
        landed = browser.submit(
            sign_in, f"{issuer}/authorize", {"user": WANG.sub}, button="sign-in"
        )
        # Back where she was going, with the review service's answer to the provider's token.
        assert landed.url == f"{system.console_url}/review/queue", landed.text[:500]
        assert landed.status == 200
        assert landed.says("待办事项")
        home = browser.get("/")
        assert home.says("欢迎，王芳", "省级科协审核人员", "辖区：53")
        # The persona picker's route is not there either.
        csrf = home.forms[0].fields["csrf_token"]
        picked = browser.http.post("/signin/persona", data={"csrf_token": csrf})
        assert picked.status_code == 404
    finally:
        browser.close()


def test_a_sign_in_the_person_cancels_is_explained(oidc_system: tuple[System, str]) -> None:
    system, issuer = oidc_system
    browser = FormClient(str(system.console_url))
    try:
        sign_in = browser.get("/")
        refused = browser.submit(
            sign_in, f"{issuer}/authorize", {"user": WANG.sub}, button="cancel"
        )
        assert refused.status == 400
        assert refused.says("登录未成功。", "请重新登录")
        assert browser.get("/").url.startswith(f"{issuer}/authorize?")  # still signed out
    finally:
        browser.close()


def test_a_callback_without_its_sign_in_is_refused(oidc_system: tuple[System, str]) -> None:
    system, _ = oidc_system
    forged = httpx.get(f"{system.console_url}/auth/callback", params={"code": "x", "state": "y"})
    page = read_page(forged)
    assert page.status == 400
    assert page.says("登录未成功。")
