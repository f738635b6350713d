"""Deadlines as events: a service's scheduler asks, on every tick, what has fallen due.

The tick runs every `interval` seconds and at once whenever the shared development clock is
moved, so a five-year life can be played in seconds. A tick must be idempotent: it issues
commands whose deciders answer `[]` for what is already done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from shared.clock import WatchableClock
from shared.logging import get_logger

log = get_logger(__name__)

Tick = Callable[[datetime], Awaitable[Any]]


async def run_scheduler(
    clock: WatchableClock, tick: Tick, stop: asyncio.Event, interval: float = 5.0
) -> None:
    while not stop.is_set():
        # Listen before ticking: a jump of the clock during the tick must wake the next one.
        changed = asyncio.ensure_future(clock.wait_changed())
        try:
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
