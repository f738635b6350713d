"""How cost grows with the number of events: one table, a row per size.

For each size N, a fresh SQLite store holding one stream of N events (written through the
Executor with snapshots every 100) is measured for:
- load_ms / load_snapshot_ms: Executor.load of that stream without / with snapshots;
- command_ms: one Count command on that stream, with snapshots (load, decide, append);
- read_all_per_s: EventStore.iterate_all of the whole log, each event decoded;
- rebuild_per_s: shared.projection.replay of the toy projection over the whole log.
Medians of a few repetitions.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from shared.store import EventStore
from shared.tests.toy import Count, registry

from .common import CTX, Env, executor
from .load import build_stream, load_times, many, snapshotted
from .rebuild import rebuild_rate


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


async def table(env: Env) -> dict[str, Any]:
    rows = []
    for n in env.sizes.growth:
        async with env.sqlite(f"growth-{n}") as db:
            fast = snapshotted(db)
            plain = executor(db)
            await build_stream(fast, "long", n)
            repeats = 5 if n <= 10_000 else 3
            load_ms = _median_ms([w for w, _ in await load_times(plain, "long", repeats)])
            snap_ms = _median_ms([w for w, _ in await load_times(fast, "long", repeats)])
            commands = []
            for _ in range(repeats):
                started = time.perf_counter()
                await fast.execute(many, "long", Count("long", 1), ctx=CTX)
                commands.append(time.perf_counter() - started)
            store = EventStore(db, "toy")
            reads = []
            for _ in range(3):
                started = time.perf_counter()
                count = 0
                async for envelope in store.iterate_all():
                    registry.decode(envelope.type, envelope.data)
                    count += 1
                reads.append(count / (time.perf_counter() - started))
            up_to = await store.last_position()
            rebuilds = []
            if n <= env.sizes.growth_rebuild_max:
                for k in range(1 if n >= 10_000 else 3):
                    applied, seconds, _ = await rebuild_rate(db, 1000 + k, up_to)
                    rebuilds.append(applied / seconds)
            rows.append(
                {
                    "events": n,
                    "load_ms": load_ms,
                    "load_snapshot_ms": snap_ms,
                    "command_ms": _median_ms(commands),
                    "read_all_per_s": round(statistics.median(reads)),
                    "rebuild_per_s": round(statistics.median(rebuilds)) if rebuilds else None,
                }
            )
    header = (
        f"{'events':>8} {'load ms':>9} {'load+snap ms':>12} {'command ms':>10} "
        f"{'read/s':>9} {'rebuild/s':>9}"
    )
    lines = [header] + [
        f"{r['events']:>8} {r['load_ms']:>9} {r['load_snapshot_ms']:>12} {r['command_ms']:>10} "
        f"{r['read_all_per_s']:>9} {r['rebuild_per_s'] or '—':>9}"
        for r in rows
    ]
    return {"rows": rows, "lines": lines}
