"""Every service's OpenAPI documents its refusals: problem+json, header and path formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.runtime import build_app
from shared.settings import ServiceSettings

from .world import SPECS

OPERATIONS = ("get", "put", "post", "delete", "patch")


def openapi(name: str, tmp_path: Path) -> dict[str, Any]:
    settings = ServiceSettings(
        service=name, environment="test", data_dir=tmp_path, clock="controlled", log_json=False
    )
    document: dict[str, Any] = build_app(settings, SPECS[name]).openapi()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document["paths"].items()
        for method in OPERATIONS
        if method in item
    ]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_refusal_of_every_route_is_documented_as_a_problem(name: str, tmp_path: Path) -> None:
    document = openapi(name, tmp_path)

    assert "Problem" in document["components"]["schemas"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert "422" in responses, (method, path)
        if operation.get("security"):
            assert {"401", "403", "503"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status >= "400":
                assert list(response["content"]) == ["application/problem+json"], (
                    method,
                    path,
                    status,
                )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_headers_and_path_parameters_carry_their_formats(name: str, tmp_path: Path) -> None:
    seen: set[str] = set()
    for path, method, operation in operations(openapi(name, tmp_path)):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["name"] == "If-Match":
                assert "pattern" in schema, (method, path)
                assert {"412", "428"} <= set(operation["responses"]), (method, path)
            if parameter["name"] == "Idempotency-Key":
                assert schema["maxLength"] == 200, (method, path)
            if parameter["in"] == "path" and schema.get("type") == "string":
                assert "pattern" in schema, (method, path, parameter["name"])
            seen.add(parameter["name"])
    # The notifier's writes are idempotent by themselves (a PUT, a read mark): no key needed.
    assert "Idempotency-Key" in seen or name in {"funding", "notification"}


def test_a_routes_own_list_of_problem_types_survives(tmp_path: Path) -> None:
    queue = openapi("review", tmp_path)["paths"]["/queue"]["get"]["responses"]["403"]

    assert "role-required" in queue["description"]
