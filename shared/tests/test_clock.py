"""Clocks: the fixed one for unit tests, and the development clock every service shares via NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from shared.clock import (
    FixedClock,
    SharedDevClock,
    SystemClock,
    advance_clock,
    read_clock,
    set_clock,
)
from shared.edge import LinkEvents
from shared.nats_server import EmbeddedNats, free_port

FIVE_YEARS = timedelta(days=5 * 365)
NOON = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with EmbeddedNats(data_dir=tmp_path, port=free_port()) as server:
        yield server.url_as()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    connection = await nats.connect(nats_url)
    yield connection.jetstream()
    await connection.close()


@pytest.fixture
async def clocks(js: JetStreamContext) -> AsyncIterator[tuple[SharedDevClock, SharedDevClock]]:
    first, second = await SharedDevClock.connect(js), await SharedDevClock.connect(js)
    yield first, second
    await first.close()
    await second.close()


def test_the_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


async def test_a_fixed_clock_stands_still_until_advanced_and_says_so() -> None:
    clock = FixedClock(NOON)
    changed = clock.wait_changed()

    assert clock.advance(timedelta(days=1)) == NOON + timedelta(days=1)
    assert await asyncio.wait_for(changed, 1)
    assert clock.now() == NOON + timedelta(days=1)


def test_a_fixed_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2024, 1, 1))


async def test_an_unset_shared_clock_is_real_time(js: JetStreamContext) -> None:
    before = datetime.now(UTC)

    assert before <= await read_clock(js) <= datetime.now(UTC)


async def test_an_advance_by_one_service_is_seen_by_the_other(
    clocks: tuple[SharedDevClock, SharedDevClock],
) -> None:
    mover, follower = clocks
    changed = follower.wait_changed()

    await mover.advance(FIVE_YEARS)
    await asyncio.wait_for(changed, 5)

    shift = follower.now() - datetime.now(UTC)
    assert FIVE_YEARS - timedelta(seconds=2) < shift <= FIVE_YEARS + timedelta(seconds=1)


async def test_a_frozen_clock_stands_still_and_moves_only_by_advances(
    js: JetStreamContext, clocks: tuple[SharedDevClock, SharedDevClock]
) -> None:
    first, second = clocks
    frozen = asyncio.gather(first.wait_changed(), second.wait_changed())
    await set_clock(js, NOON)
    await asyncio.wait_for(frozen, 5)  # both have seen it: each follows the bucket alone
    assert first.now() == second.now() == NOON

    advanced = second.wait_changed()
    assert await advance_clock(js, timedelta(days=90)) == NOON + timedelta(days=90)
    await asyncio.wait_for(advanced, 5)
    assert second.now() == NOON + timedelta(days=90)


async def test_a_released_clock_runs_on_from_where_it_stood(js: JetStreamContext) -> None:
    await set_clock(js, NOON)

    resumed = await set_clock(js, None)

    assert NOON <= resumed < NOON + timedelta(seconds=2)
    assert NOON <= await read_clock(js) < NOON + timedelta(seconds=2)


async def test_concurrent_advances_all_take_effect(js: JetStreamContext) -> None:
    await set_clock(js, NOON)

    await asyncio.gather(*(advance_clock(js, timedelta(days=1)) for _ in range(10)))

    assert await read_clock(js) == NOON + timedelta(days=10)


async def test_a_clock_connecting_later_starts_from_the_shared_time(js: JetStreamContext) -> None:
    await set_clock(js, NOON)

    late = await SharedDevClock.connect(js)
    try:
        assert late.now() == NOON
    finally:
        await late.close()


async def test_the_clock_never_runs_backwards(js: JetStreamContext) -> None:
    with pytest.raises(ValueError, match="forward"):
        await advance_clock(js, timedelta(seconds=-1))


async def test_production_refuses_the_shared_clock(js: JetStreamContext) -> None:
    with pytest.raises(RuntimeError, match="production"):
        await SharedDevClock.connect(js, environment="production")


async def test_after_a_nats_restart_the_clock_watches_again_and_sees_a_move_made_meanwhile(
    tmp_path: Path,
) -> None:
    """The restart loses the watch's consumer; without watching again the follower would
    keep the old time until the client's heartbeat check (two missed beats, 10 s and more)."""
    with EmbeddedNats(data_dir=tmp_path, port=free_port()) as server:
        link = LinkEvents()
        connection = await nats.connect(
            server.url_as(),
            reconnect_time_wait=0.1,
            max_reconnect_attempts=-1,
            disconnected_cb=link.lost,
            reconnected_cb=link.back,
        )
        follower = await SharedDevClock.connect(connection.jetstream())
        link.on_lost.append(follower.lost)
        link.on_back.append(follower.rewatch)
        try:
            server.kill()
            server.start()
            mover = await nats.connect(server.url_as())
            await set_clock(mover.jetstream(), NOON)
            await mover.close()

            async def followed() -> None:
                while not (follower.following and follower.now() == NOON):
                    await follower.wait_changed()

            await asyncio.wait_for(followed(), 5)
        finally:
            await follower.close()
            await connection.close()


async def test_a_watch_gone_quiet_is_caught_up_by_reading_the_bucket(
    clocks: tuple[SharedDevClock, SharedDevClock],
) -> None:
    """A NATS node lost with the watch's consumer, the connection to another node kept: the
    watch hears nothing until the client has missed two heartbeats. The follower reads the
    bucket itself meanwhile, so a move made then reaches it within about a second."""
    mover, follower = clocks
    await follower._watcher.stop()  # type: ignore[no-untyped-call]  # the consumer gone
    changed = follower.wait_changed()

    moved_to = await mover.set(NOON)
    await asyncio.wait_for(changed, 5)

    assert follower.now() == moved_to == NOON
    changed = follower.wait_changed()
    await mover.set(NOON + timedelta(days=1))
    await asyncio.wait_for(changed, 5)
    assert follower.now() == NOON + timedelta(days=1)  # and every later move, not only one
