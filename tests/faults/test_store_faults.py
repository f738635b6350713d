"""The store fails under load and comes back: transient, never poison.

- SQLite: the application service's database lives on a small tmpfs of its own; mid-load the
  tmpfs is filled to the last byte ("database or disk is full") until the service has
  refused writes — its commands answer 503 and its consumer backs off —, then the space is
  freed. Mounting needs root (CI here runs as root); elsewhere the test is deselected with
  that reason, as `pytest -rA` shows.
- PostgreSQL: mid-load every connection the application service holds is terminated
  (`pg_terminate_backend`, what a failover does to a client), twice.

After either: the common oracle, and not one dead letter.
"""

from __future__ import annotations

import asyncio
import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url, text

from haizhi.client import eventually
from haizhi.flows import HaiZhi
from shared.db import open_database
from shared.system import ServiceDatabase, System
from shared.testkit.system import whole_system

from .load import FAULT_ENV, Journal, Load, driver
from .oracle import check

pytestmark = pytest.mark.slow

VICTIM = "application"
KILL_AFTER = 30


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("small-disk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture(scope="module")
def disk_system(small_disk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    on_small_disk = {VICTIM: ServiceDatabase(f"sqlite:///{small_disk / VICTIM}.db")}
    with whole_system(
        tmp_path_factory.mktemp("faults-disk"), databases=on_small_disk, extra_env=FAULT_ENV
    ) as running:
        yield running


def fill(disk: Path) -> Path:
    """Write a pad file until the file system has not one byte left."""
    pad = disk / "pad"
    with pad.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as full:
                if full.errno != errno.ENOSPC:
                    raise
    return pad


def refusals(url: str) -> dict[str, float]:
    """What the service has refused so far: commands answered 503 and consumer writes given
    back as transient."""
    found = {"commands": 0.0, "consumer_writes": 0.0}
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "transient_failures_total":
                found["consumer_writes"] += sample.value
            elif sample.name == "http_requests_total" and sample.labels.get("status") == "503":
                found["commands"] += sample.value
    return found


@pytest.mark.needs_root
def test_a_full_disk_mid_load_is_waited_out_not_dead_lettered(
    small_disk: Path, disk_system: System, figures: dict[str, Any]
) -> None:
    system = disk_system
    journal = Journal()
    hz = driver(system.urls, system.operator_url, journal)
    url = system.urls[VICTIM]
    try:
        before = refusals(url)

        def fill_then_free() -> None:
            journal.wait_answered(KILL_AFTER)
            pad = fill(small_disk)
            full = time.monotonic()
            try:  # full until the service has refused commands (the clients send them again)
                eventually(
                    lambda: refusals(url)["commands"] >= before["commands"] + 3 or None,
                    "three commands refused with 503",
                    60,
                )
            finally:
                pad.unlink()
                figures["seconds_full"] = round(time.monotonic() - full, 1)

        cases = Load(hz, "full-disk").run(midway=fill_then_free)

        assert len(cases) == 6
        assert check(system, hz, journal)["dead_letters"] == 0
        after = refusals(url)
        figures["commands_refused_503"] = after["commands"] - before["commands"]
        figures["consumer_writes_refused"] = after["consumer_writes"] - before["consumer_writes"]
        figures["commands_answered"] = len(journal.answered())
        figures["commands_retried"] = sum(1 for s in journal.sent if s.attempts > 1)
        assert figures["commands_refused_503"] >= 3
        assert figures["commands_retried"] >= 1
    finally:
        hz.close()


def victim_ports(system: System, url: str) -> list[int]:
    """The local ports of the victim's processes' connections to the database server."""
    server = make_url(url).port or 5432
    return [
        connection.laddr.port
        for instance in system.instances(VICTIM)
        for connection in psutil.Process(system.processes[instance].pid).net_connections("tcp")
        if connection.raddr and connection.raddr.port == server
    ]


@pytest.mark.postgresql_only
def test_lost_database_connections_mid_load_are_waited_out_not_dead_lettered(
    system: System, hz: HaiZhi, journal: Journal
) -> None:
    where = system.database(VICTIM)
    assert where.schema is not None

    async def terminate() -> int:
        # The victim's own connections, found by their client ports: other systems (another
        # test worker's) have services of the same name on the same server.
        ports = victim_ports(system, where.url)
        admin = open_database(where.url, pool_size=1)
        try:
            async with admin.engine.begin() as conn:
                killed = await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND client_port = ANY(:ports)"
                    ),
                    {"name": f"haizhi-{VICTIM}", "ports": ports},
                )
                return len(killed.all())
        finally:
            await admin.dispose()

    before = len(journal.answered())

    def cut_twice() -> None:
        journal.wait_answered(before + KILL_AFTER)
        assert asyncio.run(terminate()) > 0, "the victim held no connection to cut"
        journal.wait_answered(before + 2 * KILL_AFTER)
        assert asyncio.run(terminate()) > 0, "the victim held no connection to cut"

    cases = Load(hz, "lost-connections").run(midway=cut_twice)

    assert len(cases) == 6
    assert check(system, hz, journal)["dead_letters"] == 0
