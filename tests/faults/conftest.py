"""One whole system per module and backend (SQLite always, PostgreSQL too when the test kit
has one), a driver of it that rides out restarts, and the journal of its commands."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import beijing
from shared.system import System
from shared.testkit.deselect import Needs, hooks
from shared.testkit.fixtures import BACKENDS
from shared.testkit.system import whole_system

from .load import FAULT_ENV, Journal, driver

#: Each module's calendar starts here; every scenario's load moves the clock only forward.
START = beijing(2022, 1, 1, 9)


NEEDS = (
    Needs(
        "needs_root",
        "mounts a file system (deselected otherwise)",
        "faults: the full-disk test",
        lambda: None if os.geteuid() == 0 else "mounting its tmpfs needs root",
    ),
    Needs(
        "needs_pg_dump",
        "uses pg_dump and pg_restore (deselected without them)",
        "faults: the database restore drill",
        lambda: (
            None
            if shutil.which("pg_dump") and shutil.which("pg_restore")
            else "no pg_dump/pg_restore"
        ),
    ),
)


pytest_configure, pytest_report_header, pytest_collection_modifyitems = hooks(NEEDS)


@pytest.fixture(scope="module", params=BACKENDS)
def system_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the module's whole system (`postgresql_only` reads it too)."""
    return str(request.param)


@pytest.fixture(scope="module")
def system(
    system_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    backend = system_backend
    url = str(request.getfixturevalue("postgresql_url")) if backend == "postgresql" else None
    extra_env = {**FAULT_ENV, **getattr(request.module, "SYSTEM_ENV", {})}
    with whole_system(
        tmp_path_factory.mktemp(f"faults-{backend}"), url, extra_env=extra_env
    ) as running:
        yield running


@pytest.fixture(scope="module")
def journal(system: System) -> Journal:
    """The commands sent to this module's system (one per backend)."""
    return Journal()


@pytest.fixture(scope="module")
def hz(system: System, journal: Journal) -> Iterator[HaiZhi]:
    running = driver(system.urls, system.operator_url, journal)
    running.clock.freeze(START)
    yield running
    running.close()


@pytest.fixture(autouse=True)
def figures(request: pytest.FixtureRequest, record_property: Any) -> Iterator[dict[str, Any]]:
    """What the scenario did, as a property of its test report (`--junitxml` keeps it):
    commands answered and retried, and seconds. A test adds its own with `figures[...]`."""
    journal: Journal | None = None
    if "journal" in request.fixturenames:
        journal = request.getfixturevalue("journal")
    mark = len(journal.sent) if journal is not None else 0
    began = time.monotonic()
    found: dict[str, Any] = {}
    yield found
    if journal is not None:
        sent = journal.sent[mark:]
        found.setdefault("commands_answered", sum(1 for s in sent if s.status and s.status < 300))
        found.setdefault("commands_retried", sum(1 for s in sent if s.attempts > 1))
    found["seconds"] = round(time.monotonic() - began, 1)
    record_property("figures", json.dumps(found, sort_keys=True))
