"""Deadlines as events: a service's scheduler asks, on every tick, what has fallen due.

The tick runs every `interval` seconds and at once whenever the shared development clock is
moved, so a five-year life can be played in seconds. A tick must be idempotent: it issues
commands whose deciders answer `[]` for what is already done.

Of a service's replicas only one ticks: the one holding the scheduler's `Lease` (PostgreSQL;
on SQLite the one process always does). The others wake as it does and stand by, and the
first of them to find the lease free on a later wake-up takes over, so a leader that dies is
replaced within `interval` seconds. Idempotent ticks make a second ticker harmless, not free:
each of its commands would be decided again, conflict on PostgreSQL and be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from shared.clock import WatchableClock
from shared.lease import Lease
from shared.logging import get_logger

log = get_logger(__name__)

#: The scheduler's advisory lock ("hzsc"; the relay's is "hzob").
LEASE_KEY = 0x687A7363

Tick = Callable[[datetime], Awaitable[Any]]


async def run_scheduler(
    clock: WatchableClock,
    tick: Tick,
    stop: asyncio.Event,
    interval: float = 5.0,
    lease: Lease | None = None,
) -> None:
    """Tick until `stop` is set; with a `lease`, only while holding it (given up at the end)."""
    try:
        await _run(clock, tick, stop, interval, lease)
    finally:
        if lease is not None:
            with contextlib.suppress(Exception):  # its session ends with the process anyway
                await lease.release()


async def _run(
    clock: WatchableClock, tick: Tick, stop: asyncio.Event, interval: float, lease: Lease | None
) -> None:
    while not stop.is_set():
        # Listen before ticking: a jump of the clock during the tick must wake the next one.
        changed = asyncio.ensure_future(clock.wait_changed())
        try:
            if lease is None or await lease.hold():
                await tick(clock.now())
        except Exception:  # a failed tick is retried on the next one; never kill the loop
            log.exception("scheduler tick failed")
        stopped = asyncio.ensure_future(stop.wait())
        _done, waiting = await asyncio.wait(
            {changed, stopped}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
        )
        for task in waiting:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
