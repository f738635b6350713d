"""Every error over HTTP is an RFC 9457 problem (`application/problem+json`)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from structlog.testing import capture_logs

from shared.decider import ConcurrencyConflict, DomainError
from shared.problems import (
    PROBLEM_TYPE_BASE,
    HTTPProblem,
    PreconditionRequired,
    install_problem_handlers,
    jsonable,
)
from shared.tests.test_faults import fill


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    count: int


class DeadlinePassed(DomainError):
    code = "deadline-passed"
    title = "Deadline passed"
    status = 409


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create_thing(thing: Thing) -> Thing:
        return thing

    @app.get("/things")
    async def list_things() -> list[Thing]:
        return []

    @app.post("/refused")
    async def refused() -> None:
        raise DeadlinePassed("Filing closed.", deadline=date(2024, 4, 30), amount=Decimal("1.10"))

    @app.post("/stale")
    async def stale() -> None:
        raise ConcurrencyConflict("s-1", expected_version=3, actual_version=5)

    @app.post("/unconditional")
    async def unconditional() -> None:
        raise PreconditionRequired()

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPProblem(418, "I'm a teapot", "Short and stout.", headers={"X-Pot": "1"}, spout=1)

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.post("/full")
    async def full() -> None:
        raise fill(sqlite3.connect(app.state.path, isolation_level=None))

    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = _app()
    app.state.path = tmp_path / "small.db"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title"} <= body.keys()
    return body


async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/things", content=b'{"name": "x", ', headers={"Content-Type": "application/json"}
    )

    body = problem(response, 400)
    assert body["type"] == f"{PROBLEM_TYPE_BASE}malformed-json"
    assert body["errors"][0]["type"] == "json_invalid"


async def test_wrong_types_are_a_422_problem_naming_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "x", "count": "many"})

    body = problem(response, 422)
    assert body["errors"] == [
        {
            "location": ["body", "count"],
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]


async def test_unknown_fields_are_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "x", "count": 1, "colour": "red"})

    body = problem(response, 422)
    assert [(e["location"], e["type"]) for e in body["errors"]] == [
        (["body", "colour"], "extra_forbidden")
    ]


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/nowhere"), 404)

    assert body["title"] == "Not Found"
    assert body["instance"] == "/nowhere"


async def test_a_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/things")

    problem(response, 405)
    assert response.headers["allow"] == "GET, POST"  # both routes' methods, not the first's


async def test_a_refused_command_is_a_problem_of_its_own_type(client: httpx.AsyncClient) -> None:
    body = problem(await client.post("/refused"), 409)

    assert body == {
        "type": "https://haizhi.example/problems/deadline-passed",
        "title": "Deadline passed",
        "status": 409,
        "detail": "Filing closed.",
        "instance": "/refused",
        "code": "deadline-passed",
        "deadline": "2024-04-30",
        "amount": "1.10",
    }


async def test_a_stale_version_is_a_409_problem_with_both_versions(
    client: httpx.AsyncClient,
) -> None:
    body = problem(await client.post("/stale"), 409)

    assert (body["expected_version"], body["actual_version"]) == (3, 5)


async def test_a_missing_precondition_is_a_428_problem(client: httpx.AsyncClient) -> None:
    assert "If-Match" in problem(await client.post("/unconditional"), 428)["detail"]


async def test_a_raised_problem_keeps_its_headers_and_extensions(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/teapot")

    assert problem(response, 418)["spout"] == 1
    assert response.headers["x-pot"] == "1"


async def test_an_unexpected_failure_is_logged_and_a_500_problem_without_internals(
    client: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        response = await client.get("/crash")

    body = problem(response, 500)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    [failure] = [line for line in logs if line["event"] == "request.failed"]
    assert failure["log_level"] == "error"
    assert failure["exc_info"] is True
    assert body["instance"] == "/crash"


async def test_a_full_disk_is_a_503_to_send_again_not_a_500(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await client.post("/full")

    body = problem(response, 503)
    assert body["code"] == "store-unavailable"
    assert response.headers["retry-after"] == "1"
    assert "disk is full" not in response.text
    assert [line["log_level"] for line in logs if line["event"] == "request.unavailable"] == [
        "warning"
    ]
    assert not [line for line in logs if line["event"] == "request.failed"]


def test_jsonable_keeps_precision_and_dates_as_strings() -> None:
    assert jsonable({"d": date(2024, 1, 2), "x": [Decimal("0.1"), (1, None)]}) == {
        "d": "2024-01-02",
        "x": ["0.1", [1, None]],
    }
