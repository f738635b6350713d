"""Every service's OpenAPI, fuzzed by schemathesis for callers of every role: no 5xx, no
status, media type, header or body the OpenAPI does not declare, every case that breaks the
schema refused, and a method a path lacks answered 405 with the right `Allow`.

The service runs as `running_service` runs it (its lifespan, real NATS, a real database)
and the requests reach it in-process through its ASGI app. It is seeded first, through its
own handlers (upstream examples) or its own API (the application service), so that cases
also reach things that exist. Schemathesis draws the cases from the service's own
`/openapi.json`: its coverage cases (boundaries, missing and wrong parts, other methods),
then, for each operation and each caller, valid (positive) and schema-breaking (negative)
cases, with random path ids and again with the seeded ones. Hypothesis runs in a worker
thread and hands every request to the test's event loop, where the app and its connections
live.

Bounded and reproducible: a fixed number of cases per operation, caller, mode and path,
drawn derandomized (the same cases on every run), no Hypothesis database; about three
minutes for the file on two cores, split among the database backends the session has.
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
from hypothesis.strategies import SearchStrategy
from nats.aio.client import Client as NatsClient
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from services.application.tests.support import MARCH, draft, open_call
from shared.clock import set_clock
from shared.testkit.fixtures import BACKENDS
from shared.testkit.service import RunningService, TestEnvironment, running_service

from .world import NOW, SPECS, published

APPLICANT_ORG = "unit-x"
#: (role, organisation, jurisdictions): one caller per role, the auditor at both levels, and
#: no caller at all (no token).
CALLERS: list[tuple[str | None, str | None, list[str]]] = [
    ("applicant", APPLICANT_ORG, ["5301"]),
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
#: Upstream examples each service's own handlers take in before the fuzzing, so that cases
#: also reach things that exist (a review, a base, a plan), not only 404s.
SEEDS = {
    "application": [],
    "review": [("application", "ApplicationSubmitted"), ("application", "RenewalRequested")],
    "assessment": [("review", "BaseDesignated"), ("review", "WorkstationDesignated")],
    "funding": [("review", "BaseDesignated"), ("review", "WorkstationDesignated")],
    "notification": [("review", "ReviewOpened")],
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # a case that breaks the schema is refused, a required header's absence too
    negative_data_rejection,
    missing_required_header,
    # a method the path does not document: 405, with `Allow` naming the documented ones
    unsupported_method,
    allow_header_conformance,
]
#: Refusals that count as rejecting a case that breaks the schema: schemathesis's own list
#: (its 5xx left to `not_a_server_error`) and 413, since a negative body can be too large to
#: read (`maxItems` broken a hundred thousand times over), which the edge refuses before
#: validating it (RFC 9110 §15.5.14).
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
#: Cases per operation, caller, mode and path: 6 on one backend (about 3 minutes for the
#: file on two cores), shared when PostgreSQL runs it too.
EXAMPLES = max(1, 6 // len(BACKENDS))
#: The keyword arguments of schemathesis's requests transport that make a request.
_REQUEST_FIELDS = ("method", "url", "headers", "params", "cookies", "json", "data", "files")
BASE_URL = "http://test"
Operation = APIOperation[Any, Any, Any, Any]


@dataclass
class Findings:
    cases: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)


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


def _modes(
    operation: Operation, fixed: dict[str, str], headers: dict[str, str]
) -> tuple[GenerationMode, ...]:
    """Negative cases too where there is something to break: a parameter or a body that the
    caller does not fix (its path parameters, its token)."""
    parts = [
        *(p for p in operation.path_parameters if p.name not in fixed),
        *operation.query,
        *(p for p in operation.headers if p.name not in headers),
        *operation.body,
    ]
    return MODES if parts else MODES[:1]


def _caller(role: str | None, jurisdictions: list[str]) -> str:
    return f"{role or 'anonymous'}{jurisdictions}"


def _headers(
    svc: RunningService, role: str | None, org: str | None, jurisdictions: list[str]
) -> dict[str, str]:
    if role is None:
        return {}
    return svc.auth(role, user=f"fuzz-{role}", org=org, jurisdictions=jurisdictions)


def _fuzz(
    raw: dict[str, Any],
    known: dict[str, str],
    svc: RunningService,
    loop: asyncio.AbstractEventLoop,
) -> Findings:
    """Every operation, for every caller: generated cases, then (where every path parameter
    names something the seeding made) cases about that thing."""
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    )
    schema = schemathesis.openapi.from_dict(raw, config=config)
    send = _sender(svc, loop)
    findings = Findings()

    def fuzz(strategy: SearchStrategy[Case[Any]], caller: str, headers: dict[str, str]) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=strategy)
        def run(case: Case[Any]) -> None:
            check(case, caller, headers)

        try:
            run()
        except Exception as error:
            error.add_note(f"while fuzzing as {caller}")
            raise

    callers = [
        (_caller(role, jurisdictions), _headers(svc, role, org, jurisdictions))
        for role, org, jurisdictions in CALLERS
    ]

    def check(case: Case[Any], caller: str, headers: dict[str, str]) -> None:
        response = send(case, headers)
        label = case.operation.label
        findings.cases[caller] += 1
        findings.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failure:
            key = f"{label} as {caller}: {failure.exceptions[0].title}"
            findings.failures.setdefault(key, str(failure)[:1500])

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(result.err())
        operation = result.ok()
        coverage = schema.iter_coverage_cases(
            operation,
            generation_modes=list(MODES),
            generation_config=schema.config.generation_for(operation=operation),
        )
        for number, case in enumerate(coverage):
            check(case, *callers[number % len(callers)])
        names = [parameter.name for parameter in operation.path_parameters]
        paths: list[dict[str, str]] = [{}]
        if names and all(name in known for name in names):
            paths.append({name: known[name] for name in names})
        for caller, headers in callers:
            for fixed in paths:
                for mode in _modes(operation, fixed, headers):
                    # The caller's token is part of the case, not laid over it: a negative
                    # case breaks something else, never the token it is sent with.
                    strategy = operation.as_strategy(
                        generation_mode=mode, headers=headers or None, path_parameters=fixed or None
                    )
                    fuzz(strategy, caller, headers)
    return findings


async def _known(svc: RunningService, raw: dict[str, Any]) -> dict[str, str]:
    """A value for each path parameter that the service's lists show, as some caller sees them."""
    names = {
        parameter["name"]
        for item in raw["paths"].values()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    known: dict[str, str] = {}

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in names and isinstance(inner, str | int) and not isinstance(inner, bool):
                    known.setdefault(key, str(inner))
                collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)

    lists = [p for p, item in raw["paths"].items() if "get" in item and "{" not in p]
    for role, org, jurisdictions in CALLERS:
        headers = _headers(svc, role, org, jurisdictions)
        for path in lists:
            if path.startswith("/audit/"):
                continue  # the audit's own routes (a rebuild among them), not the service's things
            response = await svc.client.get(path, headers=headers)
            if response.headers.get("content-type", "").startswith("application/json"):
                collect(response.json())
    return known


async def _seed(name: str, svc: RunningService) -> None:
    """The service's own handlers take in the upstream examples, each committed."""
    if name == "application":  # its own callers make what its handlers would act on
        await draft(svc, await open_call(svc), unit=APPLICANT_ORG)
    if name == "notification":  # people become known as they sign in: then told the seeds
        for role, org, jurisdictions in CALLERS:
            await svc.client.get("/preferences", headers=_headers(svc, role, org, jurisdictions))
    spec = SPECS[name]
    subscriptions = spec.subscriptions(spec.usecases(svc.kernel))
    for producer, event in SEEDS[name]:
        envelope = published(producer, event)
        (handler,) = [
            s.handlers[event]
            for s in subscriptions
            if s.upstream == producer and event in s.handlers
        ]
        async with svc.kernel.db.engine.begin() as conn:
            await handler(conn, envelope)


@pytest.mark.parametrize("name", sorted(SPECS))
async def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_openapi(
    name: str, test_env: TestEnvironment, nats_client: NatsClient
) -> None:
    await set_clock(nats_client.jetstream(), MARCH if name == "application" else NOW)
    async with running_service(SPECS[name], test_env) as svc:
        await _seed(name, svc)
        raw = (await svc.client.get("/openapi.json")).json()
        known = await _known(svc, raw)
        findings = await asyncio.to_thread(_fuzz, raw, known, svc, asyncio.get_running_loop())

    print(name, "seeded:", known)
    print(name, "cases by caller:", dict(findings.cases))
    print(name, "answers by status:", sorted(findings.statuses.items()))
    assert set(findings.cases) == {_caller(role, codes) for role, _, codes in CALLERS}
    assert min(findings.cases.values()) > 10 * EXAMPLES
    assert {"base_id", "review_id", "application_id", "notification_id"} & known.keys()  # seeded
    assert findings.failures == {}, (
        "\n".join(findings.failures) + "\n\n" + "\n\n".join(findings.failures.values())
    )
