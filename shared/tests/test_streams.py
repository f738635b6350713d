"""Stream provisioning against a real JetStream: idempotent, and the log refuses to forget."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import APIError

from shared.streams import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    DUPLICATE_WINDOW,
    STREAM,
    StreamMisconfiguredError,
    ensure_streams,
)


@pytest.fixture
def js(nats_client: Client) -> JetStreamContext:
    return nats_client.jetstream()


async def test_the_log_is_provisioned_as_the_architecture_says(js: JetStreamContext) -> None:
    await ensure_streams(js)

    config = (await js.stream_info(STREAM)).config
    assert config.subjects == ["haizhi.>"]
    assert config.storage == StorageType.FILE
    assert (config.deny_delete, config.deny_purge) == (True, True)
    assert config.max_age == 0
    assert (config.max_msgs, config.max_bytes, config.max_msgs_per_subject) == (-1, -1, -1)
    assert config.duplicate_window == DUPLICATE_WINDOW == 24 * 3600
    assert config.num_replicas == 1
    dead_letters = (await js.stream_info(DLQ_STREAM)).config
    assert dead_letters.subjects == [f"{DLQ_SUBJECT_PREFIX}.>"]
    assert dead_letters.storage == StorageType.FILE
    assert dead_letters.deny_delete is True


class WritesRecorded:
    """The real JetStream, with its stream creations and updates written down."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("add_stream", "update_stream"):
            self.writes.append(name)
        return getattr(self.js, name)


async def test_provisioning_twice_changes_nothing_and_keeps_the_events(
    js: JetStreamContext,
) -> None:
    await asyncio.gather(*(ensure_streams(js) for _ in range(4)))  # four services starting
    await js.publish("haizhi.probe.case-1.Probed", b"{}", stream=STREAM)
    before = await js.stream_info(STREAM)
    recorded = WritesRecorded(js)

    await ensure_streams(cast(JetStreamContext, recorded))

    assert recorded.writes == []
    after = await js.stream_info(STREAM)
    assert after.config == before.config
    assert after.state.messages == 1


async def test_provisioning_restores_a_setting_changed_behind_its_back(
    js: JetStreamContext,
) -> None:
    await ensure_streams(js)
    config = (await js.stream_info(STREAM)).config
    await js.update_stream(config.evolve(duplicate_window=120.0))

    await ensure_streams(js)

    assert (await js.stream_info(STREAM)).config.duplicate_window == DUPLICATE_WINDOW


async def test_a_service_leaves_a_stream_that_differs_as_it_is_and_starts_on_it(
    js: JetStreamContext,
) -> None:
    """A service may not change a stream (its NATS user is refused, without an answer): it
    reports the difference and serves on the stream as provisioned, e.g. an old release's
    replica restarted after the new release's provisioning."""
    await ensure_streams(js)
    config = (await js.stream_info(STREAM)).config
    await js.update_stream(config.evolve(duplicate_window=120.0))
    recorded = WritesRecorded(js)

    await ensure_streams(cast(JetStreamContext, recorded), may_update=False)

    assert recorded.writes == []
    assert (await js.stream_info(STREAM)).config.duplicate_window == 120.0


async def test_provisioning_refuses_a_log_it_cannot_fix_in_place(js: JetStreamContext) -> None:
    await js.add_stream(
        StreamConfig(name=STREAM, subjects=["haizhi.>"], storage=StorageType.MEMORY)
    )

    with pytest.raises(StreamMisconfiguredError, match="storage"):
        await ensure_streams(js)


async def test_the_log_refuses_purge_and_message_delete(js: JetStreamContext) -> None:
    await ensure_streams(js)
    ack = await js.publish("haizhi.probe.case-1.Probed", b"{}", stream=STREAM)

    with pytest.raises(APIError, match="purge not permitted"):
        await js.purge_stream(STREAM)
    with pytest.raises(APIError, match="delete not permitted"):
        await js.delete_msg(STREAM, ack.seq)
    config = (await js.stream_info(STREAM)).config
    with pytest.raises(APIError, match="can not cancel deny"):
        await js.update_stream(config.evolve(deny_delete=False))
    assert (await js.stream_info(STREAM)).state.messages == 1


async def test_a_dead_letter_lands_in_its_own_stream_not_in_the_log(js: JetStreamContext) -> None:
    await ensure_streams(js)

    ack = await js.publish(f"{DLQ_SUBJECT_PREFIX}.some-consumer.haizhi.probe.case-1.Probed", b"{}")

    assert ack.stream == DLQ_STREAM
    assert (await js.stream_info(STREAM)).state.messages == 0
    with pytest.raises(APIError, match="delete not permitted"):
        await js.delete_msg(DLQ_STREAM, ack.seq)
