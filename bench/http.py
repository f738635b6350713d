"""HTTP: a real command endpoint against a raw-driver endpoint of the same shape and server.

http_command_ratio  requests/s of the application service's `POST /calls` (token check, body
                    validation, Idempotency-Key lookup and record, Executor: load, decide,
                    append, outbox, read model; its relay running) ÷ requests/s of
                    `POST /bench/calls`, added to the same app: the same dependencies (the
                    kernel's token verifier through `require_roles`, the same pydantic body
                    model `OpenCallBody`, the kernel's `IdempotencyKey` header dependency, the
                    jurisdiction check, `request_fingerprint` and `idempotency_scope`) and one
                    durable raw insert: sqlite3 with the kernel's pragmas, `BEGIN IMMEDIATE`,
                    `INSERT … ON CONFLICT (scope, key) DO NOTHING` of the call and the key
                    (a replay reads the first answer back), `COMMIT`. Both pass the same
                    middleware (request ids, metrics, a JSON log line rendered to nowhere at
                    INFO, as in production). Served by uvicorn on a loopback socket in this
                    process (no access log, as `shared.system` runs it), with the service's
                    real lifespan, SQLite and the embedded NATS; one httpx client, one request
                    at a time, each with a fresh Idempotency-Key. CPU µs per request: this
                    process, so client, server and (ours) the relay together.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.api import IdempotencyKey, idempotency_scope
from shared.auth import Principal, require_jurisdiction
from shared.clock import set_clock
from shared.envelope import format_time, new_id
from shared.idempotency import request_fingerprint
from shared.logging import configure_logging
from shared.nats_server import free_port
from shared.testkit.service import TestEnvironment, running_service

from .common import Env, Figure, Stopwatch, cpu_per_op, interleave, paired, sqlite_connect


class Discard(io.StringIO):
    """A log stream that keeps nothing: the lines are still rendered, as in production."""

    def write(self, text: str) -> int:
        return len(text)


CALL = {"province": "53", "year": 2022, "title": "2022年海智基地申报", "deadline_on": "2022-04-30"}
RAW_TABLE = """CREATE TABLE bench_calls (
    scope VARCHAR(64) NOT NULL,
    key VARCHAR(200) NOT NULL,
    request_hash VARCHAR(64) NOT NULL,
    call_id VARCHAR(26) NOT NULL,
    body TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (scope, key)
)"""
RAW_INSERT = (
    "INSERT INTO bench_calls (scope, key, request_hash, call_id, body, response, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING"
)


def add_raw_route(app: FastAPI, conn: sqlite3.Connection) -> None:
    """`POST /bench/calls`: /calls' dependencies, then one durable sqlite3 insert."""
    from services.application.api.calls import OpenCallBody, ProvincialOfficer

    async def raw_call(
        body: Any, request: Request, principal: Principal, key: str | None
    ) -> JSONResponse:
        require_jurisdiction(principal, body.province)
        fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
        scope = idempotency_scope(request, principal)
        call_id = new_id()
        answer = {"call_id": call_id, "version": 1}
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserted = conn.execute(
                RAW_INSERT,
                (
                    scope,
                    key or call_id,
                    fingerprint,
                    call_id,
                    body.model_dump_json(),
                    json.dumps(answer),
                    format_time(datetime.now(UTC)),
                ),
            ).rowcount
            if not inserted:  # the key's first answer
                row = conn.execute(
                    "SELECT response FROM bench_calls WHERE scope = ? AND key = ?", (scope, key)
                ).fetchone()
                answer = json.loads(row[0])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        headers = {"ETag": f'"{answer["version"]}"'}
        if not inserted:
            headers["Idempotency-Replayed"] = "true"
        return JSONResponse(answer, status_code=201, headers=headers)

    # The annotations as objects: the route is built here, where the service's names are local.
    raw_call.__annotations__ = {
        "body": OpenCallBody,
        "request": Request,
        "principal": ProvincialOfficer,
        "key": IdempotencyKey,
        "return": JSONResponse,
    }
    app.post("/bench/calls", status_code=201)(raw_call)


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` (already started) under uvicorn on a loopback port of this process; its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def command_ratio(env: Env) -> Figure:
    from services.application.main import spec  # a service, only when this figure runs

    n = env.sizes.http
    nc = await nats.connect(env.nats_url)
    try:
        await set_clock(nc.jetstream(), datetime(2022, 3, 1, 2, 0, tzinfo=UTC))
    finally:
        await nc.close()
    folder = env.path("http")
    raw = sqlite_connect(folder / "raw.db")
    raw.execute(RAW_TABLE)
    test_env = TestEnvironment(f"sqlite:///{folder / 'application.db'}", None, env.nats_url, folder)
    try:
        async with running_service(spec(), test_env) as svc, served(svc.app) as url:
            configure_logging(json=True, level="INFO", stream=Discard())
            add_raw_route(svc.app, raw)
            officer = svc.auth("province_reviewer", user="bench", jurisdictions=["53"])
            titles = itertools.count()

            async with httpx.AsyncClient(base_url=url, timeout=30) as client:

                def trial(path: str) -> Any:
                    async def one_round() -> tuple[int, float, float]:
                        with Stopwatch() as watch:
                            for _ in range(n):
                                i = next(titles)
                                response = await client.post(
                                    path,
                                    json={**CALL, "title": f"申报 {i}"},
                                    headers={**officer, "Idempotency-Key": f"bench-{i}"},
                                )
                                if response.status_code != 201:
                                    raise RuntimeError(
                                        f"POST {path}: {response.status_code} {response.text}"
                                    )
                        return watch.done(n)

                    return one_round

                try:
                    rates = await interleave(
                        {"command": trial("/calls"), "raw_insert": trial("/bench/calls")},
                        env.sizes.rounds,
                    )
                finally:
                    configure_logging(json=False, level="WARNING")
    finally:
        raw.close()
    return paired(rates, "command", "raw_insert"), {
        "requests_per_s": rates,
        "cpu_us_per_op": cpu_per_op(rates, "command", "raw_insert"),
        "requests_per_round": n,
        "endpoint": "POST /calls (services.application) vs POST /bench/calls (same app)",
        "transport": "uvicorn on 127.0.0.1 in this process, one httpx client, keep-alive, "
        "one request at a time, a fresh Idempotency-Key each",
    }
