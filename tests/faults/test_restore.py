"""The restore drills: the bus lost entirely, restored from the services' stores; and the
databases restored from their backup.

Every event's source of truth is its service's store; `HAIZHI` is the log they publish to.
After a total loss of NATS (its JetStream data gone: a cluster lost with its volumes, a
restore that failed), an operator stops the services, starts an empty bus, provisions it,
starts the services again (their durable consumers are gone with it) and asks each service
to republish what the stream lacks (`POST /audit/reconcile`, `haizhi audit reconcile
--repair`). The drill checks
that this gives back a system the common oracle accepts (every event once in the stores and
on the stream, verified, read models equal to rebuilds, nothing applied twice: the consumers'
inboxes skip what they had applied), and that the system then takes new cases.
docs/deployment.md, "Backup and restore", gives the drill as an operator runs it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from haizhi.client import Person
from haizhi.flows import HaiZhi
from shared.auth import Role
from shared.db import open_database
from shared.nats_auth import nats_servers
from shared.nats_server import EmbeddedNats
from shared.provision import provision
from shared.system import SERVICES, System

from .load import Journal, Load
from .oracle import check

pytestmark = pytest.mark.slow

OPERATOR = Person("ops", "运维", (Role.ADMIN,), "cast-it", ("CN",))


def test_a_lost_bus_is_restored_from_the_stores_and_nothing_is_applied_twice(
    system: System, hz: HaiZhi, journal: Journal, figures: dict[str, Any]
) -> None:
    assert len(Load(hz, "before-loss").run()) == 6
    hz.settle(120)
    at = hz.clock.now()
    nats = system.nats
    assert isinstance(nats, EmbeddedNats)

    nats.kill()
    shutil.rmtree(nats.data_dir / "jetstream")  # every stream, consumer and the clock: gone
    for service in SERVICES:  # as an operator would: nothing runs on a bus being rebuilt
        system.stop_service(service)
    nats.start()
    asyncio.run(provision(nats_servers(system.operator_url), dev_clock=True))
    hz.clock.freeze(at)  # development only: production's clock is the system's
    for service in SERVICES:
        system.start_service(service)
    system.wait_ready(timeout=60)

    ops = HaiZhi.connect(system.urls, system.operator_url)  # not the load's: no command
    try:
        repaired = {n: s.post("/audit/reconcile", OPERATOR) for n, s in ops.audit.services.items()}
    finally:
        ops.close()
    for name, report in repaired.items():
        assert report["in_stream"] == 0, name  # what the stream held before the repair
        assert len(report["republished_ids"]) == report["in_store"] > 0, name
    figures["events_republished"] = sum(len(r["republished_ids"]) for r in repaired.values())
    figures.update(check(system, hz, journal))

    assert len(Load(hz, "after-restore").run()) == 6
    check(system, hz, journal)


@pytest.mark.postgresql_only
@pytest.mark.needs_pg_dump
def test_the_databases_restored_from_a_backup_serve_on_as_before(
    system: System, hz: HaiZhi, journal: Journal, figures: dict[str, Any], tmp_path: Path
) -> None:
    """PostgreSQL's side: a logical backup of every service's schema (`pg_dump`, one snapshot
    for the four), the schemas lost, restored from the backup, the services started on them.
    Taken with the services stopped, the backup holds everything the stream holds: the oracle
    holds and new cases go through. (A backup older than the stream is another matter:
    docs/deployment.md, "Backup and restore".)"""
    assert len(Load(hz, "before-backup").run()) == 6
    hz.settle(120)
    for service in SERVICES:
        system.stop_service(service)
    where = {service: system.database(service) for service in SERVICES}
    url = where["application"].url
    schemas = [f"--schema={database.schema}" for database in where.values()]
    backup = tmp_path / "haizhi.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={backup}", *schemas, url], check=True)
    asyncio.run(drop_schemas(url, [str(d.schema) for d in where.values()]))
    subprocess.run(["pg_restore", "--exit-on-error", f"--dbname={url}", str(backup)], check=True)
    figures["backup_bytes"] = backup.stat().st_size
    for service in SERVICES:
        system.start_service(service)
    system.wait_ready(timeout=60)
    figures.update(check(system, hz, journal))

    assert len(Load(hz, "after-db-restore").run()) == 6
    check(system, hz, journal)


async def drop_schemas(url: str, schemas: list[str]) -> None:
    """The disaster: every service's tables gone."""
    db = open_database(url)
    try:
        async with db.engine.begin() as conn:
            for schema in schemas:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await db.dispose()
