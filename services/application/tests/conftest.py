"""The application service running in-process, on the shared clock frozen at 2022-03-01.

`service` runs it without its bus consumers (HTTP tests need none, and each one stopped costs
up to a second of its last pull); `bus_service` runs everything, consumers included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.testkit.service import RunningService, TestEnvironment, running_service

from ..main import spec
from .support import MARCH, http_only


@pytest.fixture
async def service(
    test_env: TestEnvironment, nats_client: NatsClient
) -> AsyncIterator[RunningService]:
    await set_clock(nats_client.jetstream(), MARCH)
    async with running_service(http_only(spec()), test_env) as svc:
        yield svc


@pytest.fixture
async def bus_service(
    test_env: TestEnvironment, nats_client: NatsClient
) -> AsyncIterator[RunningService]:
    await set_clock(nats_client.jetstream(), MARCH)
    async with running_service(spec(), test_env) as svc:
        yield svc
