"""How the console takes the services' answers, and its own failures: a redirect or a body
that is not JSON is no answer (never taken for success), an id that would change the path is
no record, and a failure of the console itself keeps the session and its headers."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from web.backend import Backend, ServiceProblem
from web.main import create_app
from web.settings import WebSettings

from .forms import read_page

SETTINGS = WebSettings(environment="development")


def service(answer: httpx.Response) -> Backend:
    """The console's backend before a service that answers only `answer`."""
    transport = httpx.MockTransport(lambda request: answer)
    return Backend(SETTINGS, httpx.AsyncClient(transport=transport))


async def test_a_command_answered_by_a_redirect_is_not_taken_for_done() -> None:
    backend = service(httpx.Response(307, headers={"location": "/elsewhere"}))
    with pytest.raises(ServiceProblem) as refused:
        await backend.send("application", "POST", "/applications/A1/submit", "token")
    assert refused.value.status == 502


async def test_an_answer_that_is_not_json_is_a_bad_gateway() -> None:
    backend = service(httpx.Response(200, text="<html>a proxy's page</html>"))
    with pytest.raises(ServiceProblem) as refused:
        await backend.get("review", "/queue", "token")
    assert refused.value.status == 502


@pytest.mark.parametrize(
    "path",
    ["/applications/../calls", "/applications/a?status=any", "/applications/a#x", "/a/%zz", "x"],
)
async def test_an_id_that_would_change_the_path_names_no_record(path: str) -> None:
    backend = service(httpx.Response(200, json={"called": True}))
    with pytest.raises(ServiceProblem) as refused:
        await backend.get("application", path, "token")
    assert refused.value.status == 404


async def test_a_quoted_certificate_number_of_a_chinese_series_is_asked_for() -> None:
    backend = service(httpx.Response(200, json={"valid": True}))
    answer = await backend.get("review", "/certificates/%E4%BA%91%E6%B5%B7-2022-001", None)
    assert answer == {"valid": True}


def test_a_failure_of_the_console_keeps_the_session_the_message_and_the_headers() -> None:
    app = create_app(SETTINGS)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken, methods=["GET", "POST"])
    with TestClient(app) as client:
        page = client.get("/broken")
        assert page.status_code == 500
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert read_page(page).says("返回首页")
        csrf = read_page(client.get("/signin")).forms[0].fields["csrf_token"]
        sent = client.post(
            "/broken", data={"csrf_token": csrf, "back": "/signin"}, follow_redirects=False
        )
        assert sent.status_code == 303
        told = read_page(client.get(sent.headers["location"]))
        assert told.html.count('class="flash error"') == 1  # the message survived the redirect


async def test_a_file_keeps_its_chinese_name() -> None:
    """Starlette's FileResponse names a file that is not plain ASCII only by `filename*`."""
    disposition = (
        "attachment; filename*=utf-8''%E6%94%AF%E6%8C%81%E5%87%BD%20%E5%8E%9F%E4%BB%B6.pdf"
    )
    backend = service(
        httpx.Response(200, content=b"%PDF", headers={"content-disposition": disposition})
    )
    got = await backend.download("application", "/applications/A1/files/abc", "token")
    assert got.filename == "支持函 原件.pdf"
