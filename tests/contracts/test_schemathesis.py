"""Every service's OpenAPI, fuzzed by schemathesis for callers of every role: no 5xx, no
response outside its declared schema or media type, no status the OpenAPI does not list.

The service runs as `running_service` runs it (its lifespan, real NATS, a real SQLite
database) and the requests reach it in-process through its ASGI app. Schemathesis draws the
cases from the service's own `/openapi.json` — valid ones (positive) and ones that break the
schema (negative) — for each operation and each caller; Hypothesis runs in a worker thread
and hands every request to the test's event loop, where the app and its connections live.

Bounded and reproducible: a fixed number of cases per operation, caller and mode, drawn
derandomized (the same cases on every run), no Hypothesis database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.testkit.service import RunningService, TestEnvironment, running_service

from .world import SPECS

#: (role, organisation, jurisdictions): one caller per role, the auditor at both levels, and
#: no caller at all (no token).
CALLERS: list[tuple[str | None, str | None, list[str]]] = [
    ("applicant", "unit-x", ["5301"]),
    ("prefecture_reviewer", None, ["5301"]),
    ("province_reviewer", None, ["53"]),
    ("national_reviewer", None, ["CN"]),
    ("leading_group", None, ["CN"]),
    ("general_office", None, ["CN"]),
    ("finance", None, ["CN"]),
    ("auditor", None, ["53"]),
    ("auditor", None, ["CN"]),
    ("admin", None, ["CN"]),
    (None, None, []),
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Cases per operation, caller and mode.
EXAMPLES = 8
#: The keyword arguments of schemathesis's requests transport that make a request.
_REQUEST_FIELDS = ("method", "url", "headers", "params", "cookies", "json", "data", "files")
BASE_URL = "http://test"
Operation = APIOperation[Any, Any, Any, Any]


@dataclass
class Findings:
    cases: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)


def _latin1(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else value


def _sender(
    svc: RunningService, loop: asyncio.AbstractEventLoop
) -> Callable[[Case[Any], dict[str, str]], httpx.Response]:
    """Send a case, from the worker thread, through the app's client on the test's loop."""

    def send(case: Case[Any], headers: dict[str, str]) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
        prepared = requests.Request(**{k: kwargs[k] for k in _REQUEST_FIELDS if k in kwargs})
        request = prepared.prepare()
        body = request.body
        sent = svc.client.request(
            str(request.method),
            str(request.url),
            # as requests would put them on the wire: generated values may be any Latin-1
            headers=[(_latin1(k), _latin1(v)) for k, v in request.headers.items()],
            content=body.encode() if isinstance(body, str) else cast(bytes | None, body),
        )
        return asyncio.run_coroutine_threadsafe(sent, loop).result()

    return send


def _breakable(operation: Operation) -> bool:
    """Whether there is anything to break (a parameter or a body) for negative cases."""
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


def _fuzz(raw: dict[str, Any], svc: RunningService, loop: asyncio.AbstractEventLoop) -> Findings:
    schema = schemathesis.openapi.from_dict(raw)
    send = _sender(svc, loop)
    findings = Findings()

    def fuzz(
        operation: Operation, mode: GenerationMode, caller: str, headers: dict[str, str]
    ) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Case[Any]) -> None:
            response = send(case, headers)
            findings.cases[caller] += 1
            findings.statuses[f"{response.status_code} {operation.label}"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as failure:
                key = f"{operation.label} as {caller}: {failure.exceptions[0].title}"
                findings.failures.setdefault(key, str(failure)[:1500])

        run()

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(result.err())
        operation = result.ok()
        for role, org, jurisdictions in CALLERS:
            headers = (
                svc.auth(role, user=f"fuzz-{role}", org=org, jurisdictions=jurisdictions)
                if role is not None
                else {}
            )
            for mode in MODES if _breakable(operation) else MODES[:1]:
                fuzz(operation, mode, f"{role or 'anonymous'}{jurisdictions}", headers)
    return findings


@pytest.mark.parametrize("name", sorted(SPECS))
async def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_openapi(
    name: str, test_env: TestEnvironment
) -> None:
    async with running_service(SPECS[name], test_env) as svc:
        raw = (await svc.client.get("/openapi.json")).json()
        findings = await asyncio.to_thread(_fuzz, raw, svc, asyncio.get_running_loop())

    print("CASES", name, dict(findings.cases))
    print("STATUSES", name, sorted(findings.statuses.items()))
    assert findings.failures == {}, "\n\n".join(findings.failures.values())
