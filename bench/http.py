"""HTTP: a real command endpoint against a no-op endpoint of the same server.

http_command_ratio  requests/s of the application service's `POST /calls` (token check, body
                    validation, Executor: load, decide, append, outbox, read model; its relay
                    running) ÷ requests/s of `POST /bench/noop` added to the same app, so both
                    pass the same middleware (request ids, metrics, a JSON log line sent to
                    /dev/null at INFO, as in production). One client, one request at a time,
                    through httpx's ASGI transport (no sockets), the service's real lifespan,
                    SQLite and the embedded NATS.
"""

from __future__ import annotations

import io
import itertools
import time
from datetime import UTC, datetime
from typing import Any

import nats

from shared.clock import set_clock
from shared.logging import configure_logging
from shared.testkit.service import TestEnvironment, running_service

from .common import Env, Figure, interleave, paired


class Discard(io.StringIO):
    """A log stream that keeps nothing: the lines are still rendered, as in production."""

    def write(self, text: str) -> int:
        return len(text)


CALL = {"province": "53", "year": 2022, "title": "2022年海智基地申报", "deadline_on": "2022-04-30"}


async def command_ratio(env: Env) -> Figure:
    from services.application.main import spec  # a service, only when this figure runs

    n = env.sizes.http
    nc = await nats.connect(env.nats_url)
    try:
        await set_clock(nc.jetstream(), datetime(2022, 3, 1, 2, 0, tzinfo=UTC))
    finally:
        await nc.close()
    folder = env.path("http")
    test_env = TestEnvironment(f"sqlite:///{folder / 'application.db'}", None, env.nats_url, folder)
    async with running_service(spec(), test_env) as svc:
        configure_logging(json=True, level="INFO", stream=Discard())

        @svc.app.post("/bench/noop", status_code=201)
        async def noop() -> dict[str, Any]:
            return {"ok": True}

        officer = svc.auth("province_reviewer", user="bench", jurisdictions=["53"])
        titles = itertools.count()

        async def command() -> tuple[int, float]:
            started = time.perf_counter()
            for _ in range(n):
                body = {**CALL, "title": f"申报 {next(titles)}"}
                response = await svc.client.post("/calls", json=body, headers=officer)
                if response.status_code != 201:
                    raise RuntimeError(f"POST /calls: {response.status_code} {response.text}")
            return n, time.perf_counter() - started

        async def no_op() -> tuple[int, float]:
            started = time.perf_counter()
            for _ in range(n):
                body = {**CALL, "title": f"申报 {next(titles)}"}
                response = await svc.client.post("/bench/noop", json=body, headers=officer)
                if response.status_code != 201:
                    raise RuntimeError(f"POST /bench/noop: {response.status_code}")
            return n, time.perf_counter() - started

        try:
            rates = await interleave({"command": command, "noop": no_op}, env.sizes.rounds)
        finally:
            configure_logging(json=False, level="WARNING")
    return paired(rates, "command", "noop"), {
        "requests_per_s": rates,
        "requests_per_round": n,
        "endpoint": "POST /calls (services.application)",
        "transport": "httpx.ASGITransport, one request at a time",
    }
