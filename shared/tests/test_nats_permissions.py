"""The bus's permissions on a real nats-server: a service speaks only for itself.

The embedded server of the test kit runs the same users and permissions as `haizhi up`
(`shared/nats_auth.py`); each test connects as one of them.
"""

from __future__ import annotations

import contextlib
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import NoServersError, TimeoutError
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from shared.nats_auth import AUDITOR, OPERATOR, USERS_FILE, NatsUsers, inbox_prefix
from shared.nats_server import EmbeddedNats, free_port, nats_server_binary
from shared.streams import DLQ_STREAM, STREAM, ensure_streams

REPO = Path(__file__).resolve().parents[2]
REFUSED = 1.0  # seconds: a refused request gets no reply (the server drops it), so it times out


class Session:
    """One user's connection, and the permission errors the server sent it."""

    def __init__(self, client: NatsClient, violations: list[str]) -> None:
        self.client = client
        self.js = client.jetstream(timeout=REFUSED)
        self.violations = violations


@contextlib.asynccontextmanager
async def session(server: EmbeddedNats, user: str) -> AsyncIterator[Session]:
    violations: list[str] = []

    async def on_error(error: Exception) -> None:
        violations.append(str(error))

    client = await nats.connect(
        server.url,
        user=user,
        password=server.password(user),
        inbox_prefix=inbox_prefix(user),
        error_cb=on_error,
        allow_reconnect=False,
    )
    try:
        yield Session(client, violations)
    finally:
        await client.close()


@pytest.fixture
async def server(nats_server: EmbeddedNats, nats_client: NatsClient) -> EmbeddedNats:
    """The kit's server with `HAIZHI` and `HAIZHI_DLQ`, as the services provision them."""
    await ensure_streams(nats_client.jetstream())
    return nats_server


async def test_a_service_publishes_its_own_events(server: EmbeddedNats) -> None:
    async with session(server, "review") as review:
        ack = await review.js.publish("haizhi.review.review-1.ApplicationRejected", b"{}")

    assert ack.stream == STREAM


async def test_a_service_cannot_publish_another_services_subject(server: EmbeddedNats) -> None:
    async with session(server, "review") as review:
        with pytest.raises(TimeoutError):
            await review.js.publish("haizhi.funding.plan-1.PlanCreated", b"{}")
        with pytest.raises(TimeoutError):
            await review.js.publish("haizhidlq.funding-from-review.haizhi.review.x.Y", b"{}")
        await review.client.flush()

    assert any("permissions violation" in v.lower() for v in review.violations)
    async with session(server, OPERATOR) as operator:
        info = await operator.js.stream_info(STREAM)
    assert info.state.messages == 0


async def test_a_service_dead_letters_only_under_its_own_consumers(server: EmbeddedNats) -> None:
    async with session(server, "funding") as funding:
        ack = await funding.js.publish("haizhidlq.funding-from-review.haizhi.review.x.Y", b"{}")

    assert ack.stream == DLQ_STREAM


async def test_an_anonymous_client_cannot_connect(server: EmbeddedNats) -> None:
    with pytest.raises((NoServersError, NatsError)):
        await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0)


async def test_a_wrong_password_cannot_connect(server: EmbeddedNats) -> None:
    with pytest.raises((NoServersError, NatsError)):
        await nats.connect(server.url, user="review", password="guessed", allow_reconnect=False)


@pytest.mark.parametrize("user", ["application", "funding", AUDITOR])
async def test_only_the_operator_deletes_or_purges(server: EmbeddedNats, user: str) -> None:
    async with session(server, OPERATOR) as operator:
        await operator.js.publish("haizhidlq.x.y", b"a dead letter")
        await operator.js.add_stream(StreamConfig(name="SCRATCH", subjects=["scratch.>"]))
    async with session(server, user) as someone:
        with pytest.raises(TimeoutError):
            await someone.js.purge_stream(DLQ_STREAM)
        with pytest.raises(TimeoutError):
            await someone.js.delete_msg(DLQ_STREAM, 1)
        with pytest.raises(TimeoutError):
            await someone.js.delete_stream("SCRATCH")
        with pytest.raises(TimeoutError):
            await someone.js.update_stream(StreamConfig(name=STREAM, subjects=["haizhi.>"]))
    async with session(server, OPERATOR) as operator:
        assert (await operator.js.stream_info(DLQ_STREAM)).state.messages == 1
        assert await operator.js.purge_stream(DLQ_STREAM)
        assert await operator.js.delete_stream("SCRATCH")
        assert (await operator.js.stream_info(DLQ_STREAM)).state.messages == 0


async def test_a_service_cannot_drive_another_services_durable_consumer(
    server: EmbeddedNats,
) -> None:
    async with session(server, "review") as review:
        with pytest.raises(TimeoutError):
            await review.js.pull_subscribe(
                "haizhi.review.>", durable="funding-from-review", stream=STREAM
            )
        mine = await review.js.pull_subscribe(
            "haizhi.application.>", durable="review-from-application", stream=STREAM
        )
        await mine.unsubscribe()


async def test_the_notification_service_speaks_only_for_itself(server: EmbeddedNats) -> None:
    """It publishes its own events, dead-letters under its own consumers and drives them; it
    cannot speak for an upstream nor drive an upstream's consumer, and no upstream drives one
    of its consumers."""
    async with session(server, "notification") as notification:
        ack = await notification.js.publish("haizhi.notification.n-1.NotificationSent", b"{}")
        assert ack.stream == STREAM
        dead = await notification.js.publish(
            "haizhidlq.notification-from-review.haizhi.review.x.Y", b"{}"
        )
        assert dead.stream == DLQ_STREAM
        mine = await notification.js.pull_subscribe(
            "haizhi.review.>", durable="notification-from-review", stream=STREAM
        )
        await mine.unsubscribe()
        with pytest.raises(TimeoutError):
            await notification.js.publish("haizhi.review.review-1.ApplicationRejected", b"{}")
        with pytest.raises(TimeoutError):
            await notification.js.pull_subscribe(
                "haizhi.funding.>", durable="review-from-funding", stream=STREAM
            )
        await notification.client.flush()
    assert any("permissions violation" in v.lower() for v in notification.violations)
    async with session(server, "review") as review:
        with pytest.raises(TimeoutError):
            await review.js.pull_subscribe(
                "haizhi.funding.>", durable="notification-from-funding", stream=STREAM
            )
    async with session(server, OPERATOR) as operator:
        assert (await operator.js.stream_info(STREAM)).state.messages == 1


async def test_the_auditor_reads_and_publishes_nothing(server: EmbeddedNats) -> None:
    async with session(server, "application") as application:
        await application.js.publish("haizhi.application.a-1.Submitted", b"{}")
    async with session(server, AUDITOR) as auditor:
        assert (await auditor.js.stream_info(STREAM)).state.messages == 1
        reader = await auditor.js.pull_subscribe("haizhi.>", stream=STREAM)
        [message] = await reader.fetch(1, timeout=5)
        assert message.subject == "haizhi.application.a-1.Submitted"
        await reader.unsubscribe()
        with pytest.raises(TimeoutError):
            await auditor.js.publish("haizhi.application.a-1.Submitted", b"{}")


async def test_a_service_reads_the_shared_clock_and_only_the_operator_moves_it(
    server: EmbeddedNats,
) -> None:
    async with session(server, OPERATOR) as operator:
        bucket = await operator.js.create_key_value(bucket="HAIZHI_CLOCK", history=16)
        await bucket.put("now", b'{"offset_seconds": 60}')
    async with session(server, "assessment") as assessment:
        mine = await assessment.js.key_value("HAIZHI_CLOCK")
        assert (await mine.get("now")).value == b'{"offset_seconds": 60}'
        with pytest.raises(TimeoutError):
            await mine.put("now", b'{"offset_seconds": 0}')


def test_the_credentials_are_drawn_at_first_start_and_kept_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "nats"
    with EmbeddedNats(folder, port=free_port()) as server:
        assert server.users is not None
        first = dict(server.users.passwords)
    with EmbeddedNats(folder, port=free_port()) as again:
        assert again.users is not None
        assert dict(again.users.passwords) == first  # kept, not redrawn

    assert set(first) == {
        *("application", "review", "assessment", "funding", "notification"),
        *(OPERATOR, AUDITOR),
    }
    assert len(set(first.values())) == len(first)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (USERS_FILE, "nats-server.conf"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    config = (folder / "nats-server.conf").read_text(encoding="utf-8")
    assert all(password in config for password in first.values())
    tested = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(folder / "nats-server.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stderr


def test_no_password_is_in_the_repository(tmp_path: Path) -> None:
    users = NatsUsers.load_or_create(tmp_path / "nats")
    tracked = subprocess.run(
        ["git", "grep", "-l", "-F", users.passwords[OPERATOR]],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    assert tracked.stdout == b""


async def test_a_new_stream_is_created_by_a_service_but_never_changed_by_it(
    nats_server: EmbeddedNats, nats_client: NatsClient
) -> None:
    with contextlib.suppress(NotFoundError):
        await nats_client.jetstream().delete_stream(STREAM)
    async with session(nats_server, "application") as application:
        await ensure_streams(application.js)
        assert (await application.js.stream_info(STREAM)).config.deny_purge
