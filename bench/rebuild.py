"""Rebuilding a read model from the log.

rebuild_ratio     shared.projection.replay of the toy totals projection into fresh tables
                  (its set-wise `apply_many`), pages of `REBUILD_PAGE` events a transaction,
                  events/s ÷ raw select-and-decode/s (sqlite3: the same rows in pages of the
                  same size, `json.loads` of the whole envelope as ours parses it, then
                  registry.decode of its data), on one SQLite log of at least three pages.
rebuild_vs_naive  replay ÷ the same projection applied with one commit per event (measured
                  over a tenth of the log: its rate does not depend on the log's length).
The log: streams of ten events (an Opened, nine Counted), so a tenth of the projection's
writes are inserts and the rest updates.
"""

from __future__ import annotations

import itertools
import json

from sqlalchemy import MetaData

from shared.db import Database
from shared.projection import REBUILD_PAGE, replay
from shared.store import EventStore
from shared.tests.toy import TotalsProjection, registry, totals

from .common import (
    Env,
    Figure,
    Stopwatch,
    cpu_per_op,
    interleave,
    open_streams,
    paired,
    sqlite_connect,
    sqlite_file,
)

PAGE = REBUILD_PAGE


def scratch_projection(k: int) -> tuple[TotalsProjection, MetaData]:
    scratch = MetaData()
    copy = totals.to_metadata(scratch, name=f"bench_totals_{k}")
    return TotalsProjection({"toy_totals": copy}), scratch


async def rebuild_rate(db: Database, k: int, up_to: int) -> tuple[int, float, float]:
    projection, scratch = scratch_projection(k)
    async with db.engine.begin() as conn:
        await conn.run_sync(scratch.create_all)
    with Stopwatch() as watch:
        applied = await replay(db, registry, [projection], up_to, batch=PAGE)
    async with db.engine.begin() as conn:
        await conn.run_sync(scratch.drop_all)
    return watch.done(applied)


async def figures(env: Env) -> tuple[Figure, Figure]:
    n = max(env.sizes.rebuild, 3 * PAGE)  # at least three pages
    naive_n = max(100, n // 10)
    scratch_ids = itertools.count()
    async with env.sqlite("rebuild") as db:
        await open_streams(db, "s", n // 10, per_stream=10)
        store = EventStore(db, "toy")
        up_to = await store.last_position()
        raw = sqlite_connect(sqlite_file(db))

        async def rebuild() -> tuple[int, float, float]:
            return await rebuild_rate(db, next(scratch_ids), up_to)

        async def select_and_decode() -> tuple[int, float, float]:
            after, count, pages = 0, 0, 0
            with Stopwatch() as watch:
                while True:
                    rows = raw.execute(
                        "SELECT position, envelope FROM events WHERE position > ? "
                        "ORDER BY position LIMIT ?",
                        (after, PAGE),
                    ).fetchall()
                    if not rows:
                        break
                    for _, text in rows:
                        attributes = json.loads(text)  # the whole envelope, as ours parses it
                        registry.decode(attributes["type"], attributes["data"])
                    count += len(rows)
                    pages += 1
                    after = rows[-1][0]
            if pages < 3:
                raise AssertionError(f"the rebuild figure wants three pages or more, not {pages}")
            return watch.done(count)

        async def naive() -> tuple[int, float, float]:
            projection, scratch = scratch_projection(next(scratch_ids))
            async with db.engine.begin() as conn:
                await conn.run_sync(scratch.create_all)
            page = await store.read_all(0, naive_n)
            with Stopwatch() as watch:
                for envelope in page:
                    async with db.engine.begin() as conn:
                        event = registry.decode(envelope.type, envelope.data)
                        await projection.apply(conn, envelope, event)
            async with db.engine.begin() as conn:
                await conn.run_sync(scratch.drop_all)
            return watch.done(len(page))

        try:
            rates = await interleave(
                {"replay": rebuild, "select_and_decode": select_and_decode, "naive": naive},
                env.sizes.rounds,
            )
        finally:
            raw.close()
    shared_raw = {
        "events_per_s": rates,
        "log_events": n,
        "pages": -(-n // PAGE),
        "page": PAGE,
        "naive_events": naive_n,
    }
    return (
        (
            paired(rates, "replay", "select_and_decode"),
            {**shared_raw, "cpu_us_per_op": cpu_per_op(rates, "replay", "select_and_decode")},
        ),
        (
            paired(rates, "replay", "naive", 1),
            {**shared_raw, "cpu_us_per_op": cpu_per_op(rates, "replay", "naive")},
        ),
    )
