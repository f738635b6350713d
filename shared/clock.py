"""The clock every rule's time comes from: the system's in production, a controllable one elsewhere.

In development and tests all four services share one clock, kept in the JetStream key-value
bucket `HAIZHI_CLOCK` under the key `now`, so advancing it by five years makes every service's
deadlines fire together. Its value is `{"offset_seconds": n}` (real time plus `n` seconds) or
`{"frozen_at": "<ISO 8601>"}` (time stands still until advanced). A missing key is real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from nats.errors import BadSubscriptionError, ConnectionClosedError
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from shared.logging import get_logger

BUCKET = "HAIZHI_CLOCK"
#: The JetStream stream behind the bucket.
CLOCK_STREAM = f"KV_{BUCKET}"
KEY = "now"
#: How often a service reads the clock's bucket besides watching it (`SharedDevClock`).
CHECK_SECONDS = 1.0

log = get_logger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class WatchableClock(Clock, Protocol):
    def wait_changed(self) -> Coroutine[Any, Any, bool]:
        """Completes at the next jump of the clock; bound to the moment it is called."""
        ...


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be timezone-aware")
    return instant.astimezone(UTC)


class _Changes:
    """A notification bound when asked for, so a jump between asking and awaiting is not lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wait(self) -> Coroutine[Any, Any, bool]:
        return self._event.wait()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


class SystemClock:
    """Production: the operating system's time. It never jumps."""

    def __init__(self) -> None:
        self._changes = _Changes()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait_changed(self) -> Coroutine[Any, Any, bool]:
        return self._changes.wait()


class FixedClock:
    """Unit tests: time stands still until set or advanced."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)
        self._changes = _Changes()

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _utc(at)
        self._changes.notify()

    def advance(self, delta: timedelta) -> datetime:
        self.set(self._at + delta)
        return self._at

    def wait_changed(self) -> Coroutine[Any, Any, bool]:
        return self._changes.wait()


@dataclass(frozen=True)
class ClockSetting:
    """The shared clock's stored value: an offset from real time, or a frozen instant."""

    offset: timedelta = timedelta(0)
    frozen_at: datetime | None = None

    def now(self) -> datetime:
        return self.frozen_at or datetime.now(UTC) + self.offset

    @classmethod
    def running(cls, offset: timedelta) -> ClockSetting:
        # Whole seconds are stored; rounding up keeps the clock from ever stepping back.
        return cls(offset=timedelta(seconds=math.ceil(offset.total_seconds())))

    def advanced(self, delta: timedelta) -> ClockSetting:
        if self.frozen_at is not None:
            return ClockSetting(frozen_at=self.frozen_at + delta)
        return ClockSetting.running(self.offset + delta)

    def encode(self) -> bytes:
        if self.frozen_at is not None:
            return json.dumps({"frozen_at": self.frozen_at.isoformat()}).encode()
        return json.dumps({"offset_seconds": int(self.offset.total_seconds())}).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> ClockSetting:
        if not value:
            return cls()
        stored = json.loads(value)
        if stored.get("frozen_at") is not None:
            return cls(frozen_at=_utc(datetime.fromisoformat(stored["frozen_at"])))
        return cls.running(timedelta(seconds=float(stored.get("offset_seconds", 0))))


async def _bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        # Creating an existing bucket with the same configuration is a no-op, so racing is safe.
        return await js.create_key_value(bucket=BUCKET, history=16, replicas=replicas)


async def ensure_clock(js: JetStreamContext, replicas: int) -> None:
    """The clock's bucket at `replicas` (the operator's: a service may only create it)."""
    await _bucket(js, replicas)
    info = await js.stream_info(CLOCK_STREAM)
    if info.config.num_replicas != replicas:
        await js.update_stream(info.config.evolve(num_replicas=replicas))


async def _read(kv: KeyValue) -> tuple[ClockSetting, int]:
    try:
        entry = await kv.get(KEY)
    except KeyNotFoundError:
        return ClockSetting(), 0
    return ClockSetting.decode(entry.value), entry.revision or 0


async def _replace(
    js: JetStreamContext, change: Callable[[ClockSetting], ClockSetting]
) -> datetime:
    """Compare-and-set, so two operators advancing at once both take effect."""
    kv = await _bucket(js)
    while True:
        current, revision = await _read(kv)
        new = change(current)
        try:
            await kv.update(KEY, new.encode(), last=revision)
        except KeyWrongLastSequenceError:
            continue
        return new.now()


async def read_clock(js: JetStreamContext) -> datetime:
    current, _ = await _read(await _bucket(js))
    return current.now()


async def advance_clock(js: JetStreamContext, delta: timedelta) -> datetime:
    """Move the shared clock forward by `delta`; returns the new time. It never runs backwards."""
    if delta < timedelta(0):
        raise ValueError("the clock only moves forward")
    return await _replace(js, lambda current: current.advanced(delta))


async def set_clock(js: JetStreamContext, frozen_at: datetime | None) -> datetime:
    """Freeze the shared clock at `frozen_at` (a scenario's start: it may lie in the past),
    or with None let it run on from where it stands."""
    if frozen_at is not None:
        at = _utc(frozen_at)
        return await _replace(js, lambda _: ClockSetting(frozen_at=at))
    return await _replace(
        js, lambda current: ClockSetting.running(current.now() - datetime.now(UTC))
    )


class SharedDevClock:
    """The development clock shared by every service, cached locally and kept current by a watch.

    `now()` is synchronous and reads the cached setting; `wait_changed()` lets a scheduler
    react at once when someone advances the clock. A NATS restart loses the watch's consumer
    and may hide a move made meanwhile: `lost()` (the connection dropped) marks the clock as
    not `following` — the service is not ready — until `rewatch()` (the connection is back)
    has read the current setting and watches afresh. A NATS node lost while the connection to
    another holds takes the watch's consumer with it, and the client notices only after two
    missed heartbeats (about ten seconds): meanwhile the bucket's own last value, read every
    `CHECK_SECONDS`, keeps the clock current. Only a later revision than the one in use is
    taken, from either.
    """

    def __init__(
        self,
        js: JetStreamContext,
        watcher: KeyValue.KeyWatcher,
        setting: ClockSetting,
        revision: int = 0,
    ) -> None:
        self._js = js
        self._watcher = watcher
        self._setting = setting
        self._revision = revision
        self._changes = _Changes()
        self._task: asyncio.Task[None] | None = None
        self._rewatching: asyncio.Task[None] | None = None
        self._checking: asyncio.Task[None] | None = None
        #: False from a lost connection until the watch is current again.
        self.following = True

    @classmethod
    async def connect(
        cls, js: JetStreamContext, *, environment: str = "development", replicas: int = 1
    ) -> SharedDevClock:
        """Follow the shared clock; its bucket is made (at `replicas`) if no one has yet."""
        if environment == "production":
            raise RuntimeError("the shared development clock is refused in production")
        await _bucket(js, replicas)
        watcher, setting, revision = await cls._watch(js)
        clock = cls(js, watcher, setting, revision)
        clock._task = asyncio.create_task(clock._follow(watcher), name="shared-dev-clock")
        clock._checking = asyncio.create_task(clock._check(), name="shared-dev-clock-check")
        return clock

    @staticmethod
    async def _watch(js: JetStreamContext) -> tuple[KeyValue.KeyWatcher, ClockSetting, int]:
        kv = await _bucket(js)
        watcher = await kv.watch(KEY)
        setting, revision = ClockSetting(), 0
        try:
            # The watch first delivers the current value (if any), then None: the initial state.
            while (entry := await watcher.updates(timeout=10)) is not None:  # type: ignore[no-untyped-call]
                setting = ClockSetting.decode(None if entry.operation else entry.value)
                revision = int(entry.revision or 0)
        except BaseException:  # a try that failed (an election, a timeout) leaves no watch
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]
            raise
        return watcher, setting, revision

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is not None:
                self._take(entry)

    async def _check(self) -> None:
        """Every `CHECK_SECONDS`, the bucket's last value, taken if the watch has not yet."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)  # a period, not a wait for something
            try:
                entry = await (await self._js.key_value(BUCKET)).get(KEY)
            except Exception:  # never set, deleted (the watch says so), or an election
                continue
            self._take(entry)

    def _take(self, entry: KeyValue.Entry) -> None:
        """The setting of `entry` if it is later than the one in use (the watch and the check
        may bring the same change, or an older one after a newer)."""
        revision = int(entry.revision or 0)
        if revision <= self._revision:
            return
        try:
            # A delete or purge (`operation` set) returns the clock to real time.
            setting = ClockSetting.decode(None if entry.operation else entry.value)
        except (ValueError, TypeError, AttributeError):
            log.error("clock.unreadable", value=entry.value, revision=entry.revision)
            return
        self._setting, self._revision = setting, revision
        self._changes.notify()

    async def lost(self) -> None:
        """The NATS connection dropped: what the watch says may be behind until `rewatch`."""
        self.following = False

    async def rewatch(self) -> None:
        """The NATS connection is back: watch again from the current setting, retrying (with
        a bounded backoff) while JetStream is not yet available after the server's restart."""
        self.following = False
        if self._rewatching is None or self._rewatching.done():
            self._rewatching = asyncio.create_task(self._rewatch(), name="shared-dev-clock-rewatch")

    async def _rewatch(self) -> None:
        pause = 0.1
        while True:
            try:
                watcher, setting, revision = await self._watch(self._js)
                break
            except Exception as failure:  # JetStream still recovering, or the link again lost
                log.warning("clock.rewatch_failed", error=f"{type(failure).__name__}: {failure}")
                await asyncio.sleep(pause)  # backing off before watching again
                pause = min(pause * 2, 2.0)
        old_watcher, old_task = self._watcher, self._task
        self._watcher, self._setting, self._revision = watcher, setting, revision
        self._task = asyncio.create_task(self._follow(watcher), name="shared-dev-clock")
        self.following = True
        self._changes.notify()
        log.info("clock.rewatched", now=self._setting.now().isoformat())
        if old_task is not None:
            old_task.cancel()
        with contextlib.suppress(Exception):
            await old_watcher.stop()  # type: ignore[no-untyped-call]

    def now(self) -> datetime:
        return self._setting.now()

    def wait_changed(self) -> Coroutine[Any, Any, bool]:
        return self._changes.wait()

    async def advance(self, delta: timedelta) -> datetime:
        return await advance_clock(self._js, delta)

    async def set(self, frozen_at: datetime | None) -> datetime:
        return await set_clock(self._js, frozen_at)

    async def close(self) -> None:
        for task in (self._rewatching, self._checking):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # The connection may already be closed: its subscription is gone with it.
        with contextlib.suppress(ConnectionClosedError, BadSubscriptionError):
            await self._watcher.stop()  # type: ignore[no-untyped-call]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
