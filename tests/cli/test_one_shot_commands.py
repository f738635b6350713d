"""The one-shot commands a deployment runs beside the services (the image's other commands):
the migrations, the bus's provisioning as the operator, the development keys."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import nats
import pytest

from services.application.main import create_app
from services.application.main import spec as application_spec
from services.review import main as review_main
from shared.clock import CLOCK_STREAM
from shared.db import open_database
from shared.migrate import SchemaBehind, require_current, upgrade
from shared.nats_server import EmbeddedNats, free_port
from shared.settings import ServiceSettings
from shared.streams import DLQ_STREAM, STREAM

SPEC = "services.application.main:spec"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAIZHI_")}
    return subprocess.run(
        [sys.executable, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def signed_in(
    server: EmbeddedNats, user: str = "operator", password: str | None = None, url: str = ""
) -> dict[str, str]:
    """The `HAIZHI_NATS_*` a one-shot step is given: `user` on `server` (or on `url`)."""
    return {
        "HAIZHI_NATS_URL": url or server.url,
        "HAIZHI_NATS_USER": user,
        "HAIZHI_NATS_PASSWORD": server.password(user) if password is None else password,
    }


async def test_the_migration_command_brings_a_new_database_to_what_the_code_needs(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'application.db'}"
    migrations = [application_spec().migrations]
    db = open_database(url)
    try:
        with pytest.raises(SchemaBehind, match=r"run `python -m shared\.migrate"):
            await require_current(db, migrations)
        done = run("-m", "shared.migrate", SPEC, env={"HAIZHI_DATABASE_URL": url})
        assert done.returncode == 0, done.stderr
        assert "application: the database is at the newest schema" in done.stderr
        await require_current(db, migrations)  # no longer refused
    finally:
        await db.dispose()


async def test_a_replica_that_does_not_migrate_refuses_to_start_on_a_database_behind_it(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings(
        service="application",
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'application.db'}",
        data_dir=tmp_path,
        migrate_on_start=False,
    )
    app = create_app(settings)
    with pytest.raises(SchemaBehind):
        async with app.router.lifespan_context(app):
            pass


async def test_a_schema_newer_than_the_code_is_served_during_a_rolling_upgrade(
    tmp_path: Path,
) -> None:
    """The new release's migration ran first; the old replicas keep serving until replaced."""
    db = open_database(f"sqlite:///{tmp_path / 'application.db'}")
    migrations = [application_spec().migrations]
    try:
        await upgrade(db, migrations)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(  # its branch moved on to a revision of newer code
                "UPDATE alembic_version SET version_num = 'application_9999' "
                "WHERE version_num LIKE 'application_%'"
            )
        await require_current(db, migrations)
    finally:
        await db.dispose()


async def test_another_services_schema_is_refused_even_where_it_looks_newer(
    tmp_path: Path,
) -> None:
    """HAIZHI_DATABASE_URL pointing at review's database: refused at start, not at the first
    query on a table that is not there."""
    db = open_database(f"sqlite:///{tmp_path / 'review.db'}")
    try:
        await upgrade(db, [Path(review_main.__file__).parent / "migrations" / "versions"])
        with pytest.raises(SchemaBehind, match=r"review_\d+ of no branch of this code"):
            await require_current(db, [application_spec().migrations])
    finally:
        await db.dispose()


async def test_replicas_starting_together_migrate_one_after_another(
    database_url: tuple[str, str | None],
) -> None:
    """On a new PostgreSQL schema (and SQLite), four replicas migrating at once: one migrates,
    the others find it done (an advisory lock on PostgreSQL); each may then serve."""
    url, schema = database_url
    migrations = [application_spec().migrations]
    replicas = [open_database(url, schema=schema) for _ in range(4)]
    try:
        # Unserialised they deadlock on PostgreSQL's catalogue, or fail on a duplicate type.
        await asyncio.wait_for(asyncio.gather(*(upgrade(db, migrations) for db in replicas)), 60)
        for db in replicas:
            await require_current(db, migrations)
    finally:
        for db in replicas:
            await db.dispose()


def test_the_migration_command_names_a_wrong_spec_without_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    done = run(
        "-m",
        "shared.migrate",
        "services.application.main:nothing",
        env={"HAIZHI_DATABASE_URL": url},
    )
    assert done.returncode != 0
    assert "is not a service's spec" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_migration_command_says_what_is_missing_without_a_traceback() -> None:
    done = run("-m", "shared.migrate", SPEC, env={})
    assert done.returncode != 0
    assert "database_url" in done.stderr
    assert "Traceback" not in done.stderr


async def test_provisioning_creates_the_streams_and_the_clock_as_the_operator(
    tmp_path: Path,
) -> None:
    with EmbeddedNats(tmp_path / "nats", port=free_port()) as server:
        one_down = f"nats://127.0.0.1:1,{server.url}"  # a cluster with a node away
        done = run("-m", "shared.provision", "--dev-clock", env=signed_in(server, url=one_down))
        assert done.returncode == 0, done.stderr
        client = await nats.connect(server.url_as())
        try:
            js = client.jetstream()
            for stream in (STREAM, DLQ_STREAM, CLOCK_STREAM):
                assert (await js.stream_info(stream)).config.num_replicas == 1
        finally:
            await client.close()


async def test_only_the_operator_may_change_the_streams(tmp_path: Path) -> None:
    """A stream that differs from what this version wants is brought back by the operator's
    provisioning; a service's credentials may create a missing stream, never change one."""
    with EmbeddedNats(tmp_path / "nats", port=free_port()) as server:
        as_operator = signed_in(server)
        assert run("-m", "shared.provision", env=as_operator).returncode == 0
        client = await nats.connect(server.url_as())
        try:
            js = client.jetstream()
            wanted = (await js.stream_info(STREAM)).config
            await js.update_stream(wanted.evolve(duplicate_window=60.0))
            refused = run("-m", "shared.provision", env=signed_in(server, "review"))
            assert refused.returncode != 0
            assert "provision: NATS" in refused.stderr
            assert (await js.stream_info(STREAM)).config.duplicate_window == 60.0
            assert run("-m", "shared.provision", env=as_operator).returncode == 0
            assert (await js.stream_info(STREAM)).config.duplicate_window == wanted.duplicate_window
        finally:
            await client.close()


def test_provisioning_an_unreachable_bus_fails_with_a_clear_message() -> None:
    done = run(
        "-m",
        "shared.provision",
        env={"HAIZHI_NATS_URL": f"nats://127.0.0.1:{free_port()}"},
    )
    assert done.returncode != 0
    assert "provision: NATS at nats://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_development_keys_are_made_once_private_and_trusted(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = run("-m", "shared.signing", "keys", str(keys), "application", "review", env={})
    assert first.returncode == 0, first.stderr
    again = run("-m", "shared.signing", "keys", str(keys), "application", env={})
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # the same key id
    assert stat.S_IMODE((keys / "application.key").stat().st_mode) == 0o600
    trusted = sorted(path.name.split(".")[0] for path in (keys / "trusted").iterdir())
    assert trusted == ["application", "review"]


def test_the_one_shot_commands_refuse_what_is_not_a_name_or_a_number(tmp_path: Path) -> None:
    keys = run("-m", "shared.signing", "keys", str(tmp_path), "../escape", env={})
    assert keys.returncode == 2
    assert "not a service's name: ../escape" in keys.stderr
    assert not (tmp_path.parent / "escape.key").exists()
    replicas = run("-m", "shared.provision", "--replicas", "0", env={})
    assert replicas.returncode != 0
    assert "--replicas must be 1 to 5" in replicas.stderr


def test_a_wrong_password_is_named_as_such(tmp_path: Path) -> None:
    with EmbeddedNats(tmp_path / "nats", port=free_port()) as server:
        backup = ("-m", "shared.stream_backup", "backup", str(tmp_path / "backup"))
        done = run(*backup, env=signed_in(server, password="not-the-password"))
    assert done.returncode != 0
    assert "authoriz" in done.stderr.lower()  # "authorization failed", or the server's words
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "backup").exists()


def test_the_reconcile_step_says_what_it_needs_without_a_traceback() -> None:
    wrong_name = run("-m", "shared.reconcile", "../review", env={})
    assert wrong_name.returncode == 2
    assert "not a service's name" in wrong_name.stderr
    no_database = run("-m", "shared.reconcile", "review", "--repair", env={})
    assert no_database.returncode != 0
    assert "database_url" in no_database.stderr
    assert "Traceback" not in no_database.stderr + wrong_name.stderr
