"""The whole system as processes: embedded NATS and the four services, one System per module
and backend (SQLite always, PostgreSQL too when the test kit has one — `TEST_DATABASE_URL` or
its container: a schema per service, created before the System starts and dropped after it
stops). The System runs its own embedded nats-server, as `haizhi up` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import beijing
from shared.system import System
from shared.testkit.fixtures import BACKENDS
from shared.testkit.system import whole_system

#: Every module's calendar starts here; its scenarios move the shared clock only forward.
START = beijing(2022, 1, 1, 9)


@pytest.fixture(scope="module", params=BACKENDS)
def system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    backend = str(request.param)
    url = str(request.getfixturevalue("postgresql_url")) if backend == "postgresql" else None
    with whole_system(tmp_path_factory.mktemp(f"e2e-{backend}"), url) as running:
        yield running


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
