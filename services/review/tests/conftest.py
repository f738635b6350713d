"""The review service under test: real lifespan, real NATS, SQLite (and PostgreSQL when set)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.testkit.service import (
    RunningService,
    TestEnvironment,
    running_service,
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
