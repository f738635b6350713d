"""How the process runner gives each service its address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from shared.nats_server import free_port
from shared.serve import main as serve_main
from shared.system import PASS_FDS, listen

APP = "shared.tests.serve_app:create_app"
#: Handing a socket to a child process (and so `shared.serve`) is POSIX's alone.
posix_only = pytest.mark.skipif(not PASS_FDS, reason="no socket inheritance on Windows")


def test_a_preferred_port_that_is_free_is_the_one_listened_on() -> None:
    with listen() as first:
        port = first.getsockname()[1]
    with listen(port) as again:
        assert again.getsockname()[1] == port


def test_a_port_held_for_one_service_is_never_handed_to_another() -> None:
    """Two services preferring one port (or both given port 0 while the first's process is
    still starting) get two addresses: the first's socket is bound and listening from the
    moment its port is chosen, not probed free and released for its process to bind later."""
    with listen() as held:
        port = held.getsockname()[1]
        with listen(port) as other:
            assert other.getsockname()[1] != port
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # already accepting into its backlog, before any process serves it


@posix_only
def test_a_service_serves_its_inherited_socket_as_the_tcp_listener_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's own `--fd` wraps any descriptor as a Unix socket, and uvloop then serves a
    TCP listener as a pipe, without `TCP_NODELAY`: `shared.serve` hands uvicorn the socket
    with the family and type the descriptor really has."""
    handed: list[socket.socket] = []

    def run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        handed.extend(sockets or [])
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    with listen() as held:
        serve_main(["--fd", str(os.dup(held.fileno())), APP])
        (taken,) = handed
        try:
            assert taken.family == socket.AF_INET
            assert taken.type == socket.SOCK_STREAM
            assert taken.getsockname() == held.getsockname()
        finally:
            taken.close()


@posix_only
def test_a_served_service_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`haizhi up` in a terminal: Ctrl-C reaches every child of the process group. The
    service serves on the inherited socket, then shuts down with status 0 and no traceback."""
    with listen() as held:
        log_file = tmp_path / "serve.log"
        with log_file.open("wb") as out:
            served = subprocess.Popen(
                [sys.executable, "-m", "shared.serve", "--fd", str(held.fileno()), APP],
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(held.fileno(),),
            )
        try:
            url = f"http://127.0.0.1:{held.getsockname()[1]}/"
            assert httpx.get(url, timeout=30).text == "ok"  # waits in the backlog until served
            served.send_signal(signal.SIGINT)
            assert served.wait(timeout=30) == 0
        finally:
            served.kill()
            served.wait()
    log = log_file.read_text(encoding="utf-8")
    assert f"serving {APP} on {url.rstrip('/')}" in log
    assert "Traceback" not in log
    assert "KeyboardInterrupt" not in log


def test_a_container_serves_its_service_on_the_address_it_is_given(tmp_path: Path) -> None:
    """The image's command (`--host/--port`, no runner to hand a socket down): the service
    binds the address itself and, on the SIGTERM an orchestrator stops it with, shuts its app
    down cleanly before it exits by that signal (uvicorn re-raises it, so a supervisor sees
    why the process ended)."""
    port = free_port()
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as out:
        served = subprocess.Popen(
            [sys.executable, "-m", "shared.serve", "--host", "127.0.0.1", "--port", str(port), APP],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:  # nothing holds the port for it: poll until it listens
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the service never listened"
                with pytest.raises(subprocess.TimeoutExpired):  # it must not have exited
                    served.wait(timeout=0.05)
        assert answer.text == "ok"
        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=30) == -signal.SIGTERM
    finally:
        served.kill()
        served.wait()
    log = log_file.read_text(encoding="utf-8")
    assert f"Uvicorn running on http://127.0.0.1:{port}" in log
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_serve_needs_a_socket_or_a_port() -> None:
    with pytest.raises(SystemExit) as refused:
        serve_main([APP])
    assert refused.value.code == 2
