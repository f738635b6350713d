"""Every list the HTTP API returns comes in pages: each GET whose answer holds a list takes a
bounded `limit` and a cursor, both described in its OpenAPI; the few lists answered whole are
named here, each with why it is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import DEFAULT_PAGE_SIZE, MAX_INT, MAX_PAGE_SIZE
from shared.testkit.service import TestEnvironment, running_service

from .world import SPECS

#: (service, path): lists answered whole, and why they are bounded.
WHOLE = {
    # A few rows per base: a plan per term, the reasons it has none.
    ("funding", "/bases/{base_id}/funding"),
    # A service-wide check's findings: empty while the store is sound; reports, not lists.
    ("application", "/audit/verify"),
    ("review", "/audit/verify"),
    ("assessment", "/audit/verify"),
    ("funding", "/audit/verify"),
    ("application", "/audit/rebuild"),
    ("review", "/audit/rebuild"),
    ("assessment", "/audit/rebuild"),
    ("funding", "/audit/rebuild"),
    # One case's streams in one service, each folded to a state.
    ("application", "/audit/cases/{case_id}/as-of"),
    ("review", "/audit/cases/{case_id}/as-of"),
    ("assessment", "/audit/cases/{case_id}/as-of"),
    ("funding", "/audit/cases/{case_id}/as-of"),
    # One application: its files, one per slot and revision's working copy.
    ("application", "/applications/{application_id}"),
    # One review: the files of the revision under review; a score per reviewer and level.
    ("review", "/reviews/{review_id}/dossier"),
    ("review", "/reviews/{review_id}/scores"),
    # One plan: its instalments, as many as the policy's schedule.
    ("funding", "/plans/{plan_id}"),
    # One unit, one call: contacts, slots, reasons, bounded by the bodies that set them.
    ("application", "/units/{unit_id}"),
    ("application", "/calls/{call_id}"),
    # One renewal assessment: the term's grades (five years), their rectifications.
    ("assessment", "/bases/{base_id}/renewal-assessments/{renewal_id}"),
    # Dashboards' figures: a row per year and province (× programme and status, for cases).
    ("application", "/statistics/cases"),
    ("assessment", "/statistics/reports"),
    ("funding", "/statistics/funds"),
    # One person's preferences: the kinds they opted out of, at most the ten kinds there are.
    ("notification", "/preferences"),
}

#: The paged routes, by service: those whose answer the OpenAPI leaves untyped included.
AUDIT = {"/audit/cases/{case_id}/timeline", "/audit/dead-letters"}
PAGED = {
    "application": {
        "/applications",
        "/applications/{application_id}/history",
        "/applications/{application_id}/documents",
        "/calls",
        "/bases",
        "/bases/{base_id}",
        "/units",
        "/search/applications",
        "/search/units",
        *AUDIT,
    },
    "assessment": {
        "/bases",
        "/bases/years",
        "/bases/{base_id}/years",
        "/bases/{base_id}/documents",
        "/grade-lists/{year}",
        "/grade-lists/{year}/documents",
        "/renewal-assessments",
        "/workstations",
        "/search/bases",
        *AUDIT,
    },
    "funding": {"/plans", "/feed", "/reconciliation", *AUDIT},
    "notification": {"/inbox", *AUDIT},
    "review": {
        "/queue",
        "/reviews",
        "/renewals",
        "/cases/{case_id}/history",
        "/calls/{call_id}/ranking",
        "/reviews/{review_id}/documents",
        *AUDIT,
    },
}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _holds_a_list(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    schema = _resolve(schema, spec)
    if schema.get("type") == "array":
        return True
    for option in schema.get("anyOf", []):
        if _holds_a_list(option, spec):
            return True
    return any(
        _resolve(prop, spec).get("type") == "array"
        or any(_resolve(o, spec).get("type") == "array" for o in prop.get("anyOf", []))
        for prop in schema.get("properties", {}).values()
    )


async def _openapi(name: str, test_env: TestEnvironment) -> dict[str, Any]:
    async with running_service(SPECS[name], test_env) as svc:
        spec: dict[str, Any] = (await svc.client.get("/openapi.json")).json()
    return spec


@pytest.mark.parametrize("name", sorted(SPECS))
async def test_every_list_route_takes_a_bounded_described_limit_and_a_cursor(
    name: str, test_env: TestEnvironment
) -> None:
    spec = await _openapi(name, test_env)
    unpaged, paged = [], []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        content = operation["responses"].get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        if "limit" in params:
            paged.append(path)
            limit = params["limit"]
            assert limit["schema"]["minimum"] == 1, path
            bound = MAX_INT if path == "/feed" else MAX_PAGE_SIZE  # the feed clamps
            assert limit["schema"]["maximum"] == bound, path
            assert limit.get("description"), path
            cursors = [p for p in params if p == "after" or p.endswith("cursor")]
            assert cursors, path
            assert all(params[p].get("description") for p in cursors), path
            if path != "/feed":
                assert limit["schema"]["default"] == DEFAULT_PAGE_SIZE, path
            continue
        if (name, path) not in WHOLE and _holds_a_list(schema, spec):
            unpaged.append(path)

    assert unpaged == [], f"{name}: lists without pages"
    assert set(paged) == PAGED[name]
