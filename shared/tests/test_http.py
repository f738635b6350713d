"""The app factory: health, readiness, metrics, AsyncAPI, request ids in responses and logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI, Request

from shared.auth import HS256Verifier, JwksVerifier
from shared.http import create_app
from shared.logging import configure_logging, get_logger
from shared.metrics import Metrics
from shared.settings import ServiceSettings


class Checks:
    """Readiness as the test sets it."""

    def __init__(self) -> None:
        self.state: dict[str, bool] = {"store": True, "nats": True}
        self.broken = False

    async def __call__(self) -> dict[str, bool]:
        if self.broken:
            raise ConnectionError("store unreachable")
        return dict(self.state)


router = APIRouter()


@router.get("/things/{thing_id}")
async def read_thing(thing_id: str) -> dict[str, str]:
    structlog.contextvars.bind_contextvars(case_id=thing_id)
    get_logger("probe").info("thing.read")
    return {"id": thing_id}


@router.get("/ids")
async def ids(request: Request) -> dict[str, str]:
    return {"request": request.state.request_id, "correlation": request.state.correlation_id}


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("boom")


def settings(**overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        service="probe", environment="test", data_dir=Path("/nonexistent"), **overrides
    )


@pytest.fixture
def checks() -> Checks:
    return Checks()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics("probe")


@pytest.fixture
def app(checks: Checks, metrics: Metrics) -> FastAPI:
    return create_app(
        title="Probe",
        settings=settings(),
        metrics=metrics,
        routers=[router],
        readiness=checks,
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_haizhi", False)]:
        root.removeHandler(handler)
    structlog.reset_defaults()


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_when_every_check_passes(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"store": True, "nats": True}


async def test_readyz_is_a_503_problem_naming_the_failing_checks(
    client: httpx.AsyncClient, checks: Checks
) -> None:
    checks.state["nats"] = False

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["failing"] == ["nats"]


async def test_readyz_is_a_503_when_a_check_raises(
    client: httpx.AsyncClient, checks: Checks
) -> None:
    checks.broken = True

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["readiness"]


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    metrics.commands_total.labels(command="DoThing", outcome="accepted").inc()
    await client.get("/things/a")
    await client.get("/things/b")
    await client.get("/nowhere")

    response = await client.get("/metrics")
    text = response.text

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{method="GET",route="/things/{thing_id}",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'commands_total{command="DoThing",outcome="accepted"} 1.0' in text
    for name in ("events_appended_total", "outbox_lag_events", "consumer_lag_events"):
        assert f"# TYPE {name.removesuffix('_total')}" in text
    assert "dead_letters_total" in text
    assert 'service_info{service="probe"} 1.0' in text


async def test_metrics_answer_with_the_last_gauges_when_their_refresh_hangs(
    metrics: Metrics, checks: Checks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scrape while the bus is electing a leader (each lag question unanswered) still gets
    the metrics, within the readiness bound, not after every question has timed out."""
    monkeypatch.setattr("shared.http.READINESS_TIMEOUT_SECONDS", 0.05)
    metrics.outbox_lag_events.set(7)
    never = asyncio.Event()

    async def refresh() -> None:
        await never.wait()

    app = create_app(
        title="Probe",
        settings=settings(),
        metrics=metrics,
        readiness=checks,
        refresh_metrics=refresh,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await asyncio.wait_for(client.get("/metrics"), 5)

    assert response.status_code == 200
    assert "outbox_lag_events 7.0" in response.text


async def test_a_request_id_is_made_when_absent_and_used_as_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz")

    request_id = response.headers["x-request-id"]
    assert len(request_id) >= 16
    assert response.headers["x-correlation-id"] == request_id
    assert (await client.get("/healthz")).headers["x-request-id"] != request_id


async def test_the_callers_ids_are_echoed_and_unsafe_ones_replaced(
    client: httpx.AsyncClient,
) -> None:
    given = await client.get(
        "/healthz", headers={"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    )
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "a\tb<script>"})

    assert (given.headers["x-request-id"], given.headers["x-correlation-id"]) == (
        "req-1",
        "corr-1",
    )
    assert unsafe.headers["x-request-id"] != "a\tb<script>"


async def test_routes_read_the_ids_from_request_state(client: httpx.AsyncClient) -> None:
    response = await client.get("/ids", headers={"X-Correlation-ID": "corr-2"})

    assert response.json() == {
        "request": response.headers["x-request-id"],
        "correlation": "corr-2",
    }


async def test_log_lines_carry_request_correlation_and_case_ids(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    await client.get("/things/c-42", headers={"X-Request-ID": "req-7", "X-Correlation-ID": "c-1"})

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [read] = [line for line in lines if line["event"] == "thing.read"]
    [access] = [line for line in lines if line["event"] == "http.request"]
    assert (read["request_id"], read["correlation_id"], read["case_id"]) == ("req-7", "c-1", "c-42")
    assert (access["request_id"], access["status"], access["route"]) == (
        "req-7",
        200,
        "/things/{thing_id}",
    )


async def test_an_unexpected_failure_carries_the_request_id_and_is_counted(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    response = await client.get("/crash", headers={"X-Request-ID": "req-9"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-9"
    assert response.json()["request_id"] == "req-9"
    assert 'route="/crash",status="500"} 1.0' in metrics.render().decode()


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    openapi = (await client.get("/openapi.json")).json()

    assert "/things/{thing_id}" in openapi["paths"]


def test_tokens_are_verified_with_the_secret_unless_an_oidc_provider_is_set() -> None:
    def verifier_for(**overrides: Any) -> object:
        app = create_app(
            title="Probe",
            settings=settings(**overrides),
            metrics=Metrics("probe"),
            readiness=Checks(),
        )
        return app.state.token_verifier

    assert isinstance(verifier_for(), HS256Verifier)
    assert isinstance(verifier_for(oidc_jwks_url="https://login.example/jwks"), JwksVerifier)
