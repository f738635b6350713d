"""`haizhi up`, the README's run command: it starts everything, stops on Ctrl-C, and the data
is there at the next start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import nats
import pytest
from nats.js.api import StreamConfig

from shared.auth import issue_development_token
from shared.cli import RUNTIME_FILE
from shared.nats_auth import OPERATOR
from shared.nats_server import EmbeddedNats, free_port
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.streams import DUPLICATE_WINDOW, STREAM, ensure_streams
from shared.system import System

pytestmark = pytest.mark.slow

CALL = {"province": "53", "year": 2030, "title": "2030年海智基地申报", "deadline_on": "2030-04-30"}


def start(data_dir: Path) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("haizhi")
    return subprocess.Popen(
        [str(script), "--data-dir", str(data_dir), "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
        env={**os.environ, "PYTHONUTF8": "1"},
    )


def wait_running(process: subprocess.Popen[str], data_dir: Path) -> dict[str, str]:
    """The services' URLs, once `haizhi up` says it is running."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # the command prints its banner once everything is ready
        seen.append(line)
        if "is running" in line:
            info = json.loads((data_dir / RUNTIME_FILE).read_text(encoding="utf-8"))
            return dict(info["services"])
    raise AssertionError("haizhi up ended before it was running:\n" + "".join(seen))


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = process.communicate(timeout=60)
    return out


def officer() -> dict[str, str]:
    token = issue_development_token(
        DEVELOPMENT_JWT_SECRET, "mao", ["province_reviewer"], jurisdictions=["53"]
    )
    return {"Authorization": f"Bearer {token}"}


def test_up_runs_the_system_stops_on_ctrl_c_and_keeps_the_data(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        urls = wait_running(first, tmp_path)
        for url in urls.values():
            assert httpx.get(f"{url}/readyz", timeout=5).json()["status"] == "ready"
        opened = httpx.post(f"{urls['application']}/calls", json=CALL, headers=officer())
        assert opened.status_code == 201, opened.text
        call_id = opened.json()["call_id"]
    finally:
        out = stop(first)
    assert first.returncode == 0, out
    assert "stopped" in out
    assert not (tmp_path / RUNTIME_FILE).exists()

    again = start(tmp_path)
    try:
        urls = wait_running(again, tmp_path)
        read = httpx.get(f"{urls['application']}/calls/{call_id}", headers=officer())
        assert read.json()["title"] == CALL["title"]
        deadline = time.monotonic() + 20
        while True:  # the audit is clean once the relay has published the call's event
            verify = subprocess.run(
                [str(Path(sys.executable).with_name("haizhi")), "--data-dir", str(tmp_path),
                 "audit", "verify"],
                capture_output=True, encoding="utf-8", check=False,
            )  # fmt: skip
            if verify.returncode == 0 or time.monotonic() > deadline:
                break
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "application ok: 1 stored, 1 in stream" in verify.stdout
    finally:
        stop(again)


class Lines:
    """`haizhi up`'s output, line by line, waited for with a deadline (never for ever)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def until(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(
                    f"no {pattern!r} in {timeout}s:\n{''.join(self.seen)}"
                ) from None
            if line is None:
                raise AssertionError(f"output ended before {pattern!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found


def test_up_restarts_a_killed_service_and_gives_up_on_one_that_keeps_crashing(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).with_name("haizhi")
    process = subprocess.Popen(
        [str(script), "--data-dir", str(tmp_path), "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
        # One restart allowed within the window: the second crash ends the system.
        env={**os.environ, "PYTHONUTF8": "1", "HAIZHI_RESTART_MAX_CRASHES": "1"},
    )
    try:
        lines = Lines(process)
        lines.until("is running")
        info = json.loads((tmp_path / RUNTIME_FILE).read_text(encoding="utf-8"))
        review = info["services"]["review"]
        os.kill(info["pids"]["review"], signal.SIGKILL)
        lines.until(r"review exited with -9 \(crash 1 of at most 1 .*restarting in")
        restarted = int(lines.until(r"review restarted \(process (\d+)\)")[1])
        deadline = time.monotonic() + 60
        while True:  # the same address answers again, the rest never stopped
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{review}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "review never became ready again"
            time.sleep(0.2)  # polling a child process's readiness
        assert process.poll() is None
        opened = httpx.post(
            f"{info['services']['application']}/calls", json=CALL, headers=officer()
        )
        assert opened.status_code == 201, opened.text
        os.kill(restarted, signal.SIGKILL)
        lines.until(r"review exited with -9, its crash 2 within .*giving up")
        lines.until("stopped")
        assert process.wait(timeout=60) == 1
    finally:
        if process.poll() is None:  # the reader thread owns stdout: no communicate() here
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def test_up_applies_the_wanted_stream_configuration_as_the_operator(tmp_path: Path) -> None:
    """A stream left as an older version configured it (a service may not change it) is
    brought to what this version wants before the services start, and they start."""
    server = EmbeddedNats(tmp_path / "nats").start(free_port())

    async def older() -> None:
        client = await nats.connect(server.url_as(OPERATOR))
        try:
            js = client.jetstream()
            await ensure_streams(js)
            info = await js.stream_info(STREAM)
            await js.update_stream(info.config.evolve(description="older", duplicate_window=60.0))
        finally:
            await client.close()

    asyncio.run(older())
    server.stop()

    with System(tmp_path, preferred_nats_port=free_port(), preferred_ports={}) as system:
        assert system.nats is not None

        async def live() -> StreamConfig:
            client = await nats.connect(system.operator_url)
            try:
                return (await client.jetstream().stream_info(STREAM)).config
            finally:
                await client.close()

        config = asyncio.run(live())
    assert config.duplicate_window == DUPLICATE_WINDOW
    assert config.description != "older"
