"""The whole system as processes: embedded NATS and the four services, one System per module
and backend (SQLite always, PostgreSQL too when the test kit has one — `TEST_DATABASE_URL` or
its container: a schema per service, created before the System starts and dropped after it
stops). The System runs its own embedded nats-server, as `haizhi up` does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from haizhi.flows import HaiZhi
from haizhi.journeys import beijing
from shared.cli import RUNTIME_FILE
from shared.db import open_database
from shared.envelope import new_id
from shared.nats_server import free_port
from shared.system import SERVICES, ServiceDatabase, System
from shared.testkit.fixtures import BACKENDS

#: Every module's calendar starts here; its scenarios move the shared clock only forward.
START = beijing(2022, 1, 1, 9)


async def _schemas(url: str, statements: list[str]) -> None:
    admin = open_database(url)
    try:
        async with admin.engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    backend = str(request.param)
    databases: dict[str, ServiceDatabase] = {}
    base_url = ""
    if backend == "postgresql":
        base_url = str(request.getfixturevalue("postgresql_url"))
        suffix = new_id().lower()
        databases = {s: ServiceDatabase(base_url, f"e2e_{s}_{suffix}") for s in SERVICES}
        asyncio.run(_schemas(base_url, [f'CREATE SCHEMA "{d.schema}"' for d in databases.values()]))
    data_dir = tmp_path_factory.mktemp(f"e2e-{backend}")
    running = System(data_dir, databases, preferred_nats_port=free_port(), preferred_ports={})
    try:
        running.start(timeout=120)
        # What `haizhi up` writes, so that `haizhi audit …` and `haizhi demo` find the system.
        (running.data_dir / RUNTIME_FILE).write_text(
            json.dumps({"nats": running.nats_url, "services": running.urls}), encoding="utf-8"
        )
        yield running
    finally:
        running.stop()
        if databases:
            drops = [f'DROP SCHEMA IF EXISTS "{d.schema}" CASCADE' for d in databases.values()]
            asyncio.run(_schemas(base_url, drops))


@pytest.fixture(scope="module")
def hz(system: System) -> Iterator[HaiZhi]:
    """A driver of the running system, its clock frozen at the calendar's start."""
    driver = HaiZhi.connect(system.urls, system.operator_url)
    driver.clock.freeze(START)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def data_dir(system: System) -> Path:
    return system.data_dir
