"""The `haizhi` console script: the kernel's commands (up, token, clock, audit) and `demo`.

    haizhi up                         embedded NATS + the four services; Ctrl-C stops them
    haizhi token --role ROLE [--org ID] [--jurisdiction CODE ...] [--user ID]
    haizhi clock [show | advance 90d | set 2027-01-01T00:00:00+08:00 | release]
    haizhi audit [--json] timeline CASE | verify | rebuild SERVICE | as-of CASE TIME | …
    haizhi demo                       play realistic cases through the running services

`--data-dir DIR` may stand anywhere on the line. `clock`, `audit` and `demo` find the running
system from any directory (`haizhi.running` says how); `up` keeps its data in `--data-dir`,
else `$HAIZHI_DATA_DIR`, else `./var`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError

from shared import audit_cli
from shared import cli as kernel
from shared.auth import issue_development_token
from shared.clock import BUCKET, KEY, ClockSetting, advance_clock, set_clock
from shared.cst import CST
from shared.nats_auth import OPERATOR, nats_servers
from shared.settings import DEVELOPMENT_JWT_SECRET

from . import demo
from .running import Running, data_dir_for_up, find, forget_running, note_running
from .settle import DEFAULT_TIMEOUT, NotSettled, wait_settled

DATA_DIR = "--data-dir"
CASE_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def take_data_dir(argv: Sequence[str]) -> tuple[Path | None, list[str]]:
    """`--data-dir DIR` or `--data-dir=DIR` from anywhere before `--` (the last one wins),
    and the rest of the line."""
    rest: list[str] = []
    found: Path | None = None
    items = iter(argv)
    for item in items:
        if item == "--":
            rest += [item, *items]
            break
        if item == DATA_DIR:
            value = next(items, None)
            if value is None:
                raise SystemExit(f"haizhi: {DATA_DIR} needs a folder")
            found = Path(value)
        elif item.startswith(f"{DATA_DIR}="):
            found = Path(item.split("=", 1)[1])
        else:
            rest.append(item)
    return found, rest


def default_user(roles: Sequence[str], org: str | None, jurisdictions: Sequence[str]) -> str:
    """A development account named by what the token may do (`province_reviewer-53`,
    `applicant-unit-kmust-5301`): tokens for different roles, units or places are different
    people to the separation-of-duties rules; two people of the same kind need `--user`."""
    parts = ["+".join(roles)]
    if org:
        parts.append(org)
    if jurisdictions:
        parts.append(",".join(jurisdictions))
    return "-".join(parts)


def _extend(commands: Any) -> None:
    demo.add_command(commands)
    token = commands.choices["token"]
    token.set_defaults(user=None)
    for action in token._actions:  # the help of the kernel's option, for the new default
        if action.dest == "user":
            action.help = "the account (sub); default ROLE[-ORG][-CODES], e.g. province_reviewer-53"
    clock = commands.choices["clock"]
    clock.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for every consumer to catch up before moving the clock",
    )
    clock.add_argument(
        "--no-wait", action="store_true", help="move the clock without waiting for the bus"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = kernel.build_parser(extend=_extend)
    parser.description = "HaiZhi Cases: run the system, issue tokens, move the clock, audit."
    for action in parser._actions:
        if action.dest == "data_dir":
            action.default = None
            action.help = "the system's data folder; accepted anywhere on the line"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    data_dir, rest = take_data_dir(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(rest)
    args.data_dir = data_dir
    if args.command == "up":
        return up(data_dir_for_up(data_dir))
    if args.command == "token":
        return token(args)
    case_id = getattr(args, "case_id", None)
    if args.command == "audit" and case_id is not None and not CASE_ID.match(case_id):
        raise SystemExit(f"not a case id: {case_id!r} (letters, digits, - and _ only)")
    running = find(data_dir)
    if args.command == "demo":
        return demo.run(args, running)
    if args.command == "audit":
        if args.tool == "timeline":
            return timeline(args, running)
        return audit_cli.run(args, running.info())
    return clock(args, running)


def up(data_dir: Path) -> int:
    """`haizhi up`, noted in the user's state folder while it runs (`haizhi.running`)."""
    note = note_running(data_dir)
    try:
        return kernel.up(data_dir)
    finally:
        forget_running(note)


def token(args: argparse.Namespace) -> int:
    secret = os.environ.get("HAIZHI_JWT_SECRET", DEVELOPMENT_JWT_SECRET)
    user = args.user or default_user(args.role, args.org, args.jurisdiction)
    print(issue_development_token(
        secret, user, args.role, org=args.org, jurisdictions=args.jurisdiction,
        ttl=timedelta(hours=args.hours),
    ))  # fmt: skip
    print(f"(a token for {user}; --user names another)", file=sys.stderr)
    return 0


# The clock -------------------------------------------------------------------------------


def describe(now: datetime, setting: ClockSetting) -> str:
    """`2027-01-01T02:00:00+00:00 UTC = 2027-01-01 10:00:00 CST; frozen`."""
    utc, cst = now.astimezone(UTC), now.astimezone(CST)
    if setting.frozen_at is not None:
        state = "frozen (`haizhi clock release` lets it run on from there)"
    elif setting.offset:
        days = setting.offset / timedelta(days=1)
        state = f"running, {days:+.1f} days from real time"
    else:
        state = "real time"
    return (
        f"{utc.isoformat(timespec='seconds')} UTC = "
        f"{cst:%Y-%m-%d %H:%M:%S} CST (China Standard Time, UTC+8); {state}"
    )


async def _setting(js: JetStreamContext) -> ClockSetting:
    try:
        entry = await (await js.key_value(BUCKET)).get(KEY)
    except (BucketNotFoundError, KeyNotFoundError):
        return ClockSetting()
    return ClockSetting.decode(None if entry.operation else entry.value)


async def move_clock(
    nats_url: str, action: str, value: str | None
) -> tuple[datetime, ClockSetting]:
    """Do `action` to the shared clock; the time it shows after, and its setting."""
    client = await nats.connect(nats_servers(nats_url))
    try:
        js = client.jetstream()
        if action == "advance":
            await advance_clock(js, kernel.parse_duration(value or ""))
        elif action == "set":
            try:
                instant = datetime.fromisoformat(value or "")
            except ValueError:
                raise SystemExit(f"not a time: {value!r}; e.g. 2027-01-01T00:00:00+08:00") from None
            if instant.tzinfo is None:
                raise SystemExit("give the time with its offset, e.g. 2027-01-01T00:00:00+08:00")
            await set_clock(js, instant.astimezone(UTC))
        elif action == "release":
            await set_clock(js, None)
        setting = await _setting(js)
        return setting.now(), setting
    finally:
        await client.close()


def clock(args: argparse.Namespace, running: Running) -> int:
    if args.action == "advance":
        try:
            kernel.parse_duration(args.value or "")
        except argparse.ArgumentTypeError as bad:
            raise SystemExit(f"haizhi clock advance: {bad}") from None
    if args.action in ("advance", "set") and not args.no_wait:
        try:
            wait_settled(running.services, timeout=args.timeout)
        except NotSettled as busy:
            raise SystemExit(
                f"the clock was not moved: {busy}.\n"
                "Retry in a moment; `haizhi audit dead-letters` and the logs in "
                f"{running.data_dir} say why a consumer is stuck; --no-wait moves it anyway."
            ) from None
    nats_url = args.nats_url or running.nats_as(OPERATOR)  # only the operator moves the clock
    now, setting = asyncio.run(move_clock(nats_url, args.action, args.value))
    print(describe(now, setting))
    return 0


# The auditor's timeline ------------------------------------------------------------------


def timeline(args: argparse.Namespace, running: Running) -> int:
    """`haizhi audit timeline CASE`: exit 1, saying so, when the stream knows no such case."""
    case_id = str(args.case_id)
    secret = os.environ.get("HAIZHI_JWT_SECRET", DEVELOPMENT_JWT_SECRET)
    token = args.token or issue_development_token(
        secret, "cli-auditor", ["auditor"], jurisdictions=["CN"], ttl=timedelta(minutes=10)
    )
    url = f"{next(iter(running.services.values()))}/audit/cases/{case_id}/timeline"
    params: dict[str, str] = {"limit": "100"}
    events: list[dict[str, Any]] = []
    while True:  # every page, following the cursors
        try:
            response = httpx.get(
                url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=300
            )
        except httpx.HTTPError as unreachable:
            raise SystemExit(
                f"{url}: unreachable ({unreachable}); is `haizhi up` running?"
            ) from None
        if response.status_code >= 400:
            raise SystemExit(f"{url}: {response.status_code} {response.text}")
        page = response.json()
        events += page["events"]
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    out = {"case_id": case_id, "events": events}
    if args.json:
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for e in events:
            print(f"{e['time']}  {e['service']:<11} {e['event']:<32} by {e['actor']}")
        if events:
            print(f"{len(events)} events in case {case_id}")
    if not events:
        print(
            f"no events of case {case_id} in HAIZHI: no such case here (a case id is given "
            "when an application is drafted: `case_id` in the answer of POST /applications)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
