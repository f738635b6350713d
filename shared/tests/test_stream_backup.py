"""Snapshots of HAIZHI taken and restored through JetStream's own API, as the operator."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeout

from shared.nats_auth import inbox_prefix
from shared.nats_server import EmbeddedNats, free_port
from shared.stream_backup import Snapshot, SnapshotError, restore, take
from shared.streams import STREAM, ensure_streams


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats", port=free_port()) as running:
        yield running


@pytest.fixture
async def operator(server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    client = await nats.connect(server.url_as())
    yield client
    await client.close()


async def published(client: NatsClient, count: int) -> list[bytes]:
    js = client.jetstream()
    await ensure_streams(js)
    bodies = [f'{{"n": {n}}}'.encode() for n in range(count)]
    for n, body in enumerate(bodies):
        await js.publish(
            f"haizhi.review.case-{n % 3}.Happened", body, headers={"Nats-Msg-Id": f"e{n}"}
        )
    return bodies


async def test_a_snapshot_restores_every_message_as_it_was(
    server: EmbeddedNats, tmp_path: Path
) -> None:
    operator = await nats.connect(server.url_as())
    bodies = await published(operator, 40)
    snapshot = await take(operator)
    assert snapshot.messages == 40
    snapshot.write(tmp_path / "backup")
    for written in (tmp_path / "backup", *(tmp_path / "backup").iterdir()):  # people's data
        assert stat.S_IMODE(written.stat().st_mode) in (0o600, 0o700), written

    js = operator.jetstream()
    await js.delete_stream(STREAM)  # the loss (the operator alone may)
    restored = await restore(operator, Snapshot.read(tmp_path / "backup"))

    assert restored["state"]["messages"] == 40
    for seq, body in enumerate(bodies, start=1):
        message = await js.get_msg(STREAM, seq)
        assert message.data == body
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"] == f"e{seq - 1}"
    info = await js.stream_info(STREAM)
    assert info.config.deny_delete  # the configuration came back with the messages
    # JetStream rebuilds a restored stream's duplicate window only as it starts: the drill
    # restarts the servers after a restore (docs/deployment.md, "Backup and restore").
    await operator.close()
    server.stop()
    server.start()
    operator = await nats.connect(server.url_as())
    js = operator.jetstream()
    await js.publish("haizhi.review.case-0.Happened", b"{}", headers={"Nats-Msg-Id": "e0"})
    assert (await js.stream_info(STREAM)).state.messages == 40
    await operator.close()


async def test_a_large_stream_comes_in_many_chunks_in_order(operator: NatsClient) -> None:
    js = operator.jetstream()
    await ensure_streams(js)
    body = b"x" * 1000
    for n in range(1500):  # 1.5 MB: a dozen chunks, each acknowledged
        await js.publish(f"haizhi.review.case-{n % 7}.Happened", body)
    snapshot = await take(operator)
    assert snapshot.messages == 1500
    await js.delete_stream(STREAM)
    assert (await restore(operator, snapshot))["state"]["messages"] == 1500


async def test_a_snapshot_altered_on_disk_is_refused(operator: NatsClient, tmp_path: Path) -> None:
    await published(operator, 3)
    (await take(operator)).write(tmp_path / "backup")
    data = tmp_path / "backup" / "stream.tar.s2"
    original = data.read_bytes()
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    data.write_bytes(bytes(tampered))
    with pytest.raises(SnapshotError, match="not the snapshot that was taken"):
        Snapshot.read(tmp_path / "backup")
    data.write_bytes(original)  # the bytes back, the description changed: a limit added
    meta = tmp_path / "backup" / "backup.json"
    described = json.loads(meta.read_text())
    described["config"]["max_msgs"] = 1
    meta.write_text(json.dumps(described))
    with pytest.raises(SnapshotError, match="not the snapshot that was taken"):
        Snapshot.read(tmp_path / "backup")
    meta.write_text("[]")
    with pytest.raises(SnapshotError, match="not a snapshot's description"):
        Snapshot.read(tmp_path / "backup")


async def test_a_backup_never_overwrites_another(operator: NatsClient, tmp_path: Path) -> None:
    await published(operator, 3)
    (await take(operator)).write(tmp_path / "backup")
    with pytest.raises(SnapshotError, match="not an empty folder"):
        (await take(operator)).write(tmp_path / "backup")


async def test_a_restore_over_a_live_stream_is_refused(operator: NatsClient) -> None:
    await published(operator, 3)
    snapshot = await take(operator)
    with pytest.raises(SnapshotError, match="JetStream"):
        await restore(operator, snapshot)
    assert (await operator.jetstream().stream_info(STREAM)).state.messages == 3


async def test_a_service_may_not_snapshot_the_log(server: EmbeddedNats) -> None:
    review = await nats.connect(
        server.url,
        user="review",
        password=server.password("review"),
        inbox_prefix=inbox_prefix("review"),
    )
    try:
        await ensure_streams(review.jetstream())
        with pytest.raises(NatsTimeout):  # refused: no answer
            await take(review, idle=1)
    finally:
        await review.close()
