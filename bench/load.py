"""Loading a long stream: with snapshots, the cost of a load stops growing with the stream.

load_10k_vs_100  median time of Executor.load of a 10,099-event stream ÷ of a 199-event
                 stream, the toy tally with snapshots every 100 events (shared.snapshot),
                 SQLite: both end 99 events past their last snapshot (10,000 and 100), the
                 worst offset, so each load reads one snapshot and folds 99 events. Both
                 streams are written through the Executor, whose appends write the snapshots.
                 `raw` also gives 10,000 ÷ 100 (loads ending on a snapshot), the same without
                 snapshots, and the CPU µs per load of each side.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import text

from shared.db import Database
from shared.decider import Decider
from shared.snapshot import Snapshotting
from shared.tests.toy import Count, Counted, Open, Opened, Tally, decide, evolve, tally
from shared.usecase import Executor

from .common import CTX, Env, Figure, Stopwatch, executor, ratio

EVERY = 100
APPEND = 100  # events per command while building a stream


@dataclass(frozen=True)
class CountMany:
    """A bench-only command: `times` Counted events at once, to build long streams quickly."""

    tally_id: str
    times: int


def decide_many(command: Open | Count | CountMany, state: Tally) -> list[Opened | Counted]:
    if isinstance(command, CountMany):
        return [Counted(command.tally_id, 1) for _ in range(command.times)]
    return decide(command, state)


#: The toy tally's evolve and state, with a decide that can append many events at once.
many = Decider(decide=decide_many, evolve=evolve, initial_state=Tally)


def snapshotting() -> Snapshotting[Tally]:
    return Snapshotting(TypeAdapter(Tally), every=EVERY)


def snapshotted(db: Database) -> Executor:
    how = snapshotting()
    return executor(db, snapshots={many: how, tally: how})


async def build_stream(ex: Executor, stream_id: str, length: int) -> None:
    """A stream of `length` events: Opened, then Counted events, `APPEND` per command."""
    await ex.execute(many, stream_id, Open(stream_id, "long"), ctx=CTX, case_id=stream_id)
    version = 1
    while version < length:
        times = min(APPEND - version % APPEND or APPEND, length - version)
        await ex.execute(many, stream_id, CountMany(stream_id, times), ctx=CTX)
        version += times


async def load_times(ex: Executor, stream_id: str, repeats: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of `repeats` loads."""
    out = []
    for _ in range(repeats):
        with Stopwatch() as watch:
            await ex.load(many, stream_id)
        out.append((watch.seconds, watch.cpu))
    return out


async def compare(ex: Executor, long: str, short: str, repeats: int) -> dict[str, Any]:
    await load_times(ex, long, 2)  # warm-up
    await load_times(ex, short, 2)
    longs: list[tuple[float, float]] = []
    shorts: list[tuple[float, float]] = []
    for _ in range(repeats):  # interleaved, one at a time
        longs += await load_times(ex, long, 1)
        shorts += await load_times(ex, short, 1)
    long_ms = statistics.median(w for w, _ in longs) * 1000
    short_ms = statistics.median(w for w, _ in shorts) * 1000
    return {
        "long_ms": round(long_ms, 3),
        "short_ms": round(short_ms, 3),
        "ratio": ratio(long_ms, short_ms, 2),
        "cpu_us_per_op": {
            "ours": round(statistics.median(c for _, c in longs) * 1e6, 1),
            "baseline": round(statistics.median(c for _, c in shorts) * 1e6, 1),
            "note": "ours: the long stream's load; baseline: the short stream's",
        },
    }


async def snapshot_version(db: Database, stream_id: str) -> int | None:
    async with db.engine.connect() as conn:
        value = (
            await conn.execute(
                text("SELECT max(version) FROM snapshots WHERE stream_id = :s"), {"s": stream_id}
            )
        ).scalar()
    return None if value is None else int(value)


async def load_ratio(env: Env) -> Figure:
    repeats = env.sizes.load_repeats
    async with env.sqlite("load") as db:
        ex = snapshotted(db)
        for stream_id, length in (
            ("s-10099", 10_099),
            ("s-199", 199),
            ("s-10000", 10_000),
            ("s-100", 100),
        ):
            await build_stream(ex, stream_id, length)
        snapshots = {s: await snapshot_version(db, s) for s in ("s-10099", "s-199")}
        if snapshots != {"s-10099": 10_000, "s-199": 100}:
            raise AssertionError(f"the streams' last snapshots are not where meant: {snapshots}")
        worst = await compare(ex, "s-10099", "s-199", repeats)
        on_snapshot = await compare(ex, "s-10000", "s-100", repeats)
        without = await compare(executor(db), "s-10099", "s-199", max(3, repeats // 3))
        state = (await ex.load(many, "s-10099")).state
        folded = (await executor(db).load(many, "s-10099")).state
        if state != folded:
            raise AssertionError(f"snapshot load {state} differs from the fold {folded}")
    return worst["ratio"], {
        "with_snapshots_10099_vs_199": worst,
        "cpu_us_per_op": worst["cpu_us_per_op"],
        "last_snapshot_at": snapshots,
        "with_snapshots_10000_vs_100": on_snapshot,
        "without_snapshots_10099_vs_199": without,
        "snapshot_every": EVERY,
        "database": "sqlite",
    }
