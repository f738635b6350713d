"""The kernel's HTTP edge: path parameters, integer bounds, body limit, JWKS outage, OpenAPI."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import APIRouter, FastAPI, Request

from shared.api import Body, IdempotencyKey, IfMatch
from shared.auth import CurrentPrincipal
from shared.http import create_app
from shared.metrics import Metrics
from shared.settings import ServiceSettings

router = APIRouter()


class Order(Body):
    amount: int
    lines: tuple[int, ...] = ()
    note: str = ""


@router.get("/things/{thing_id}")
async def read_thing(thing_id: str) -> dict[str, str]:
    return {"id": thing_id}


@router.post("/things/{thing_id}/orders")
async def order(
    thing_id: str, body: Order, version: IfMatch, key: IdempotencyKey
) -> dict[str, Any]:
    return {"id": thing_id, "amount": body.amount, "version": version}


@router.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"received": len(await request.body())}


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, str]:
    return {"user": principal.user_id}


async def ready() -> dict[str, bool]:
    return {"store": True}


def app_with(**overrides: Any) -> FastAPI:
    settings = ServiceSettings(
        service="probe", environment="test", data_dir=Path("/nonexistent"), **overrides
    )
    return create_app(
        title="Probe",
        settings=settings,
        metrics=Metrics("probe"),
        routers=[router],
        readiness=ready,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with(max_json_bytes=1000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# Path parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["%3E", "a%3Eb", "a.b", "%2A", "a%20b", "a%01b", "a%0Ab", "%E2%80%8B", "x" * 129]
)
async def test_a_malformed_path_parameter_is_a_422_problem_never_a_500(
    client: httpx.AsyncClient, raw: str
) -> None:
    body = is_problem(await client.get(f"/things/{raw}"), 422)

    assert body["errors"][0]["location"] == ["path", "thing_id"]


@pytest.mark.parametrize(
    "good", ["01J0ABCDEFGHJKMNPQRSTVWXYZ", "grade-list-2027", "云海智站-2022-001"]
)
async def test_well_formed_ids_pass_including_chinese_certificate_numbers(
    client: httpx.AsyncClient, good: str
) -> None:
    response = await client.get(f"/things/{good}")

    assert response.status_code == 200
    assert response.json() == {"id": good}


# Integers ----------------------------------------------------------------------------------


async def test_an_integer_beyond_64_bits_in_a_body_is_a_422(client: httpx.AsyncClient) -> None:
    for body in ({"amount": 2**63}, {"amount": -(2**63) - 1}, {"amount": 1, "lines": [2**64]}):
        is_problem(await client.post("/things/t/orders", json=body), 422)
    fits = await client.post("/things/t/orders", json={"amount": 2**63 - 1})
    assert fits.status_code == 200


@pytest.mark.parametrize(
    "version", [b'"99999999999999999999"', '"²"'.encode(), b"9223372036854775808"]
)
async def test_an_if_match_beyond_64_bits_or_not_ascii_digits_is_a_400(
    client: httpx.AsyncClient, version: bytes
) -> None:
    response = await client.post(
        "/things/t/orders", json={"amount": 1}, headers={b"If-Match": version}
    )

    is_problem(response, 400)


# Body limit --------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_a_413_by_its_content_length(
    client: httpx.AsyncClient,
) -> None:
    body = is_problem(await client.post("/echo", content=b"x" * 1001), 413)

    assert body["max_bytes"] == 1000
    assert body["type"].endswith("/body-too-large")
    assert (await client.post("/echo", content=b"x" * 1000)).json() == {"received": 1000}


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB offered, in 1 kB chunks
            sent += 1
            yield b"y" * 1000

    response = await client.post("/echo", content=chunks())

    is_problem(response, 413)
    assert sent < 10  # refused after the second chunk, not after reading everything


async def test_a_json_route_refuses_a_large_body_with_413_not_422(
    client: httpx.AsyncClient,
) -> None:
    huge = b'{"amount": 1, "lines": [' + b"1," * 2000 + b"1]}"
    response = await client.post(
        "/things/t/orders", content=huge, headers={"content-type": "application/json"}
    )

    is_problem(response, 413)


async def test_multipart_bodies_keep_their_own_limit(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", files={"file": ("a.pdf", b"%PDF" + b"0" * 5000)})

    assert response.status_code == 200
    assert response.json()["received"] > 5000


# JWKS outage -------------------------------------------------------------------------------


def unreachable_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"  # closed again: connections are refused


async def test_an_unreachable_jwks_is_a_503_problem_not_a_401_or_500() -> None:
    app = app_with(oidc_jwks_url=unreachable_url())
    token = jwt.encode(
        {"sub": "u", "aud": "haizhi", "iss": "haizhi", "iat": 0, "exp": 2**31},
        "k" * 32,
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/me", headers={"Authorization": f"Bearer {token}"})

    body = is_problem(response, 503)
    assert "identity provider" in body["detail"]


# OpenAPI -----------------------------------------------------------------------------------


def test_the_openapi_documents_every_problem_response_as_problem_json() -> None:
    schema = app_with().openapi()
    problem = {"$ref": "#/components/schemas/Problem"}

    assert schema["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], (method, path, status)
                    assert "schema" in content["application/problem+json"]
    assert schema["paths"]["/me"]["get"]["responses"]["401"]["content"] == {
        "application/problem+json": {"schema": problem}
    }
    command = schema["paths"]["/things/{thing_id}/orders"]["post"]
    assert {"400", "404", "409", "412", "413", "415", "422", "428"} <= set(command["responses"])
    secured = schema["paths"]["/me"]["get"]
    assert {"401", "403", "503"} <= set(secured["responses"])
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


def test_the_openapi_gives_the_header_and_path_parameter_formats() -> None:
    operation = app_with().openapi()["paths"]["/things/{thing_id}/orders"]["post"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}

    assert parameters["If-Match"]["pattern"] == r'^(\*|(W/)?"?[0-9]{1,19}"?)$'
    assert parameters["Idempotency-Key"]["maxLength"] == 200
    assert parameters["thing_id"]["pattern"] == r"^[\w-]{1,128}$"


# NUL ---------------------------------------------------------------------------------------


async def test_a_nul_in_a_query_or_a_body_string_is_a_422(client: httpx.AsyncClient) -> None:
    in_query = await client.get("/things/t?filter=a%00b")
    in_body = await client.post("/things/t/orders", json={"amount": 1, "note": "a\x00b"})

    assert is_problem(in_query, 422)["errors"][0]["location"] == ["query", "filter"]
    is_problem(in_body, 422)
