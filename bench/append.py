"""Appends: single-event commands through the Executor against raw driver inserts.

append_sqlite_ratio         one writer, each command its own transaction, SQLite file with the
                            kernel's pragmas; baseline: sqlite3 inserting the same rows, one
                            per transaction (BEGIN IMMEDIATE, INSERT, COMMIT), same pragmas.
append_postgres_ratio       eight concurrent writers; baseline: asyncpg, eight connections,
                            one INSERT per transaction.
pg_wal_syncs_per_commit_8w  pg_stat_wal.wal_sync delta ÷ pg_stat_database.xact_commit delta
                            over our eight-writer rounds (cluster and database wide: other
                            sessions' work on the same server is in both deltas).

A command is `Count` on a stream that already holds its `Opened` event: the Executor loads
and folds the stream, decides, appends one event and its outbox row, and commits.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import Database, async_database_url, open_database
from shared.migrate import upgrade
from shared.store import EventStore
from shared.tests.toy import Count, tally

from . import whatif
from .common import (
    CTX,
    Env,
    Figure,
    Round,
    event_rows,
    executor,
    interleave,
    open_streams,
    paired,
    ratio,
    sqlite_connect,
    sqlite_file,
)

COLUMNS = ("event_id", "stream_id", "version", "type", "case_id", "recorded_at", "envelope", "hash")
INSERT_SQLITE = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
)
INSERT_PG = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
)
WRITERS = 8


async def run_commands(
    db: Database, streams: list[str], writers: int, store: EventStore | None = None
) -> float:
    """Seconds for `writers` tasks to run one Count command on each of `streams`."""
    ex = executor(db) if store is None else executor(db, store=store)

    async def writer(mine: list[str]) -> None:
        for stream in mine:
            await ex.execute(tally, stream, Count(stream, 1), ctx=CTX)

    started = time.perf_counter()
    await asyncio.gather(*(writer(streams[w::writers]) for w in range(writers)))
    return time.perf_counter() - started


async def sqlite_ratio(env: Env) -> Figure:
    n = env.sizes.append_sqlite
    batch = itertools.count()
    async with env.sqlite("append-ours") as ours, env.sqlite("append-raw") as raw_db:
        raw = sqlite_connect(sqlite_file(raw_db))

        async def ours_round() -> tuple[int, float]:
            streams = await open_streams(ours, f"s{next(batch)}", n)
            return n, await run_commands(ours, streams, 1)

        async def raw_round() -> tuple[int, float]:
            rows = event_rows(f"r{next(batch)}", n)
            started = time.perf_counter()
            for row in rows:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(INSERT_SQLITE, row)
                raw.execute("COMMIT")
            return n, time.perf_counter() - started

        try:
            rates = await interleave(
                {"executor": ours_round, "sqlite3": raw_round}, env.sizes.rounds
            )
        finally:
            raw.close()
    raw_figures = {
        "commands_per_s": rates["executor"],
        "raw_inserts_per_s": rates["sqlite3"],
        "commands_per_round": n,
    }
    return paired(rates, "executor", "sqlite3"), raw_figures


async def _pg_counters(admin: Any) -> tuple[int, int]:
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    wal_sync = await admin.fetchval("SELECT wal_sync FROM pg_stat_wal")
    commits = await admin.fetchval(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    )
    return int(wal_sync), int(commits)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def postgres_ratio(env: Env) -> tuple[Figure, Figure]:
    """(append_postgres_ratio, pg_wal_syncs_per_commit_8w)."""
    url = env.pg_url
    assert url is not None
    n = env.sizes.append_postgres
    batch = itertools.count()
    dsn = asyncpg_dsn(url)
    admin = await asyncpg.connect(dsn)
    wal: list[dict[str, float]] = []
    async with env.pg_schema("append_ours") as ours_schema, env.postgres("append_raw") as raw_db:
        setup = open_database(url, schema=ours_schema)
        await upgrade(setup)
        async with raw_db.engine.connect() as conn:
            raw_schema = str((await conn.execute(text("SELECT current_schema()"))).scalar())

        async def ours_round() -> tuple[int, float]:
            streams = await open_streams(setup, f"s{next(batch)}", n)
            # An engine per round, disposed before the counters are read: a backend reports
            # its statistics when it exits, so nothing of the round is left unreported.
            db = open_database(url, schema=ours_schema, pool_size=WRITERS)
            async with db.engine.connect() as warm:  # open the pool outside the timing
                await warm.execute(text("SELECT 1"))
            await asyncio.sleep(0.3)
            syncs_before, commits_before = await _pg_counters(admin)
            seconds = await run_commands(db, streams, WRITERS)
            await db.dispose()
            await asyncio.sleep(0.3)
            syncs_after, commits_after = await _pg_counters(admin)
            wal.append(
                {
                    "wal_syncs": syncs_after - syncs_before,
                    "xact_commits": commits_after - commits_before,
                    "our_commands": n,
                }
            )
            return n, seconds

        pool = await asyncpg.create_pool(
            dsn,
            min_size=WRITERS,
            max_size=WRITERS,
            server_settings={"search_path": raw_schema},
        )

        async def raw_round() -> tuple[int, float]:
            rows = event_rows(f"r{next(batch)}", n)

            async def writer(mine: list[dict[str, Any]]) -> None:
                async with pool.acquire() as conn:
                    for row in mine:
                        await conn.execute(INSERT_PG, *(row[c] for c in COLUMNS))

            started = time.perf_counter()
            await asyncio.gather(*(writer(rows[w::WRITERS]) for w in range(WRITERS)))
            return n, time.perf_counter() - started

        try:
            rates = await interleave(
                {"executor_8w": ours_round, "asyncpg_8w": raw_round}, env.sizes.rounds
            )
        finally:
            await pool.close()
            await setup.dispose()
            await admin.close()
    measured = wal[1:]  # the warm-up round is dropped, as for the rates
    per_commit = [w["wal_syncs"] / w["xact_commits"] for w in measured if w["xact_commits"]]
    per_command = [w["wal_syncs"] / w["our_commands"] for w in measured]
    append = (
        paired(rates, "executor_8w", "asyncpg_8w"),
        {
            "commands_per_s": rates["executor_8w"],
            "raw_inserts_per_s": rates["asyncpg_8w"],
            "writers": WRITERS,
            "commands_per_round": n,
        },
    )
    syncs = (
        round(statistics.median(per_commit), 3) if per_commit else None,
        {
            "rounds": measured,
            "wal_syncs_per_our_command": round(statistics.median(per_command), 3),
            "note": "pg_stat_wal is cluster-wide and xact_commit database-wide: other "
            "sessions on the same server during the round are counted in both",
        },
    )
    return append, syncs


async def whatif_sqlite(env: Env) -> dict[str, Any]:
    """The SQLite append with each prototype of bench.whatif, against the same raw baseline."""
    n = env.sizes.append_sqlite
    batch = itertools.count()
    async with (
        env.sqlite("whatif-stock") as stock,
        env.sqlite("whatif-lean") as lean,
        env.sqlite("whatif-inline") as inline_base,
        env.sqlite("whatif-inline-plain") as inline_plain_base,
        env.sqlite("whatif-raw") as raw_db,
    ):
        await whatif.outbox_trigger(lean)
        await whatif.outbox_trigger(inline_base)
        inline = whatif.inline_sqlite(sqlite_file(inline_base), inline_base)
        inline_plain = whatif.inline_sqlite(sqlite_file(inline_plain_base), inline_plain_base)
        raw = sqlite_connect(sqlite_file(raw_db))

        def trial(db: Database, store: EventStore | None) -> Round:
            async def one_round() -> tuple[int, float]:
                streams = await open_streams(db, f"s{next(batch)}", n, store=store)
                return n, await run_commands(db, streams, 1, store)

            return one_round

        async def raw_round() -> tuple[int, float]:
            rows = event_rows(f"r{next(batch)}", n)
            started = time.perf_counter()
            for row in rows:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(INSERT_SQLITE, row)
                raw.execute("COMMIT")
            return n, time.perf_counter() - started

        try:
            rates = await interleave(
                {
                    "today": trial(stock, None),
                    "head_from_load": trial(stock, whatif.HeadFromLoad(stock, "toy")),
                    "head_from_load+outbox_trigger": trial(
                        lean, whatif.HeadFromLoad(lean, "toy", trigger_outbox=True)
                    ),
                    "inline_driver": trial(inline_plain, None),
                    "inline_driver+head_from_load+outbox_trigger": trial(
                        inline, whatif.HeadFromLoad(inline, "toy", trigger_outbox=True)
                    ),
                    "sqlite3": raw_round,
                },
                env.sizes.rounds,
            )
        finally:
            raw.close()
            await inline.engine.dispose()
            await inline_plain.engine.dispose()
    base = rates["sqlite3"]["per_s"]
    return {
        name: {"per_s": r["per_s"], "ratio_to_raw": ratio(r["per_s"], base)}
        for name, r in rates.items()
    }


async def whatif_postgres(env: Env) -> dict[str, Any]:
    """Eight writers on PostgreSQL: today, the leaner append, and group commit's commit_delay."""
    url = env.pg_url
    assert url is not None
    n = env.sizes.append_postgres
    batch = itertools.count()
    admin = await asyncpg.connect(asyncpg_dsn(url))
    syncs: dict[str, list[float]] = {}
    async with env.pg_schema("whatif_today") as today, env.pg_schema("whatif_lean") as lean:
        setups = {today: open_database(url, schema=today), lean: open_database(url, schema=lean)}
        for db in setups.values():
            await upgrade(db)
        await whatif.outbox_trigger(setups[lean])

        def trial(name: str, schema: str, lean_store: bool, settings: dict[str, str]) -> Round:
            async def one_round() -> tuple[int, float]:
                setup_store = (
                    whatif.HeadFromLoad(setups[schema], "toy", trigger_outbox=True)
                    if lean_store
                    else None
                )
                streams = await open_streams(
                    setups[schema], f"s{next(batch)}", n, store=setup_store
                )
                engine = create_async_engine(
                    async_database_url(url),
                    pool_size=WRITERS,
                    max_overflow=WRITERS,
                    connect_args={"server_settings": {"search_path": schema, **settings}},
                )
                db = Database(url, engine, engine)
                store = whatif.HeadFromLoad(db, "toy", trigger_outbox=True) if lean_store else None
                async with engine.connect() as warm:
                    await warm.execute(text("SELECT 1"))
                await asyncio.sleep(0.3)
                syncs_before, commits_before = await _pg_counters(admin)
                seconds = await run_commands(db, streams, WRITERS, store)
                await engine.dispose()
                await asyncio.sleep(0.3)
                syncs_after, commits_after = await _pg_counters(admin)
                commits = commits_after - commits_before
                syncs.setdefault(name, []).append((syncs_after - syncs_before) / max(1, commits))
                return n, seconds

            return one_round

        delay = {"commit_delay": "500", "commit_siblings": "2"}
        try:
            rates = await interleave(
                {
                    "today": trial("today", today, False, {}),
                    "head_from_load+outbox_trigger": trial("lean", lean, True, {}),
                    "today+commit_delay_500us": trial("delay", today, False, delay),
                },
                env.sizes.rounds,
            )
        finally:
            for db in setups.values():
                await db.dispose()
            await admin.close()
    names = {"today": "today", "lean": "head_from_load+outbox_trigger"}
    names["delay"] = "today+commit_delay_500us"
    return {
        names[key]: {
            "commands_per_s": rates[names[key]]["per_s"],
            "wal_syncs_per_commit": round(statistics.median(values[1:] or values), 3),
        }
        for key, values in syncs.items()
    }
