"""Every route of every service, hit with malformed and out-of-range input by callers of
several roles: never a 5xx, and every refusal is a status its OpenAPI documents.

Not a property-based search: a fixed set of hostile values per parameter kind (path ids,
query values, bodies) against each operation, bounded to seconds per service.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.testkit.service import RunningService, TestEnvironment, running_service

from .world import SPECS

CALLERS = [
    ("applicant", "unit-x", ["5301"]),
    ("province_reviewer", None, ["53"]),
    ("auditor", None, ["53"]),
    ("auditor", None, ["CN"]),
    ("finance", None, ["CN"]),
    ("admin", None, ["CN"]),
]
PATH_VALUES = ["01J0ABCDEFGHJKMNPQRSTVWXYZ", "2027", "1999"]
HOSTILE_PATH_VALUES = ["%3E", "a%20b", "a%01b", "%00", "a.b", "%2A", "x" * 129, "0" * 64]
QUERY_VALUES = ["-1", "0", "99999999999999999999", "%00", "abc", "2027-13-45", "x" * 300]
BODIES: list[Any] = [
    {},
    [],
    {"unexpected": 1},
    {"amount_fen": 2**70},
    {"year": 10**20},
    {"title": "a\x00b"},
]
OPERATIONS = ("get", "post", "put", "patch", "delete")


def _fill(path: str, names: list[str], value: str) -> str:
    for name in names:
        path = path.replace("{" + name + "}", value)
    return path


async def _hostile_requests(svc: RunningService) -> tuple[int, list[str]]:
    schema = (await svc.client.get("/openapi.json")).json()
    sent, wrong = 0, []
    for template, item in schema["paths"].items():
        for method in (m for m in OPERATIONS if m in item):
            operation = item[method]
            documented = set(operation["responses"])
            parameters = operation.get("parameters", [])
            in_path = [p["name"] for p in parameters if p["in"] == "path"]
            in_query = [p["name"] for p in parameters if p["in"] == "query"]
            requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
            for role, org, codes in CALLERS:
                headers = svc.auth(role, user=f"probe-{role}", org=org, jurisdictions=codes)
                for value in PATH_VALUES if in_path else [""]:
                    url = _fill(template, in_path, value)
                    requests.append((url, {}, headers))
                    requests += [
                        (f"{url}?{name}={bad}", {}, headers)
                        for name in in_query
                        for bad in QUERY_VALUES
                    ]
                    if method != "get":
                        requests += [(url, {"json": body}, headers) for body in BODIES]
            if in_path:
                admin = svc.auth("admin", user="probe-admin", jurisdictions=["CN"])
                requests += [
                    (_fill(template, in_path, bad), {}, admin) for bad in HOSTILE_PATH_VALUES
                ]
            for url, extra, headers in requests:
                response = await svc.client.request(method.upper(), url, headers=headers, **extra)
                sent += 1
                status = response.status_code
                if status >= 500 or (status >= 400 and str(status) not in documented):
                    wrong.append(f"{status} {method.upper()} {url[:80]} {response.text[:100]}")
    return sent, sorted(set(wrong))


@pytest.mark.parametrize("name", sorted(SPECS))
async def test_no_route_answers_bad_input_with_a_5xx_or_an_undocumented_status(
    name: str, test_env: TestEnvironment, record_property: Any
) -> None:
    async with running_service(SPECS[name], test_env) as svc:
        sent, wrong = await _hostile_requests(svc)

    record_property("requests", sent)  # docs/reliability.md quotes it
    assert sent > 500
    assert wrong == []
