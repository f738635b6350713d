"""`python -m bench.profile GROUP ...`: cProfile of OUR side of a figure, top entries.

The profile covers the event loop's thread only. With `--timer cpu` (the default) it counts
that thread's CPU time (`time.thread_time`), so waiting is not counted; the header gives the
loop thread's CPU, the whole process's CPU (`process_time`: aiosqlite's worker thread and
the drivers' threads too) and the wall time of the profiled section. `--timer wall` counts
wall time instead (waits included: `epoll.poll` is the loop idle, `SimpleQueue.put_nowait`
the hand-off to aiosqlite's thread, which blocks until that thread lets go of the GIL).
Sizes are small and fixed; the figures themselves come from `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from shared.logging import configure_logging
from shared.store import EventStore
from shared.tests.toy import metadata, registry

from . import append, messaging, rebuild
from .common import Env, Sizes, open_streams, postgres_url


class Profile(cProfile.Profile):
    """cProfile that also adds up the loop thread's and the process's CPU and the wall time
    of the sections it profiles."""

    def __init__(self, timer: Callable[[], float]) -> None:
        super().__init__(timer)
        self.thread_cpu = self.process_cpu = self.wall = 0.0

    def enable(self, *args: object, **kwargs: object) -> None:
        self._marks = (time.thread_time(), time.process_time(), time.perf_counter())
        super().enable()

    def disable(self) -> None:
        super().disable()
        thread, process, wall = self._marks
        self.thread_cpu += time.thread_time() - thread
        self.process_cpu += time.process_time() - process
        self.wall += time.perf_counter() - wall


Profiled = Callable[[Env, Profile], Awaitable[str]]


async def _append_sqlite(env: Env, prof: Profile) -> str:
    async with env.sqlite("profile-append") as db:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await append.run_commands(db, await append.prepare(db, "w", 20), 1, read_model=True)
        streams = await append.prepare(db, "p", 300)
        prof.enable()
        await append.run_commands(db, streams, 1, read_model=True)
        prof.disable()
    return "300 Count commands, one writer, SQLite, with the totals projection"


async def _append_postgres(env: Env, prof: Profile) -> str:
    async with env.postgres("profile_append", pool_size=append.WRITERS) as db:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        streams = await append.prepare(db, "p", 400)
        prof.enable()
        await append.run_commands(db, streams, append.WRITERS, read_model=True)
        prof.disable()
    return "400 Count commands, 8 writers, PostgreSQL, with the totals projection"


async def _read(env: Env, prof: Profile) -> str:
    async with env.sqlite("profile-read") as db:
        await open_streams(db, "r", 1000, per_stream=10)
        store = EventStore(db, "toy")
        prof.enable()
        async for envelope in store.iterate_all(batch=2000):
            registry.decode(envelope.type, envelope.data)
        prof.disable()
    return "EventStore.iterate_all of 10,000 events, each decoded, SQLite"


async def _rebuild(env: Env, prof: Profile) -> str:
    async with env.sqlite("profile-rebuild") as db:
        await open_streams(db, "s", 1500, per_stream=10)
        up_to = await EventStore(db, "toy").last_position()
        prof.enable()
        await rebuild.rebuild_rate(db, 1, up_to)
        prof.disable()
    return "shared.projection.replay of 15,000 events (three pages), SQLite"


async def _consume(env: Env, prof: Profile) -> str:
    from nats.aio.msg import Msg

    from shared.consumer import Consumer, Subscription
    from shared.testkit.keys import trust

    class Profiled(Consumer):
        async def handle(self, messages: list[Msg]) -> list[str]:
            prof.enable()
            try:
                return await super().handle(messages)
            finally:
                prof.disable()

    n = 1000
    async with messaging.connected(env) as (_, js), env.sqlite("profile-consume") as db:
        await messaging.publish_upstream(js, "up", n, per_stream=5)
        subscription = Subscription("bench-up", "up", {"Happened": messaging._noop})
        consumer = Profiled(db, js, subscription, trust=trust())
        await consumer.start()
        done = 0
        while done < n:
            outcomes = await consumer.fetch_and_process(wait=2.0)
            done += outcomes.count("applied")
            if not outcomes:
                break
        await consumer.stop()
    return f"Consumer.handle of {n} messages in batches of 64, SQLite (no-op handler)"


async def _relay(env: Env, prof: Profile) -> str:
    from shared.edge import jetstream, new_broker
    from shared.outbox import OutboxRelay

    broker = new_broker(env.nats_url, "bench-profile")
    await broker.connect()
    async with messaging.connected(env), env.sqlite("profile-relay") as db:
        await open_streams(db, "s", 1000)
        relay = OutboxRelay(db, jetstream(broker))
        prof.enable()
        await relay.drain_once()
        prof.disable()
        await relay.close()
    await broker.stop()
    return "OutboxRelay.drain_once of 1,000 events (one per stream), SQLite"


async def _http(env: Env, prof: Profile) -> str:
    from datetime import UTC, datetime

    import httpx
    import nats

    from services.application.main import spec
    from shared.clock import set_clock
    from shared.testkit.service import TestEnvironment, running_service

    from .http import CALL, Discard, served

    nc = await nats.connect(env.nats_url)
    try:
        await set_clock(nc.jetstream(), datetime(2022, 3, 1, 2, 0, tzinfo=UTC))
    finally:
        await nc.close()
    folder = env.path("profile-http")
    test_env = TestEnvironment(f"sqlite:///{folder / 'application.db'}", None, env.nats_url, folder)
    n = 200
    async with running_service(spec(), test_env) as svc, served(svc.app) as url:
        configure_logging(json=True, level="INFO", stream=Discard())
        officer = svc.auth("province_reviewer", user="bench", jurisdictions=["53"])
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for i in range(-20, n):
                if i == 0:
                    prof.enable()
                await client.post(
                    "/calls",
                    json={**CALL, "title": f"申报 {i}"},
                    headers={**officer, "Idempotency-Key": f"p-{i}"},
                )
            prof.disable()
        configure_logging(json=False, level="WARNING")
    return f"{n} POST /calls under uvicorn in this process (client, server and relay together)"


PROFILES: dict[str, tuple[bool, Profiled]] = {
    "http": (False, _http),
    "append": (False, _append_sqlite),
    "append_pg": (True, _append_postgres),
    "read": (False, _read),
    "rebuild": (False, _rebuild),
    "consume": (False, _consume),
    "relay": (False, _relay),
}


async def run(names: list[str], top: int, wall: bool, sort: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="haizhi-profile-"))
    env = Env(workdir, Sizes(), postgres_url())
    try:
        for name in names:
            needs_pg, profiled = PROFILES[name]
            if needs_pg and env.pg_url is None:
                print(f"## {name}: needs BENCH_DATABASE_URL\n")
                continue
            env.close()
            prof = Profile(time.perf_counter if wall else time.thread_time)
            what = await profiled(env, prof)
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).strip_dirs()
            stats.sort_stats(sort).print_stats(top)
            print(f"## {name}: {what}\n")
            print(
                f"timer: {'wall' if wall else 'loop thread CPU'}; loop thread CPU "
                f"{prof.thread_cpu * 1000:.0f} ms, process CPU {prof.process_cpu * 1000:.0f} ms, "
                f"wall {prof.wall * 1000:.0f} ms (profiler overhead included)"
            )
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
            print()
    finally:
        env.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("groups", nargs="+", choices=list(PROFILES))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--timer", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--sort", choices=["tottime", "cumulative"], default="tottime")
    args = parser.parse_args()
    configure_logging(json=False, level="WARNING")
    logging.getLogger("nats").setLevel(logging.ERROR)
    asyncio.run(run(args.groups, args.top, args.timer == "wall", args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
