"""The review service under test: real lifespan, real NATS, SQLite (and PostgreSQL when set)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.runtime import build_app
from shared.settings import ServiceSettings
from shared.testkit.service import (
    REPO,
    RunningService,
    TestEnvironment,
    nats_login,
    running_service,
    serving,
)

from ..main import spec
from .scenario import NOW


@pytest.fixture
async def service(
    test_env: TestEnvironment, nats_client: NatsClient
) -> AsyncIterator[RunningService]:
    await set_clock(nats_client.jetstream(), NOW)
    async with running_service(spec(), test_env) as svc:
        yield svc


@contextlib.asynccontextmanager
async def review_under(env: TestEnvironment, policy_dir: Path) -> AsyncIterator[RunningService]:
    """The service as `running_service` runs it, but reading the policies in `policy_dir`."""
    settings = ServiceSettings(
        service="review",
        environment="test",
        database_url=env.database_url,
        database_schema=env.database_schema,
        **nats_login(env, "review"),
        data_dir=env.data_dir,
        policy_dir=policy_dir,
        clock="controlled",
        log_json=False,
    )
    async with serving(build_app(settings, spec()), env) as svc:
        yield svc


def policy_folder(folder: Path, *provincial: str) -> Path:
    """The repository's national policy and Yunnan's 53-2022.1, plus `provincial` files (TOML)."""
    (folder / "provinces").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "2022.1.toml", folder)
    shutil.copy(REPO / "policies" / "provinces" / "53-2022.1.toml", folder / "provinces")
    for number, text in enumerate(provincial):
        (folder / "provinces" / f"test-{number}.toml").write_text(text, encoding="utf-8")
    return folder
