"""The assessment service under test, started with the shared clock at 2022-06-01 in Beijing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.testkit.service import TestEnvironment, running_service

from ..main import spec
from .examples import cst
from .world import World


@pytest.fixture
async def world(test_env: TestEnvironment, nats_client: NatsClient) -> AsyncIterator[World]:
    js = nats_client.jetstream()
    await set_clock(js, cst(2022, 6, 1))
    async with running_service(spec(), test_env) as svc:
        yield World(svc, js)
