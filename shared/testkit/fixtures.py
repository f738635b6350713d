"""Pytest fixtures: a real NatsClient server with JetStream, and real databases, clean per test.

`nats_server` starts one embedded nats-server per test session; `nats_url` gives its URL
and `nats_client` a connection whose JetStream has none of the previous test's streams.
`database_url` is parametrised: SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is
set (each test gets a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from sqlalchemy import text

from shared.db import Database, open_database
from shared.envelope import new_id
from shared.migrate import upgrade
from shared.nats_server import EmbeddedNats, free_port
from shared.testkit.service import TestEnvironment

BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    """A connection to the session's NATS, with every JetStream stream (and KV bucket) removed."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(info.config.name)
    yield client
    await client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(plain URL, PostgreSQL schema or None) of a fresh, empty database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}", None
        return
    base = os.environ["TEST_DATABASE_URL"]
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


__all__ = ["BACKENDS"]


@pytest.fixture
def test_env(
    database_url: tuple[str, str | None], nats_url: str, nats_client: NatsClient, tmp_path: Path
) -> TestEnvironment:
    """Everything `running_service` needs; NATS wiped and the database empty."""
    url, schema = database_url
    return TestEnvironment(url, schema, nats_url, tmp_path)


def pytest_configure(config: pytest.Config) -> None:
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
        backend = callspec.params.get("backend") if callspec is not None else None
        if item.get_closest_marker("postgresql_only") and backend != "postgresql":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
