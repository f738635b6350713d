"""Appends: single-event commands through the Executor against raw drivers doing the same.

append_sqlite_ratio         one writer, each command its own transaction, SQLite file with the
                            kernel's pragmas ÷ a raw `sqlite3` command doing what ours does:
                            BEGIN IMMEDIATE, SELECT the stream head (version, hash), seal the
                            envelope (shared.envelope's own `sealed()` and `to_json()`), INSERT
                            the event, INSERT its outbox row, upsert the toy tally's totals row,
                            COMMIT. `raw` keeps the old floor: one INSERT per transaction.
append_sqlite_cpu_ratio     our CPU µs per command ÷ the raw command's (time.process_time,
                            every thread of the process, so aiosqlite's worker too).
append_postgres_ratio       eight concurrent writers, ours ÷ asyncpg on eight connections doing
                            the same round trips per command (BEGIN, head SELECT, event INSERT
                            … RETURNING position, outbox INSERT, totals upsert, COMMIT).
pg_wal_syncs_per_commit_8w  pg_stat_wal.wal_sync delta ÷ pg_stat_database.xact_commit delta
                            over our eight-writer rounds (cluster and database wide: other
                            sessions' work on the same server is in both deltas).

Our command is `Count` on a stream that already holds its `Opened` event and a totals row: the
Executor loads and folds the stream, decides, appends one event and its outbox row, applies
the toy `TotalsProjection` (an UPDATE of the totals row) and commits. Ours also signs each
envelope (Ed25519, `shared.signing`); the raw command seals but does not sign, and
`raw.signing_us_per_event` gives what the signature costs.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import statistics
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from shared.db import Database, open_database
from shared.envelope import GENESIS, Envelope, format_time, new_id
from shared.migrate import upgrade
from shared.store import EventStore
from shared.testkit.keys import signer
from shared.tests.toy import Count, Counted, TotalsProjection, metadata, registry, tally, totals

from .common import (
    CTX,
    META,
    NOW,
    Env,
    Figure,
    Stopwatch,
    cpu_per_op,
    event_rows,
    executor,
    interleave,
    open_streams,
    paired,
    paired_cpu,
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
HEAD_SQLITE = "SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
HEAD_PG = "SELECT version, hash FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"
UPSERT_TOTALS = (
    "INSERT INTO toy_totals (tally_id, name, total, events) VALUES ({0}, NULL, {1}, 1) "
    "ON CONFLICT (tally_id) DO UPDATE SET total = toy_totals.total + excluded.total, "
    "events = toy_totals.events + 1"
)
UPSERT_SQLITE = UPSERT_TOTALS.format("?", "?")
UPSERT_PG = UPSERT_TOTALS.format("$1", "$2")
WRITERS = 8
COUNTED = registry.type_of(Counted("x", 1))


async def run_commands(
    db: Database,
    streams: list[str],
    writers: int,
    store: EventStore | None = None,
    *,
    read_model: bool = False,
) -> Stopwatch:
    """Wall and CPU time for `writers` tasks to run one Count command on each of `streams`;
    with `read_model`, the Executor applies the toy TotalsProjection in each command."""
    projections = [TotalsProjection()] if read_model else []
    ex = (
        executor(db, projections=projections)
        if store is None
        else executor(db, store=store, projections=projections)
    )

    async def writer(mine: list[str]) -> None:
        for stream in mine:
            await ex.execute(tally, stream, Count(stream, 1), ctx=CTX)

    with Stopwatch() as watch:
        await asyncio.gather(*(writer(streams[w::writers]) for w in range(writers)))
    return watch


async def prepare(db: Database, prefix: str, n: int) -> list[str]:
    """n streams holding their Opened event, each with its totals row (untimed set-up)."""
    streams = await open_streams(db, prefix, n)
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(totals), [{"tally_id": s, "name": s, "total": 0, "events": 1} for s in streams]
        )
    return streams


def sealed_counted(stream: str, version: int, prevhash: str) -> tuple[Envelope, str]:
    """The envelope our store would write for Count(stream, 1), sealed; and its JSON."""
    envelope = Envelope(
        id=new_id(),
        source="/haizhi/toy",
        type=COUNTED,
        subject=stream,
        time=NOW,
        data={"tally_id": stream, "by": 1},
        streamversion=version + 1,
        caseid=META.case_id,
        correlationid=CTX.correlation_id,
        causationid=None,
        actor=CTX.actor,
        policyversion=None,
        prevhash=prevhash,
        hash="",
    ).sealed()
    return envelope, envelope.to_json().decode("utf-8")


def raw_sqlite_command(conn: sqlite3.Connection, stream: str) -> None:
    """What our command does to the database, in plain sqlite3."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        head = conn.execute(HEAD_SQLITE, (stream,)).fetchone()
        version, prevhash = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
        envelope, body = sealed_counted(stream, version, prevhash)
        conn.execute(
            INSERT_SQLITE,
            {
                "event_id": envelope.id,
                "stream_id": stream,
                "version": envelope.streamversion,
                "type": envelope.type,
                "case_id": envelope.caseid,
                "recorded_at": format_time(NOW),
                "envelope": body,
                "hash": envelope.hash,
            },
        )
        # The outbox row: the kernel schema's trigger writes it, for the raw command as for ours.
        conn.execute(UPSERT_SQLITE, (stream, 1))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


async def raw_pg_command(conn: Any, stream: str) -> None:
    """What our command does to the database, in plain asyncpg (its statement cache on)."""
    async with conn.transaction():
        head = await conn.fetchrow(HEAD_PG, stream)
        version, prevhash = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
        envelope, body = sealed_counted(stream, version, prevhash)
        await conn.execute(
            INSERT_PG,
            envelope.id,
            stream,
            envelope.streamversion,
            envelope.type,
            envelope.caseid,
            format_time(NOW),
            body,
            envelope.hash,
        )
        # The outbox row: the kernel schema's trigger writes it, for the raw command as for ours.
        await conn.execute(UPSERT_PG, stream, 1)


def signing_us_per_event(n: int = 300) -> float:
    """What ours does on top of the raw command's sealing: the Ed25519 signature."""
    key = signer("toy")
    envelopes = [sealed_counted(f"sig-{i}", 1, GENESIS)[0] for i in range(n)]
    started = time.process_time()
    for envelope in envelopes:
        key.sign(envelope)
    return round((time.process_time() - started) / n * 1e6, 1)


async def sqlite_ratio(env: Env) -> tuple[Figure, Figure]:
    """(append_sqlite_ratio, append_sqlite_cpu_ratio)."""
    n = env.sizes.append_sqlite
    batch = itertools.count()
    async with (
        env.sqlite("append-ours") as ours,
        env.sqlite("append-raw") as raw_db,
        env.sqlite("append-floor") as floor_db,
    ):
        for db in (ours, raw_db):
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        raw = sqlite_connect(sqlite_file(raw_db))
        floor = sqlite_connect(sqlite_file(floor_db))

        async def ours_round() -> tuple[int, float, float]:
            streams = await prepare(ours, f"s{next(batch)}", n)
            return (await run_commands(ours, streams, 1, read_model=True)).done(n)

        async def raw_round() -> tuple[int, float, float]:
            streams = await prepare(raw_db, f"r{next(batch)}", n)
            with Stopwatch() as watch:
                for stream in streams:
                    raw_sqlite_command(raw, stream)
            return watch.done(n)

        async def floor_round() -> tuple[int, float, float]:
            rows = event_rows(f"f{next(batch)}", n)
            with Stopwatch() as watch:
                for row in rows:
                    floor.execute("BEGIN IMMEDIATE")
                    floor.execute(INSERT_SQLITE, row)
                    floor.execute("COMMIT")
            return watch.done(n)

        try:
            rates = await interleave(
                {
                    "executor": ours_round,
                    "sqlite3_command": raw_round,
                    "sqlite3_insert": floor_round,
                },
                env.sizes.rounds,
            )
        finally:
            raw.close()
            floor.close()
    raw_figures = {
        "commands_per_s": rates["executor"],
        "raw_commands_per_s": rates["sqlite3_command"],
        "floor_single_insert_per_s": rates["sqlite3_insert"],
        "ratio_to_floor": paired(rates, "executor", "sqlite3_insert"),
        "cpu_us_per_op": cpu_per_op(rates, "executor", "sqlite3_command"),
        "signing_us_per_event": signing_us_per_event(),
        "commands_per_round": n,
    }
    return (
        (paired(rates, "executor", "sqlite3_command"), raw_figures),
        (paired_cpu(rates, "executor", "sqlite3_command"), raw_figures),
    )


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
        for db in (setup, raw_db):
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        async with raw_db.engine.connect() as conn:
            raw_schema = str((await conn.execute(text("SELECT current_schema()"))).scalar())

        async def ours_round() -> tuple[int, float, float]:
            streams = await prepare(setup, f"s{next(batch)}", n)
            # An engine per round, disposed before the counters are read: a backend reports
            # its statistics when it exits, so nothing of the round is left unreported.
            db = open_database(url, schema=ours_schema, pool_size=WRITERS)
            async with db.engine.connect() as warm:  # open the pool outside the timing
                await warm.execute(text("SELECT 1"))
            await asyncio.sleep(0.3)
            syncs_before, commits_before = await _pg_counters(admin)
            watch = await run_commands(db, streams, WRITERS, read_model=True)
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
            return watch.done(n)

        pool = await asyncpg.create_pool(
            dsn,
            min_size=WRITERS,
            max_size=WRITERS,
            server_settings={"search_path": raw_schema},
        )

        async def raw_commands(on: Any, streams: list[str]) -> Stopwatch:
            async def writer(mine: list[str]) -> None:
                async with on.acquire() as conn:
                    for stream in mine:
                        await raw_pg_command(conn, stream)

            with Stopwatch() as watch:
                await asyncio.gather(*(writer(streams[w::WRITERS]) for w in range(WRITERS)))
            return watch

        async def raw_round() -> tuple[int, float, float]:
            streams = await prepare(raw_db, f"r{next(batch)}", n)
            return (await raw_commands(pool, streams)).done(n)

        async def raw_syncs() -> dict[str, float]:
            """The WAL-sync count over a raw round (not timed: its pool is its own, closed
            before the counters are read so that every backend has reported)."""
            streams = await prepare(raw_db, f"w{next(batch)}", n + WRITERS)
            own = await asyncpg.create_pool(
                dsn, min_size=WRITERS, max_size=WRITERS, server_settings={"search_path": raw_schema}
            )
            await raw_commands(own, streams[:WRITERS])  # statements prepared on every connection
            await asyncio.sleep(0.3)
            syncs_before, commits_before = await _pg_counters(admin)
            await raw_commands(own, streams[WRITERS:])
            await own.close()
            await asyncio.sleep(0.3)
            syncs_after, commits_after = await _pg_counters(admin)
            return {
                "wal_syncs": syncs_after - syncs_before,
                "xact_commits": commits_after - commits_before,
            }

        try:
            rates = await interleave(
                {"executor_8w": ours_round, "asyncpg_8w": raw_round}, env.sizes.rounds
            )
            raw_wal = [await raw_syncs() for _ in range(env.sizes.rounds)]
        finally:
            await pool.close()
            await setup.dispose()
            await admin.close()
    measured = wal[1:]  # the warm-up round is dropped, as for the rates
    raw_per_commit = [w["wal_syncs"] / w["xact_commits"] for w in raw_wal if w["xact_commits"]]
    per_commit = [w["wal_syncs"] / w["xact_commits"] for w in measured if w["xact_commits"]]
    per_command = [w["wal_syncs"] / w["our_commands"] for w in measured]
    append = (
        paired(rates, "executor_8w", "asyncpg_8w"),
        {
            "commands_per_s": rates["executor_8w"],
            "raw_commands_per_s": rates["asyncpg_8w"],
            "cpu_us_per_op": cpu_per_op(rates, "executor_8w", "asyncpg_8w"),
            "writers": WRITERS,
            "commands_per_round": n,
        },
    )
    syncs = (
        round(statistics.median(per_commit), 3) if per_commit else None,
        {
            "rounds": measured,
            "wal_syncs_per_our_command": round(statistics.median(per_command), 3),
            # The same count over the raw asyncpg rounds: how much group commit the server
            # gives eight writers that send their statements as fast as a client can.
            "asyncpg_baseline_wal_syncs_per_commit": (
                round(statistics.median(raw_per_commit), 3) if raw_per_commit else None
            ),
            "asyncpg_baseline_rounds": raw_wal,
            "note": "pg_stat_wal is cluster-wide and xact_commit database-wide: other "
            "sessions on the same server during the round are counted in both",
        },
    )
    return append, syncs
