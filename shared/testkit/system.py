"""The whole system as processes for a test: embedded NATS and the four services, on SQLite
files in a folder or on PostgreSQL (a schema per service, created before the system starts
and dropped after it stops), with the runtime file `haizhi up` writes so that `haizhi audit
…` and `haizhi demo` find it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from shared.cli import RUNTIME_FILE
from shared.db import open_database
from shared.envelope import new_id
from shared.nats_server import NatsCluster, free_port
from shared.system import CONSOLE, SERVICES, ServiceDatabase, System


async def _run_statements(url: str, statements: list[str]) -> None:
    admin = open_database(url)
    try:
        async with admin.engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


@contextmanager
def whole_system(
    data_dir: Path,
    postgresql_url: str | None = None,
    *,
    databases: Mapping[str, ServiceDatabase] | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    replicas: int = 1,
    nats: NatsCluster | None = None,
    console: bool = False,
    console_listener: socket.socket | None = None,
) -> Iterator[System]:
    """A started `System` in `data_dir`: every service on PostgreSQL at `postgresql_url` (a
    fresh schema each) when given, else on SQLite files; `databases` overrides single
    services' stores (a SQLite file on a small file system, say). `replicas` processes per
    service (PostgreSQL only) and a NATS `cluster` make it a deployment's shape; `console`
    starts the web console beside them, on `console_listener` if given (a socket bound
    before the start: an OpenID provider's registered redirect names its port)."""
    schemas: dict[str, ServiceDatabase] = {}
    if postgresql_url:
        suffix = new_id().lower()
        schemas = {s: ServiceDatabase(postgresql_url, f"t_{s}_{suffix}") for s in SERVICES}
        created = [f'CREATE SCHEMA "{d.schema}"' for d in schemas.values()]
        asyncio.run(_run_statements(postgresql_url, created))
    running = System(
        data_dir,
        {**schemas, **(databases or {})},
        preferred_nats_port=free_port(),
        preferred_ports={},
        extra_env=dict(extra_env or {}),
        nats=nats,
        replicas=replicas,
        console=console,
    )
    if console_listener is not None:
        running.listeners[CONSOLE] = console_listener
    try:
        running.start(timeout=timeout)
        (running.data_dir / RUNTIME_FILE).write_text(
            json.dumps(
                {"nats": running.nats_url, "services": running.urls, "console": running.console_url}
            ),
            encoding="utf-8",
        )
        yield running
    finally:
        running.stop()
        if postgresql_url:
            dropped = [f'DROP SCHEMA IF EXISTS "{d.schema}" CASCADE' for d in schemas.values()]
            asyncio.run(_run_statements(postgresql_url, dropped))
