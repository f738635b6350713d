"""Loading a long stream: with snapshots, the cost of a load stops growing with the stream.

load_10k_vs_100  median time of Executor.load of a 10,000-event stream ÷ of a 100-event
                 stream, the toy tally with snapshots every 100 events (shared.snapshot),
                 SQLite. Both streams are written through the Executor, whose appends write
                 the snapshots. `raw` also gives the same ratio without snapshots, and one
                 between streams that end 50 events past their last snapshot.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from shared.db import Database
from shared.decider import Decider
from shared.snapshot import Snapshotting
from shared.tests.toy import Count, Counted, Open, Opened, Tally, decide, evolve, tally
from shared.usecase import Executor

from .common import CTX, Env, Figure, executor, ratio

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


async def load_times(ex: Executor, stream_id: str, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        await ex.load(many, stream_id)
        out.append(time.perf_counter() - started)
    return out


async def compare(ex: Executor, long: str, short: str, repeats: int) -> dict[str, Any]:
    await load_times(ex, long, 2)  # warm-up
    await load_times(ex, short, 2)
    longs: list[float] = []
    shorts: list[float] = []
    for _ in range(repeats):  # interleaved, one at a time
        longs += await load_times(ex, long, 1)
        shorts += await load_times(ex, short, 1)
    long_ms = statistics.median(longs) * 1000
    short_ms = statistics.median(shorts) * 1000
    return {
        "long_ms": round(long_ms, 3),
        "short_ms": round(short_ms, 3),
        "ratio": ratio(long_ms, short_ms, 2),
    }


async def load_ratio(env: Env) -> Figure:
    repeats = env.sizes.load_repeats
    async with env.sqlite("load") as db:
        ex = snapshotted(db)
        for stream_id, length in (
            ("s-10000", 10_000),
            ("s-100", 100),
            ("s-10050", 10_050),
            ("s-150", 150),
        ):
            await build_stream(ex, stream_id, length)
        with_snapshots = await compare(ex, "s-10000", "s-100", repeats)
        past_snapshot = await compare(ex, "s-10050", "s-150", repeats)
        without = await compare(executor(db), "s-10000", "s-100", max(3, repeats // 3))
        state = (await ex.load(many, "s-10000")).state
        folded = (await executor(db).load(many, "s-10000")).state
        if state != folded:
            raise AssertionError(f"snapshot load {state} differs from the fold {folded}")
    return with_snapshots["ratio"], {
        "with_snapshots_10000_vs_100": with_snapshots,
        "with_snapshots_10050_vs_150": past_snapshot,
        "without_snapshots_10000_vs_100": without,
        "snapshot_every": EVERY,
        "database": "sqlite",
    }
