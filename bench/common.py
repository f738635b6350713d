"""What every figure shares: sizes, databases, NATS, timing and the toy aggregate's data."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from shared.clock import FixedClock
from shared.db import Database, open_database
from shared.envelope import GENESIS, Envelope, format_time, new_id
from shared.migrate import upgrade
from shared.nats_server import EmbeddedNats, free_port
from shared.store import EventStore, Metadata, PendingEvent
from shared.testkit.keys import signer
from shared.tests.toy import Counted, Opened, registry
from shared.usecase import CommandContext, Executor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CTX = CommandContext(actor="bench", correlation_id="bench")
META = Metadata(case_id="bench-case", actor="bench", correlation_id="bench")

#: (value, raw figures behind it): every figure module returns these.
Figure = tuple[float | None, dict[str, Any]]


@dataclass(frozen=True)
class Sizes:
    """How much each figure does per round; `--full` multiplies most by about five."""

    rounds: int = 4  # measured rounds after one warm-up round
    append_sqlite: int = 250  # commands per round, one writer
    append_postgres: int = 400  # commands per round, spread over 8 writers
    peer_append: int = 150  # commands per round, one writer, each library
    peer_read: int = 8_000  # events in the log read in full
    relay: int = 600  # events relayed per round
    consume: int = 300  # messages consumed per round
    rebuild: int = 15_000  # events replayed per round (three pages of REBUILD_PAGE)
    lag_samples: int = 2_000  # commit-to-read-model samples, each side
    http: int = 100  # requests per round
    load_repeats: int = 15  # loads timed per stream
    growth: tuple[int, ...] = (100, 1_000, 10_000)  # log / stream sizes for the growth table
    growth_rebuild_max: int = 1_000  # the growth table's rebuild column up to this size
    console_seconds: float = 8.0  # seconds per round of the console's 20 users, each side

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            rounds=6,
            append_sqlite=1_000,
            append_postgres=4_000,
            peer_append=1_500,
            peer_read=100_000,
            relay=10_000,
            consume=3_000,
            rebuild=20_000,
            lag_samples=5_000,
            http=1_000,
            load_repeats=30,
            growth=(100, 1_000, 10_000, 100_000),
            growth_rebuild_max=100_000,
            console_seconds=20.0,
        )


def postgres_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or None


@dataclass
class Env:
    """One run's scratch folder, sizes, PostgreSQL (if configured) and embedded NATS."""

    workdir: Path
    sizes: Sizes
    pg_url: str | None = None
    run_id: str = field(default_factory=lambda: new_id().lower()[-10:])
    _nats: EmbeddedNats | None = None
    _counter: int = 0

    def path(self, name: str) -> Path:
        self._counter += 1
        folder = self.workdir / f"{self._counter:02d}-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def nats_url(self) -> str:
        """The embedded NATS of the current figure (a fresh server and store per figure)."""
        if self._nats is None:
            self._nats = EmbeddedNats(self.path("nats"), port=free_port()).start()
        return self._nats.url_as()  # the operator: benchmarks set up and tear down freely

    def close(self) -> None:
        if self._nats is not None:
            self._nats.stop()
            self._nats = None

    @contextlib.asynccontextmanager
    async def sqlite(self, name: str) -> AsyncIterator[Database]:
        """A fresh, migrated SQLite database with the kernel's settings."""
        db = open_database(f"sqlite:///{self.path(name) / 'store.db'}")
        try:
            await upgrade(db)
            yield db
        finally:
            await db.dispose()

    @contextlib.asynccontextmanager
    async def pg_schema(self, name: str) -> AsyncIterator[str]:
        """A PostgreSQL schema of this run's own, dropped afterwards."""
        assert self.pg_url is not None
        schema = f"bench_{self.run_id}_{name}"
        admin = open_database(self.pg_url)
        try:
            async with admin.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            yield schema
        finally:
            async with admin.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin.dispose()

    @contextlib.asynccontextmanager
    async def postgres(self, name: str, pool_size: int = 10) -> AsyncIterator[Database]:
        """A migrated PostgreSQL database in a schema of its own."""
        assert self.pg_url is not None
        async with self.pg_schema(name) as schema:
            db = open_database(self.pg_url, schema=schema, pool_size=pool_size)
            try:
                await upgrade(db)
                yield db
            finally:
                await db.dispose()


def executor(db: Database, store: EventStore | None = None, **kw: Any) -> Executor:
    store = EventStore(db, "toy", signer("toy")) if store is None else store
    return Executor(db, store, registry, FixedClock(NOW), **kw)


# ---------------------------------------------------------------------------- data


def opened(i: int | str) -> PendingEvent:
    event = Opened(f"t{i}", f"tally {i} 海智")
    return PendingEvent(registry.type_of(event), registry.encode(event))


def counted(i: int | str, by: int = 1) -> PendingEvent:
    event = Counted(f"t{i}", by)
    return PendingEvent(registry.type_of(event), registry.encode(event))


async def open_streams(
    db: Database, prefix: str, n: int, per_stream: int = 1, store: EventStore | None = None
) -> list[str]:
    """Streams `prefix-0..n-1`, each with an Opened and `per_stream - 1` Counted events.

    Written in a few large transactions: setting the scene is not what is measured.
    """
    store = EventStore(db, "toy", signer("toy")) if store is None else store
    ids = [f"{prefix}-{i}" for i in range(n)]
    for start in range(0, n, 500):
        async with db.engine.begin() as conn:
            for i in range(start, min(n, start + 500)):
                pending = [opened(i)] + [counted(i) for _ in range(per_stream - 1)]
                await store.append(conn, ids[i], 0, pending, META, NOW)
    return ids


def event_rows(prefix: str, n: int, version: int = 2) -> list[dict[str, Any]]:
    """Rows of `events` exactly as the store writes them: sealed envelopes, hashes and all."""
    rows = []
    for i in range(n):
        pending = counted(i)
        envelope = Envelope(
            id=new_id(),
            source="/haizhi/toy",
            type=pending.type,
            subject=f"{prefix}-{i}",
            time=NOW,
            data=pending.data,
            streamversion=version,
            caseid=META.case_id,
            correlationid=META.correlation_id,
            causationid=None,
            actor=META.actor,
            policyversion=None,
            prevhash=GENESIS,
            hash="",
        ).sealed()
        rows.append(
            {
                "event_id": envelope.id,
                "stream_id": envelope.subject,
                "version": version,
                "type": envelope.type,
                "case_id": envelope.caseid,
                "recorded_at": format_time(NOW),
                "envelope": envelope.to_json().decode("utf-8"),
                "hash": envelope.hash,
            }
        )
    return rows


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A raw sqlite3 connection with exactly the kernel's pragmas (shared.db)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "busy_timeout=30000",
        "foreign_keys=ON",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def sqlite_file(db: Database) -> Path:
    database = db.engine.url.database
    assert database is not None
    return Path(database)


# ---------------------------------------------------------------------------- timing

#: A trial's round: (operations, wall seconds) or (operations, wall seconds, CPU seconds).
Done = tuple[int, float] | tuple[int, float, float]
Round = Callable[[], Awaitable[Done]]


class Stopwatch:
    """Wall time (`perf_counter`) and CPU time (`process_time`: every thread of this process,
    so aiosqlite's worker, the event loop and any in-process server alike) of a block."""

    seconds: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu

    def done(self, operations: int) -> tuple[int, float, float]:
        return operations, self.seconds, self.cpu


async def interleave(trials: Mapping[str, Round], rounds: int, warmup: int = 1) -> dict[str, Any]:
    """Run each trial once per round, alternating their order; one warm-up round is dropped.

    A trial returns (operations, seconds[, cpu seconds]). Returns each trial's rates
    (operations/s), their median and, when the trial timed its CPU, the CPU µs per operation
    of each round and their median: the trials of one round share the machine's mood of that
    moment. Each trial starts on a collected heap (`gc.collect()`, untimed), so a full
    collection owed to the previous trial's garbage does not land in the next one's timing.
    """
    names = list(trials)
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            done = await trials[name]()
            if index >= warmup:
                rates[name].append(done[0] / done[1])
                if len(done) == 3:
                    cpu[name].append(done[2] / done[0] * 1e6)
    out: dict[str, Any] = {}
    for name, values in rates.items():
        out[name] = {
            "per_s": round(statistics.median(values), 1),
            "rounds": [round(v, 1) for v in values],
        }
        if cpu[name]:
            out[name]["cpu_us_per_op"] = round(statistics.median(cpu[name]), 1)
            out[name]["cpu_us_rounds"] = [round(v, 1) for v in cpu[name]]
    return out


def paired(rates: Mapping[str, Any], ours: str, base: str, digits: int = 3) -> float | None:
    """The median over rounds of ours ÷ base within each round: a round's two trials ran
    back to back, so they share the machine's load of that moment (other engineers' test
    runs come and go on the same two cores)."""
    pairs = [a / b for a, b in zip(rates[ours]["rounds"], rates[base]["rounds"], strict=True) if b]
    return round(statistics.median(pairs), digits) if pairs else None


def paired_cpu(rates: Mapping[str, Any], ours: str, base: str, digits: int = 3) -> float | None:
    """The median over rounds of ours' CPU µs per operation ÷ the baseline's, per round."""
    a, b = rates[ours].get("cpu_us_rounds"), rates[base].get("cpu_us_rounds")
    if not a or not b:
        return None
    pairs = [x / y for x, y in zip(a, b, strict=True) if y]
    return round(statistics.median(pairs), digits) if pairs else None


def cpu_per_op(rates: Mapping[str, Any], ours: str, base: str) -> dict[str, Any]:
    """What every figure's `raw` carries beside its ratio: CPU µs per operation, both sides."""
    return {
        "ours": rates[ours].get("cpu_us_per_op"),
        "baseline": rates[base].get("cpu_us_per_op"),
        "ours_trial": ours,
        "baseline_trial": base,
        "ratio": paired_cpu(rates, ours, base),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


def machine(pg_version: str | None) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None
