"""Against a peer: the Python `eventsourcing` library (9.5, PyPI) with its own recorders.

vs_eventsourcing_append_*  our single-event commands/s (Executor: load, fold, decide, append
                           with its outbox row, commit) ÷ theirs (repository.get, an
                           aggregate method triggering one event, app.save), one writer each,
                           on the same database server/file settings, streams holding one
                           event before the command.
vs_eventsourcing_read_*    our full read of the log (EventStore.iterate_all, pages of 2000,
                           each event decoded to its domain dataclass) ÷ theirs (recorder
                           select_notifications, pages of 2000, mapper.to_domain_event), over
                           logs of the same number of events (streams of ten).
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy.engine import make_url

from shared.db import Database
from shared.store import EventStore
from shared.tests.toy import registry

from .append import run_commands
from .common import Env, Figure, Stopwatch, cpu_per_op, interleave, open_streams, paired

PAGE = 2000
STREAM_LENGTH = 10


class Tally(Aggregate):
    """The toy tally, as the library writes aggregates."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total = 0

    @event("Counted")
    def count(self, by: int) -> None:
        self.total += by


class Tallies(Application[UUID]):
    pass


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def postgres_env(url: str, schema: str) -> dict[str, str]:
    parsed = make_url(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parsed.database or "postgres",
        "POSTGRES_HOST": parsed.host or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        "POSTGRES_SCHEMA": schema,
    }


def create_tallies(app: Tallies, n: int, length: int = 1) -> list[UUID]:
    ids: list[UUID] = []
    for start in range(0, n, 50):
        group = [Tally(f"tally {i} 海智") for i in range(start, min(n, start + 50))]
        for tally in group:
            for _ in range(length - 1):
                tally.count(1)
        app.save(*group)
        ids.extend(t.id for t in group)
    return ids


async def _compare_appends(env: Env, ours: Database, theirs: Tallies) -> dict[str, Any]:
    n = env.sizes.peer_append
    batch = itertools.count()

    async def ours_round() -> tuple[int, float, float]:
        streams = await open_streams(ours, f"a{next(batch)}", n)
        return (await run_commands(ours, streams, 1)).done(n)

    async def theirs_round() -> tuple[int, float, float]:
        ids = create_tallies(theirs, n)
        with Stopwatch() as watch:
            for tally_id in ids:
                tally: Tally = theirs.repository.get(tally_id)
                tally.count(1)
                theirs.save(tally)
        return watch.done(n)

    return await interleave({"ours": ours_round, "eventsourcing": theirs_round}, env.sizes.rounds)


async def _compare_reads(env: Env, ours: Database, theirs: Tallies) -> dict[str, Any]:
    n = env.sizes.peer_read
    await open_streams(ours, "r", n // STREAM_LENGTH, per_stream=STREAM_LENGTH)
    create_tallies(theirs, n // STREAM_LENGTH, STREAM_LENGTH)
    store = EventStore(ours, "toy")

    async def ours_round() -> tuple[int, float, float]:
        count = 0
        with Stopwatch() as watch:
            async for envelope in store.iterate_all(batch=PAGE):
                registry.decode(envelope.type, envelope.data)
                count += 1
        return watch.done(count)

    async def theirs_round() -> tuple[int, float, float]:
        count, start = 0, 1
        with Stopwatch() as watch:
            while True:
                page = theirs.recorder.select_notifications(start, PAGE)
                if not page:
                    break
                for notification in page:
                    theirs.mapper.to_domain_event(notification)
                count += len(page)
                start = page[-1].id + 1
        return watch.done(count)

    rates = await interleave({"ours": ours_round, "eventsourcing": theirs_round}, env.sizes.rounds)
    # Both logs hold the read events plus the append rounds' events; report what was read.
    return rates


async def _figures(
    env: Env, ours: Database, theirs: Tallies, notes: dict[str, Any]
) -> tuple[Figure, Figure]:
    appends = await _compare_appends(env, ours, theirs)
    reads = await _compare_reads(env, ours, theirs)
    return (
        (
            paired(appends, "ours", "eventsourcing"),
            {
                "commands_per_s": appends,
                "cpu_us_per_op": cpu_per_op(appends, "ours", "eventsourcing"),
                "commands_per_round": env.sizes.peer_append,
                "writers": 1,
                **notes,
            },
        ),
        (
            paired(reads, "ours", "eventsourcing"),
            {
                "events_per_s": reads,
                "cpu_us_per_op": cpu_per_op(reads, "ours", "eventsourcing"),
                "log_events_at_least": env.sizes.peer_read,
                **notes,
            },
        ),
    )


async def sqlite_figures(env: Env) -> tuple[Figure, Figure]:
    folder = env.path("peer-eventsourcing")
    theirs = Tallies(env=sqlite_env(folder / "eventsourcing.db"))
    probe = sqlite3.connect(folder / "eventsourcing.db")
    settings = {
        "eventsourcing_sqlite": {
            "journal_mode": probe.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": probe.execute("PRAGMA synchronous").fetchone()[0],
        },
        "ours_sqlite": {"journal_mode": "wal", "synchronous": 2},
    }
    probe.close()
    try:
        async with env.sqlite("peer-ours") as ours:
            return await _figures(env, ours, theirs, settings)
    finally:
        theirs.close()


async def postgres_figures(env: Env) -> tuple[Figure, Figure]:
    assert env.pg_url is not None
    async with env.pg_schema("peer_theirs") as schema, env.postgres("peer_ours") as ours:
        theirs = Tallies(env=postgres_env(env.pg_url, schema))
        try:
            return await _figures(env, ours, theirs, {})
        finally:
            theirs.close()
