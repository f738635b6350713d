"""Pytest fixtures: a real NATS server with JetStream, and real databases, clean per test.

Where NATS and PostgreSQL come from is decided once, when this plugin loads (`KIT`, see
`shared.testkit.containers`), and the pytest header says it: testcontainers when a Docker
engine answers and no `TEST_DATABASE_URL` is given, else the embedded nats-server and
`TEST_DATABASE_URL`. Either way one server of each per session, started on first use.

`nats_url` gives the session's NATS and `nats_client` a connection whose JetStream has none
of the previous test's streams. `database_url` is parametrised over `BACKENDS`: SQLite
always, PostgreSQL too when there is one (`postgresql_url`; each test gets a schema of its
own, dropped afterwards).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy import text

from shared.db import Database, open_database
from shared.envelope import new_id
from shared.migrate import upgrade
from shared.nats_auth import OPERATOR, NatsUsers
from shared.nats_server import PORTS_VARIABLE, EmbeddedNats, free_port
from shared.streams import ensure_streams
from shared.testkit import containers
from shared.testkit.service import TestEnvironment

#: Decided at collection, since `BACKENDS` parametrises the tests.
KIT = containers.decide(os.environ)
BACKENDS = KIT.backends


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [KIT.header()]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_container_url() -> Iterator[str]:
    with containers.nats_container() as url:
        yield url


@pytest.fixture
def nats_url(request: pytest.FixtureRequest) -> str:
    """The session's NATS as its operator: the tests' harness may do anything there."""
    if KIT.containers:
        return str(request.getfixturevalue("nats_container_url"))
    server: EmbeddedNats = request.getfixturevalue("nats_server")
    return server.url_as(OPERATOR)


@pytest.fixture
def nats_users(request: pytest.FixtureRequest) -> NatsUsers | None:
    """Every NATS user's password on the embedded server (None on a container's)."""
    if KIT.containers:
        return None
    server: EmbeddedNats = request.getfixturevalue("nats_server")
    return server.users


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """The session's PostgreSQL: `TEST_DATABASE_URL`, or a container's (started here)."""
    if KIT.database_url:
        yield KIT.database_url
        return
    if not KIT.containers:
        pytest.fail("no PostgreSQL this session: set TEST_DATABASE_URL or run a Docker engine")
    with containers.postgres_container() as url:
        yield url


_ANCHOR = StreamConfig(name="TESTKIT_ANCHOR", subjects=["testkit.anchor"], storage=StorageType.FILE)


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    """A connection to the session's NATS, with every JetStream stream (and KV bucket) removed.

    Except the kit's anchor, a file stream no test sees: deleting an account's last stream
    makes nats-server remove the account's store folder while the next stream may be creating
    its own in it ("error creating store for stream", 10049 — seen when a memory stream was the
    last one). With the anchor the account always keeps a stream.
    """
    client = await nats.connect(nats_url)
    js = client.jetstream()
    anchored = False
    for info in await js.streams_info():
        if info.config.name == _ANCHOR.name:
            anchored = True
        elif info.config.name:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(info.config.name)
    if not anchored:
        await js.add_stream(_ANCHOR)
    yield client
    await client.close()


@pytest.fixture
async def js(nats_client: NatsClient) -> JetStreamContext:
    """JetStream on the clean server, with `HAIZHI` and `HAIZHI_DLQ` as the services make them."""
    context = nats_client.jetstream()
    await ensure_streams(context)
    return context


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> AsyncIterator[tuple[str, str | None]]:
    """(plain URL, PostgreSQL schema or None) of a fresh, empty database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}", None
        return
    base = str(request.getfixturevalue("postgresql_url"))
    schema = f"t_{new_id().lower()}"
    admin = open_database(base)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base, schema
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def database(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    """A migrated, empty database (kernel tables only)."""
    url, schema = database_url
    db = open_database(url, schema=schema)
    await upgrade(db)
    yield db
    await db.dispose()


__all__ = ["BACKENDS", "KIT"]


@pytest.fixture
def test_env(
    database_url: tuple[str, str | None],
    nats_url: str,
    nats_client: NatsClient,
    nats_users: NatsUsers | None,
    tmp_path: Path,
) -> TestEnvironment:
    """Everything `running_service` needs; NATS wiped and the database empty."""
    url, schema = database_url
    return TestEnvironment(url, schema, nats_url, tmp_path, nats_users)


#: Each parallel worker's ports (`shared.nats_server.free_port`): 2,000 apiece from 20000, below
#: the kernel's ephemeral ports (32768 on).
WORKER_PORTS = 2000


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, … under pytest-xdist
    if worker.removeprefix("gw").isdigit():
        low = 20000 + int(worker.removeprefix("gw")) % 6 * WORKER_PORTS
        os.environ.setdefault(PORTS_VARIABLE, f"{low}-{low + WORKER_PORTS - 1}")
    config.addinivalue_line(
        "markers",
        "postgresql_only: the behaviour exists only on PostgreSQL (its SQLite variant is "
        "deselected, not skipped)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the SQLite variants of PostgreSQL-only tests: there is nothing there to test."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        # A test's own backend, or that of the whole system its module runs (tests/faults).
        backend = params.get("backend", params.get("system_backend"))
        if item.get_closest_marker("postgresql_only") and backend != "postgresql":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
