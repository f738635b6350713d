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
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats

from shared import audit_cli
from shared.auth import Role, issue_development_token
from shared.clock import advance_clock, read_clock, set_clock
from shared.nats_auth import OPERATOR, nats_servers, user_url
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.system import RestartPolicy, System

RUNTIME_FILE = "haizhi.json"


def up(data_dir: Path, timeout: float = 60.0) -> int:
    system = System(data_dir, restart_policy=RestartPolicy.from_env(), console=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    # Both, explicitly: a shell that starts us in the background makes us ignore SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        system.start(timeout)
        runtime = system.data_dir / RUNTIME_FILE
        runtime.write_text(
            json.dumps(
                {
                    "nats": system.nats_url,
                    "services": system.urls,
                    "console": system.console_url,
                    "pids": {s: p.pid for s, p in system.processes.items()},  # as started
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        print("HaiZhi Cases is running; Ctrl-C stops it, the data stays in", system.data_dir)
        print(f"  console     {system.console_url}   (sign in as anyone: development)")
        print(f"  NATS        {system.nats_url}")
        if system.mail_sink is not None:
            sink = system.mail_sink
            print(f"  mail sink   smtp://{sink.host}:{sink.port}   (each mail in {sink.folder})")
        for service, url in system.urls.items():
            print(f"  {service:<11} {url}   (API docs {url}/docs)")
        print("  a token:    haizhi token --role applicant --org UNIT --jurisdiction 5301")
        print("  the clock:  haizhi clock advance 90d")
        sys.stdout.flush()
        while not stopping:
            # A crashed service is started again after a backoff; one that keeps crashing
            # ends the whole system, non-zero (`System.supervise`).
            if system.supervise(lambda line: print(line, flush=True)):
                return 1
            time.sleep(0.5)  # supervising child processes
    except KeyboardInterrupt:
        pass
    finally:
        system.stop()
        (system.data_dir / RUNTIME_FILE).unlink(missing_ok=True)
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
    client = await nats.connect(nats_servers(nats_url))
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


def build_parser(extend: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """The `haizhi` parser; `extend` adds further commands to its subparsers (`haizhi demo`)."""
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
    if extend is not None:
        extend(commands)
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run one of the commands `build_parser` itself defines."""
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
        return audit_cli.run(args, {**runtime_info(args.data_dir), "data_dir": args.data_dir})
    # Moving the clock is the operator's: as the embedded server's operator, unless told.
    nats_url = args.nats_url or user_url(
        str(runtime_info(args.data_dir)["nats"]), args.data_dir, OPERATOR
    )
    now = asyncio.run(clock(nats_url, args.action, args.value))
    print(now.isoformat())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
