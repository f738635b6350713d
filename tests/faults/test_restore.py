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
import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import text

from haizhi.client import Person
from haizhi.flows import HaiZhi
from shared.auth import Role
from shared.db import open_database
from shared.nats_auth import nats_servers
from shared.nats_server import EmbeddedNats
from shared.provision import provision
from shared.streams import STREAM
from shared.system import SERVICES, System

from .load import Journal, Load
from .oracle import check, read_store

pytestmark = pytest.mark.slow

OPERATOR = Person("ops", "运维", (Role.ADMIN,), "cast-it", ("CN",))


def test_a_lost_bus_is_restored_from_the_stores_and_nothing_is_applied_twice(
    system: System, hz: HaiZhi, journal: Journal, figures: dict[str, Any]
) -> None:
    assert len(Load(hz, "before-loss").run()) == 6
    hz.settle(120)
    at = hz.clock.now()
    before = effects(system)
    lose_the_bus(system)
    provision_again(system, hz, at)
    start_services(system)

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
    assert effects(system) == before  # every event redelivered, none applied again

    assert len(Load(hz, "after-restore").run()) == 6
    check(system, hz, journal)


def test_a_bus_restored_from_its_snapshot_gets_the_rest_from_the_stores(
    system: System, hz: HaiZhi, journal: Journal, figures: dict[str, Any], tmp_path: Path
) -> None:
    """NATS's side, from a snapshot: `HAIZHI` snapshotted (`python -m shared.stream_backup
    backup`), more cases played, the bus lost; the snapshot restored into an empty bus, the
    servers restarted (JetStream rebuilds the duplicate window as it starts), the rest
    provisioned, the events committed after the snapshot republished from the stores by
    each service's one-shot `python -m shared.reconcile --repair`, then the services
    started. Nothing is applied twice; new cases go through."""
    assert len(Load(hz, "before-snapshot").run()) == 6
    hz.settle(120)
    as_operator = system.bus_env("operator")
    backup = tmp_path / "haizhi-snapshot"
    in_snapshot = asyncio.run(stream_messages(system))  # the services are idle
    taken = run_step(system, "-m", "shared.stream_backup", "backup", str(backup), env=as_operator)
    assert f"HAIZHI: {in_snapshot} messages" in taken
    assert len(Load(hz, "after-snapshot").run()) == 6
    hz.settle(120)
    at = hz.clock.now()
    before = effects(system)

    bus = lose_the_bus(system)
    run_step(system, "-m", "shared.stream_backup", "restore", str(backup), env=as_operator)
    bus.stop()  # JetStream rebuilds the restored stream's duplicate window as it starts
    bus.start()
    provision_again(system, hz, at)
    repaired = {}  # before the services start: what the stream lacks goes out before their relays
    for service in SERVICES:
        as_service = system.database(service).env() | system.bus_env(service)
        report = run_step(
            system, "-m", "shared.reconcile", service, "--repair", env=as_service, out=True
        )
        repaired[service] = json.loads(report)
    start_services(system)

    restored = sum(report["in_stream"] for report in repaired.values())
    republished = sum(report["republished"] for report in repaired.values())
    assert restored == in_snapshot
    assert republished > 0  # the second round's events: after the snapshot
    assert restored + republished == sum(report["in_store"] for report in repaired.values())
    figures["snapshot_messages"] = in_snapshot
    figures["snapshot_bytes"] = (backup / "stream.tar.s2").stat().st_size
    figures["events_republished"] = republished
    figures.update(check(system, hz, journal))
    assert effects(system) == before

    assert len(Load(hz, "after-snapshot-restore").run()) == 6
    check(system, hz, journal)


def effects(system: System) -> dict[str, tuple[int, list[tuple[str, str]]]]:
    """Per service: how many events its store holds, and what its consumers applied. A
    restore must leave both as they were: an event applied again would add to either."""
    stores = {service: read_store(system, service) for service in SERVICES}
    return {s: (len(st.events), sorted(st.inbox)) for s, st in stores.items()}


async def stream_messages(system: System) -> int:
    client = await nats.connect(nats_servers(system.operator_url))
    try:
        return int((await client.jetstream().stream_info(STREAM)).state.messages)
    finally:
        await client.close()


def lose_the_bus(system: System) -> EmbeddedNats:
    """The services stopped (as an operator would: nothing runs on a bus being rebuilt), then
    NATS killed with all its JetStream data (every stream, consumer and the clock), and
    started again empty."""
    bus = system.nats
    assert isinstance(bus, EmbeddedNats)
    for service in SERVICES:
        system.stop_service(service)
    bus.kill()
    shutil.rmtree(bus.data_dir / "jetstream")
    bus.start()
    return bus


def provision_again(system: System, hz: HaiZhi, at: datetime) -> None:
    """The provisioning step, and the development clock set back where it stood (production's
    clock is the system's)."""
    asyncio.run(provision(nats_servers(system.operator_url), dev_clock=True))
    hz.clock.freeze(at)


def start_services(system: System) -> None:
    for service in SERVICES:
        system.start_service(service)
    system.wait_ready(timeout=60)


def run_step(system: System, *args: str, env: dict[str, str], out: bool = False) -> str:
    """A one-shot command as an operator runs it; what it printed (its report on stderr, or
    its output with `out`)."""
    done = system.run_step(*args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout if out else done.stderr


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
    before = effects(system)
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
    start_services(system)
    figures.update(check(system, hz, journal))
    assert effects(system) == before

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
