"""The `haizhi` command: run the whole system, issue development tokens, move the shared clock.

    haizhi up [--data-dir ./var]         embedded NATS + the four services, SQLite, Ctrl-C stops
    haizhi token --role ROLE [--org ID] [--jurisdiction CODE ...]
    haizhi clock [show | advance 90d | set 2027-01-01T00:00:00+08:00 | release]
    haizhi audit [--json] timeline CASE | verify | rebuild SERVICE | as-of CASE TIME | reconcile

Development only: tokens are signed with the development secret unless HAIZHI_JWT_SECRET is
set, and the clock exists only where services run with the controlled clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats

from shared import audit_cli
from shared.auth import Role, issue_development_token
from shared.clock import advance_clock, read_clock, set_clock
from shared.nats_server import EmbeddedNats, free_port, port_is_free
from shared.settings import DEVELOPMENT_JWT_SECRET

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("application", "review", "assessment", "funding")
DEFAULT_PORTS = {"application": 8001, "review": 8002, "assessment": 8003, "funding": 8004}
RUNTIME_FILE = "haizhi.json"


def _port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


def _service_env(service: str, data_dir: Path, nats_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HAIZHI_SERVICE": service,
        "HAIZHI_DATA_DIR": str(data_dir),
        "HAIZHI_DATABASE_URL": os.environ.get(
            f"HAIZHI_{service.upper()}_DATABASE_URL", f"sqlite:///{data_dir / service}.db"
        ),
        "HAIZHI_NATS_URL": nats_url,
        "HAIZHI_POLICY_DIR": os.environ.get("HAIZHI_POLICY_DIR", str(REPO / "policies")),
        "HAIZHI_HTTP_PORT": str(port),
    }


def start_service(
    service: str, data_dir: Path, nats_url: str, port: int
) -> subprocess.Popen[bytes]:
    log = (data_dir / f"{service}.log").open("ab")
    command = [
        sys.executable, "-m", "uvicorn", "--factory", f"services.{service}.main:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=_service_env(service, data_dir, nats_url, port), stdout=log,
        stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip


def wait_ready(
    urls: dict[str, str], processes: dict[str, subprocess.Popen[bytes]], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    waiting = dict(urls)
    while waiting:
        for service, url in list(waiting.items()):
            if processes[service].poll() is not None:
                raise RuntimeError(f"{service} exited with {processes[service].returncode}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                    del waiting[service]
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout}s: {', '.join(waiting)}")
        time.sleep(0.2)  # polling child processes' readiness endpoints


def up(data_dir: Path, timeout: float = 60.0) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedNats(data_dir / "nats").start(preferred_port=4222)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        urls = {}
        for service in SERVICES:
            port = _port(DEFAULT_PORTS[service])
            processes[service] = start_service(service, data_dir, server.url, port)
            urls[service] = f"http://127.0.0.1:{port}"
        wait_ready(urls, processes, timeout)
        (data_dir / RUNTIME_FILE).write_text(
            json.dumps({"nats": server.url, "services": urls}, indent=2), encoding="utf-8"
        )
        print("HaiZhi Cases is running (Ctrl-C stops it; data stays in", data_dir, ")")
        print(f"  NATS        {server.url}")
        for service, url in urls.items():
            print(f"  {service:<11} {url}   (API docs {url}/docs)")
        print("  tokens:     haizhi token --role applicant --org UNIT --jurisdiction 5301")
        print("  clock:      haizhi clock advance 90d")
        sys.stdout.flush()
        while not stopping:
            for service, process in processes.items():
                if process.poll() is not None:
                    code = process.returncode
                    print(f"{service} stopped (exit {code}); see {data_dir}/{service}.log")
                    return 1
            time.sleep(0.5)  # supervising child processes
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()
        (data_dir / RUNTIME_FILE).unlink(missing_ok=True)
        print("stopped")
    return 0


def runtime_info(data_dir: Path) -> dict[str, object]:
    path = data_dir / RUNTIME_FILE
    if not path.exists():
        raise SystemExit(f"nothing is running under {data_dir} (start it with `haizhi up`)")
    info: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return info


_DURATION = re.compile(r"^(\d+)([dhmsw])$")


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `10s`, `2w`: a span to advance the clock by."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 90d, 12h, 30m: {text!r}")
    amount, unit = int(match[1]), match[2]
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount),
            "m": timedelta(minutes=amount), "s": timedelta(seconds=amount),
            "w": timedelta(weeks=amount)}[unit]  # fmt: skip


async def clock(nats_url: str, action: str, value: str | None) -> datetime:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        if action == "advance":
            return await advance_clock(js, parse_duration(value or ""))
        if action == "set":
            instant = datetime.fromisoformat(value or "")
            if instant.tzinfo is None:
                raise SystemExit("give the time with its offset, e.g. 2027-01-01T00:00:00+08:00")
            return await set_clock(js, instant.astimezone(UTC))
        if action == "release":
            return await set_clock(js, None)
        return await read_clock(js)
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="haizhi", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("HAIZHI_DATA_DIR", "var"))
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start embedded NATS and the four services")
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    token.add_argument("--user", default="dev-user")
    token.add_argument("--org")
    token.add_argument("--jurisdiction", action="append", default=[])
    token.add_argument("--hours", type=int, default=12)
    clock_cmd = commands.add_parser("clock", help="show or move the shared development clock")
    clock_cmd.add_argument(
        "action", nargs="?", default="show", choices=["show", "advance", "set", "release"]
    )
    clock_cmd.add_argument("value", nargs="?")
    clock_cmd.add_argument("--nats-url")
    audit_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.data_dir)
    if args.command == "token":
        secret = os.environ.get("HAIZHI_JWT_SECRET", DEVELOPMENT_JWT_SECRET)
        print(issue_development_token(
            secret, args.user, args.role, org=args.org, jurisdictions=args.jurisdiction,
            ttl=timedelta(hours=args.hours),
        ))  # fmt: skip
        return 0
    if args.command == "audit":
        return audit_cli.run(args, runtime_info(args.data_dir))
    nats_url = args.nats_url or str(runtime_info(args.data_dir)["nats"])
    now = asyncio.run(clock(nats_url, args.action, args.value))
    print(now.isoformat())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
