"""Run one service in-process for API tests: its real lifespan, real NATS and a real database.

async with running_service(spec, env) as svc:
    officer = svc.auth("province_reviewer", jurisdictions=["53"])
    response = await svc.client.post("/calls", json=..., headers=officer)
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
from fastapi import FastAPI
from nats.js import JetStreamContext

from shared.auth import issue_development_token
from shared.nats_auth import NatsUsers, without_credentials
from shared.runtime import Kernel, ServiceSpec, build_app
from shared.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings
from shared.testkit.keys import install

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass(frozen=True)
class TestEnvironment:
    """Where a service under test keeps its state: from the kernel's fixtures."""

    __test__ = False  # not a test class, despite the name

    database_url: str
    database_schema: str | None
    nats_url: str
    data_dir: Path
    #: The embedded server's users: a service under test connects as itself, never as the
    #: operator whose URL `nats_url` carries.
    nats_users: NatsUsers | None = None


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    #: The test's own hand on the bus, as the operator: it puts other services' events there
    #: and moves the clock, which the service's own NATS user may not.
    bus: JetStreamContext

    @property
    def kernel(self) -> Kernel:
        kernel: Kernel = self.app.state.kernel
        return kernel

    def auth(
        self,
        *roles: str,
        user: str = "user-1",
        org: str | None = None,
        jurisdictions: Sequence[str] = (),
        email: str | None = None,
    ) -> dict[str, str]:
        token = issue_development_token(
            DEVELOPMENT_JWT_SECRET, user, roles, org=org, jurisdictions=jurisdictions, email=email
        )
        return {"Authorization": f"Bearer {token}"}


def nats_login(env: TestEnvironment, service: str) -> dict[str, Any]:
    """The settings that connect `service` as its own NATS user, when the server has one."""
    if env.nats_users is None or service not in env.nats_users.passwords:
        return {"nats_url": env.nats_url}
    return {
        "nats_url": without_credentials(env.nats_url),
        "nats_user": service,
        "nats_password": env.nats_users.passwords[service],
    }


@contextlib.asynccontextmanager
async def running_service(
    spec: ServiceSpec, env: TestEnvironment, policy_dir: Path | None = None
) -> AsyncIterator[RunningService]:
    """The service on the test's database and NATS, reading the repository's policies or
    those in `policy_dir` (see `policy_folder`)."""
    install(env.data_dir)  # every service's test key: they sign and trust each other
    settings = ServiceSettings(
        service=spec.name,
        environment="test",
        database_url=env.database_url,
        database_schema=env.database_schema,
        **nats_login(env, spec.name),
        data_dir=env.data_dir,
        policy_dir=policy_dir or REPO / "policies",
        clock="controlled",
        log_json=False,
    )
    async with serving(build_app(settings, spec), env) as svc:
        yield svc


def policy_folder(folder: Path, *extra: str) -> Path:
    """A copy of the repository's policies, plus `extra` provincial files (TOML texts)."""
    shutil.copytree(REPO / "policies", folder)
    for number, text in enumerate(extra):
        (folder / "provinces" / f"test-{number}.toml").write_text(text, encoding="utf-8")
    return folder


@contextlib.asynccontextmanager
async def serving(app: FastAPI, env: TestEnvironment) -> AsyncIterator[RunningService]:
    """`app` started by its lifespan, an HTTP client on it, and the test's operator connection."""
    async with app.router.lifespan_context(app):
        harness = await nats.connect(env.nats_url)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield RunningService(app, client, harness.jetstream())
        finally:
            await harness.close()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 15.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail after `within` seconds.

    For effects that arrive through the bus, whose moment no test can know: this waits for
    the observable outcome, never a fixed time.
    """
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)
