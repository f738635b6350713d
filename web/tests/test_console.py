"""The console's own manners, against the running system: signing in and out, the session
cookie, CSRF on every form, the two languages remembered per person, and failure pages."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.responses import Response

from web.errors import explain
from web.i18n import Translations
from web.main import create_app
from web.session import Cookies, Person, Session
from web.settings import DEVELOPMENT_SESSION_SECRET, WebSettings

from .forms import FormClient, HtmlForm, Page, read_page

KMUST_CONTACT = {"user_id": "liming", "name": "李明", "role": "applicant", "org": "unit-kmust"}


def anyone_form(page: Page) -> HtmlForm:
    """The sign-in page's form for someone not among the example's people."""
    return next(f for f in page.forms if "role" in f.names and not f.fields.get("user_id"))


def test_a_page_needs_sign_in_and_comes_back_after_it(browser: FormClient) -> None:
    page = browser.get("/")
    assert page.url.endswith("/signin?next=/")
    assert page.says("登录")  # 简体中文 by default
    assert anyone_form(page).fields["next"] == "/"
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    assert home.url.endswith("/")
    assert home.says("欢迎，王芳", "省级科协审核人员", "辖区：53")


def test_the_session_cookie_is_signed_httponly_and_samesite(console_url: str) -> None:
    response = httpx.get(f"{console_url}/signin")
    cookie = response.headers["set-cookie"]
    assert "haizhi_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development over http; production sets it
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_tampered_cookie_is_a_new_signed_out_session(browser: FormClient) -> None:
    browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    value = browser.http.cookies["haizhi_session"]
    browser.http.cookies.set(
        "haizhi_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB")
    )
    assert browser.get("/").url.endswith("/signin?next=/")


def test_a_form_without_the_session_csrf_token_is_refused_and_changes_nothing(
    browser: FormClient,
) -> None:
    browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    forged = browser.http.post("/signout", data={"csrf_token": "from-another-site"})
    assert forged.status_code == 403
    assert "此表单已过期，或并非来自本系统。" in forged.text
    assert browser.get("/").says("欢迎，王芳")  # still signed in
    missing = browser.http.post("/language", data={"language": "en"})
    assert missing.status_code == 403
    assert browser.get("/").says("欢迎，王芳")  # still Chinese


def test_the_language_is_remembered_per_person_on_the_browser(browser: FormClient) -> None:
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    english = browser.submit(home, "/language", button="en")
    assert english.says("Welcome, 王芳", "Provincial CAST reviewer")
    assert 'lang="en"' in english.html
    signed_out = browser.submit(english, "/signout")
    assert signed_out.says("You have signed out.")
    other = browser.sign_in("zhangwei", "张伟", "province_reviewer", "53", "cast-yn")
    chinese = browser.submit(other, "/language", button="zh")
    assert chinese.says("欢迎，张伟")
    assert 'lang="zh-Hans"' in chinese.html
    browser.submit(chinese, "/signout")
    again = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    assert again.says("Welcome, 王芳")  # her choice, not the last person's


def test_sign_in_goes_back_only_to_a_page_of_the_console(browser: FormClient) -> None:
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "x"):
        page = browser.get("/signin", next=elsewhere)
        form = anyone_form(page)
        assert form.fields["next"] == "/", elsewhere
        posted = browser.http.post(
            "/signin/persona",
            data={**form.fields, **KMUST_CONTACT, "jurisdiction": "5301", "next": elsewhere},
            follow_redirects=False,
        )
        assert posted.headers["location"] == "/", elsewhere


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("role", "emperor", "请选择一个角色。"),
        ("user_id", "", "账号为1至64位字母"),
        ("jurisdiction", "Yunnan", "辖区为 CN 或2位、4位、6位行政区划代码。"),
        ("org", "", "申报人须代表一个单位"),
    ],
)
def test_a_persona_the_console_cannot_read_is_explained_not_signed_in(
    browser: FormClient, field: str, value: str, said: str
) -> None:
    page = browser.get("/signin")
    fields = {**KMUST_CONTACT, "jurisdiction": "5301", field: value}
    answer = browser.http.post("/signin/persona", data={**anyone_form(page).fields, **fields})
    assert answer.status_code == 200  # back on the sign-in page, told why
    assert said in answer.text
    assert browser.get("/").url.endswith("/signin?next=/")


def test_an_unknown_page_is_a_404_page_in_the_visitors_language(browser: FormClient) -> None:
    browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    page = browser.http.get("/no/such/page")
    assert page.status_code == 404
    assert "<h1>" in page.text
    assert "返回首页" in page.text


def test_production_refuses_development_secrets_and_the_persona_picker() -> None:
    with pytest.raises(ValidationError) as refused:
        WebSettings(environment="production")
    said = str(refused.value)
    assert "HAIZHI_WEB_SESSION_SECRET is the development secret" in said
    assert "HAIZHI_WEB_OIDC_ISSUER is missing" in said
    assert "HAIZHI_WEB_PUBLIC_URL must be the console's https:// address" in said
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        WebSettings(environment="development", session_secret="short")
    settings = WebSettings(
        environment="production",
        session_secret="a" * 40,
        oidc_issuer="https://id.example",
        oidc_client_id="console",
        public_url="https://console.example",
    )
    assert not settings.persona_picker
    assert settings.secure_cookies
    with TestClient(create_app(settings), base_url="https://testserver") as client:  # Secure
        page = client.get("/signin", follow_redirects=False)
        assert page.headers["location"] == "/auth/login?next=/"
        token = client.cookies.get("haizhi_session")
        assert token is not None
        csrf = read_page(client.get("/goodbye")).forms[0].fields["csrf_token"]
        picked = client.post("/signin/persona", data={"csrf_token": csrf, "user_id": "x"})
        assert picked.status_code == 404  # with a valid form: the picker is not there at all


def test_signing_out_lands_on_a_page_that_stays_signed_out(browser: FormClient) -> None:
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    gone = browser.submit(home, "/signout")
    assert gone.url.endswith("/goodbye")
    assert gone.says("您已退出登录。")
    assert not gone.has_form("/signout")
    assert browser.get("/").url.endswith("/signin?next=/")


def test_a_form_sent_after_the_sign_in_ended_asks_to_sign_in_again_without_a_redirect(
    browser: FormClient,
) -> None:
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    form = home.form("/language")
    # The same browser, its sign-in ended: the cookie as the console would have written it.
    cookies = Cookies(DEVELOPMENT_SESSION_SECRET, max_age=3600, secure=False)
    session = Session(csrf=form.fields["csrf_token"])
    session.person = Person("wangfang", "王芳", ["province_reviewer"], "cast-yn", ["53"], "t", 0)
    written = Response()
    cookies.save(written, session)
    ended = written.headers["set-cookie"].split(";")[0]
    back = "/review/units/unit-kmust"
    browser.http.cookies.clear()
    answer = browser.http.post(
        f"{back}/verify",
        data={"csrf_token": form.fields["csrf_token"], "back": back},
        headers={"Cookie": ended},
        follow_redirects=False,
    )
    assert answer.status_code == 401  # a page, not a redirect chain to an identity provider
    page = read_page(answer)
    assert page.says("请重新登录", "提交表单前登录已失效，因此未作任何更改。")
    assert f'href="/signin?next={back}"' in page.html  # back to the form's page after it


def test_a_body_too_large_is_refused_on_the_form_s_page(browser: FormClient) -> None:
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    form = home.form("/language")
    huge = {**form.fields, "language": "en", "padding": "x" * (2 * 1024 * 1024)}
    told = read_page(browser.http.post("/language", data=huge))
    assert told.url.endswith("/")
    assert told.says("欢迎，王芳")  # unchanged: still Chinese
    too_large = explain(413, None, Translations.load().zh.gettext)
    assert told.says(too_large.message, too_large.next_step)


def test_pages_are_never_cached_and_the_language_cookie_names_nobody(
    browser: FormClient,
) -> None:
    home = browser.sign_in("wangfang", "王芳", "province_reviewer", "53", "cast-yn")
    assert browser.http.get("/").headers["cache-control"] == "no-store"
    assert "no-store" not in browser.http.get("/static/app.css").headers.get("cache-control", "")
    browser.submit(home, "/language", button="en")
    remembered = browser.http.cookies["haizhi_lang"]
    payload = remembered.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"wangfang" not in decoded
