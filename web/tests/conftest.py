"""The console's tests run it as `haizhi up` does: embedded NATS, the four services and the
console as processes, one system per test module. The services run on SQLite here: the console
never touches a database, and the services' own suites run on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import beijing
from shared.system import System
from shared.testkit.system import whole_system

from .forms import FormClient

#: Every module's calendar starts here; its stories move the shared clock only forward.
START = beijing(2022, 1, 1, 9)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with whole_system(tmp_path_factory.mktemp("console"), console=True) as running:
        yield running


@pytest.fixture(scope="module")
def console_url(system: System) -> str:
    assert system.console_url is not None
    return system.console_url


@pytest.fixture(scope="module")
def hz(system: System) -> Iterator[HaiZhi]:
    """A driver of the services (for what a test sets up), the clock frozen at `START`."""
    driver = HaiZhi.connect(system.urls, system.operator_url)
    driver.clock.freeze(START)
    yield driver
    driver.close()


@pytest.fixture
def browser(console_url: str) -> Iterator[FormClient]:
    """A fresh browser (no cookies) on the console."""
    client = FormClient(console_url)
    yield client
    client.close()
