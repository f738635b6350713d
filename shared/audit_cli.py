"""`haizhi audit …`: the auditor's tools over every running service's `/audit` endpoints.

Readable by a person by default, `--json` for tools. Exit status 1 when verification or a
rebuild finds a discrepancy, each named in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import nats

from shared.auth import issue_development_token
from shared.nats_auth import AUDITOR, inbox_prefix, nats_servers, user_url
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.signing import TrustedKeys
from shared.stream_audit import StreamAudit, audit_stream
from shared.streams import STREAM


def add_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the auditor's tools (read-only)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--token", default=os.environ.get("HAIZHI_TOKEN"))
    tools = audit.add_subparsers(dest="tool", required=True)
    timeline = tools.add_parser("timeline", help="one case's whole life, from the stream")
    timeline.add_argument("case_id")
    verify = tools.add_parser(
        "verify", help="hash chains intact, every event signed; the stream holds exactly ours"
    )
    verify.add_argument(
        "--trusted-keys",
        type=Path,
        default=os.environ.get("HAIZHI_TRUSTED_KEYS_DIR"),
        help="the services' public keys (default: the data folder's keys/trusted)",
    )
    rebuild = tools.add_parser("rebuild", help="rebuild a service's read models and compare")
    rebuild.add_argument("service")
    as_of = tools.add_parser("as-of", help="a case's state in every service at a time")
    as_of.add_argument("case_id")
    as_of.add_argument("time", help="ISO 8601 with offset, e.g. 2027-01-01T00:00:00+08:00")
    repair = tools.add_parser("reconcile", help="what the stream lacks; --repair republishes")
    repair.add_argument("--repair", action="store_true")
    tools.add_parser("dead-letters", help="every service's dead letters not yet replayed")
    replay = tools.add_parser("replay", help="apply a dead letter now, its cause fixed (admin)")
    replay.add_argument("service")
    replay.add_argument("consumer")
    replay.add_argument("event_id")


def _token(args: argparse.Namespace, role: str) -> str:
    if args.token:
        return str(args.token)
    secret = os.environ.get("HAIZHI_JWT_SECRET", DEVELOPMENT_JWT_SECRET)
    return issue_development_token(
        secret, f"cli-{role}", [role], jurisdictions=["CN"], ttl=timedelta(minutes=10)
    )


def _call(method: str, url: str, token: str, **params: str) -> Any:
    try:
        response = httpx.request(
            method, url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=300
        )
    except httpx.HTTPError as unreachable:
        raise SystemExit(f"{url}: unreachable ({unreachable}); is `haizhi up` running?") from None
    if response.status_code >= 400:
        raise SystemExit(f"{url}: {response.status_code} {response.text}")
    return response.json()


def _get(url: str, token: str, **params: str) -> Any:
    return _call("GET", url, token, **params)


def _every(url: str, token: str, items: str) -> dict[str, Any]:
    """A paged answer whole: the first page, its `items` list holding every page's, in order
    (each page's `next_cursor` followed until it is null)."""
    params: dict[str, str] = {"limit": "100"}
    whole: dict[str, Any] | None = None
    while True:
        page = _get(url, token, **params)
        if whole is None:
            whole = page
        else:
            whole[items] += page[items]
        if not page.get("next_cursor"):
            whole["next_cursor"] = None
            return whole
        params["cursor"] = page["next_cursor"]


async def _stream_total(nats_url: str) -> int:
    """Messages in `HAIZHI`, read as the auditor (who reads on an inbox of its own)."""
    client = await nats.connect(nats_servers(nats_url), inbox_prefix=inbox_prefix(AUDITOR))
    try:
        info = await client.jetstream().stream_info(STREAM)
        return int(info.state.messages)
    finally:
        await client.close()


def run(args: argparse.Namespace, info: dict[str, Any]) -> int:
    services: dict[str, str] = info["services"]
    out: Any
    status = 0
    if args.tool == "timeline":
        url = next(iter(services.values()))
        out = _every(
            f"{url}/audit/cases/{args.case_id}/timeline", _token(args, "auditor"), "events"
        )
        if not args.json:
            for e in out["events"]:
                refused = (
                    "" if e["signature"] == "verified" else f"  [NOT VERIFIED: {e['signature']}]"
                )
                print(f"{e['time']}  {e['service']:<11} {e['event']:<32} by {e['actor']}{refused}")
            print(f"{len(out['events'])} events in case {args.case_id}")
            return 0
    elif args.tool in ("verify", "reconcile"):
        token = _token(args, "admin" if getattr(args, "repair", False) else "auditor")
        if getattr(args, "repair", False):
            out = {
                name: _call("POST", f"{url}/audit/reconcile", token)
                for name, url in services.items()
            }
        else:
            out = {name: _get(f"{url}/audit/verify", token) for name, url in services.items()}
            in_streams = sum(report["stream"]["in_stream"] for report in out.values())
            data_dir = info.get("data_dir")
            auditor = user_url(str(info["nats"]), Path(data_dir) if data_dir else None, AUDITOR)
            total = asyncio.run(_stream_total(auditor))
            keys = args.trusted_keys or Path(data_dir or "var") / "keys" / "trusted"
            signatures = asyncio.run(_stream_signatures(auditor, TrustedKeys.from_directory(keys)))
            legacy = {name: report["signatures"]["unsigned_legacy"] for name, report in out.items()}
            signed_ok = not signatures.version_conflicts and all(
                not tally.bad and tally.unsigned <= legacy.get(name, 0)
                for name, tally in signatures.services.items()
            )
            out["HAIZHI"] = {
                "ok": total == in_streams and signed_ok,
                "messages": total,
                "of_services": in_streams,
                "signatures": signatures.jsonable(),
            }
            status = 0 if all(report["ok"] for report in out.values()) else 1
        if not args.json:
            _print_verify(out)
            return status
    elif args.tool == "rebuild":
        if args.service not in services:
            raise SystemExit(f"no service {args.service!r}; one of {', '.join(services)}")
        out = _get(f"{services[args.service]}/audit/rebuild", _token(args, "auditor"))
        status = 0 if out["ok"] else 1
        if not args.json:
            print(f"{args.service}: read models {'equal their rebuild' if out['ok'] else 'DIFFER'}")
            for difference in out["differences"]:
                print(f"  {difference['table']}: {difference['missing']} missing, "
                      f"{difference['extra']} extra; e.g. {difference['sample'][:2]}")  # fmt: skip
            return status
    elif args.tool == "dead-letters":
        token = _token(args, "auditor")
        letters = [
            letter
            for url in services.values()
            for letter in _every(f"{url}/audit/dead-letters", token, "dead_letters")["dead_letters"]
        ]
        out = {"dead_letters": letters}
        if not args.json:
            for e in letters:
                print(f"{e['consumer']:<28} {e['event_id']}  {e['event']:<28} case {e['stream']}")
            print(f"{len(letters)} dead letters")
            return 0
    elif args.tool == "replay":
        if args.service not in services:
            raise SystemExit(f"no service {args.service!r}; one of {', '.join(services)}")
        path = f"/audit/dead-letters/{args.consumer}/{args.event_id}/replay"
        out = _call("POST", services[args.service] + path, _token(args, "admin"))
    else:
        token = _token(args, "auditor")
        out = {
            name: _get(f"{url}/audit/cases/{args.case_id}/as-of", token, time=args.time)
            for name, url in services.items()
        }
        if not args.json:
            for name, view in out.items():
                for stream, state in view["streams"].items():
                    print(f"{name:<11} {stream}: v{state['version']} {state['state_kind']} "
                          f"after {state['last_event']} ({state['last_event_at']})")  # fmt: skip
            return 0
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return status


async def _stream_signatures(nats_url: str, trust: TrustedKeys) -> StreamAudit:
    """Every message of `HAIZHI` checked under the public keys, read as the auditor."""
    client = await nats.connect(nats_servers(nats_url), inbox_prefix=inbox_prefix(AUDITOR))
    try:
        return await audit_stream(client.jetstream(), trust)
    finally:
        await client.close()


def _print_verify(reports: dict[str, Any]) -> None:
    for name, report in reports.items():
        if name == "HAIZHI":
            verdict = "ok" if report["ok"] else "DISCREPANCY"
            print(f"HAIZHI      {verdict}: {report['messages']} messages, "
                  f"{report['of_services']} accounted for by the services")  # fmt: skip
            for service, tally in report["signatures"]["services"].items():
                print(f"  {service:<11} {tally['signed']} signed, {tally['unsigned']} unsigned")
                for seq, reason in tally["bad"].items():
                    print(f"    untrusted: message {seq} ({reason})")
            for conflict in report["signatures"]["version_conflicts"]:
                print(f"  version conflict: {conflict['stream']} v{conflict['version']}: "
                      f"{', '.join(conflict['ids'])}")  # fmt: skip
            continue
        if "stream" not in report:  # a repair report
            print(f"{name:<11} republished {report.get('republished', 0)}")
            continue
        stream = report["stream"]
        print(f"{name:<11} {'ok' if report['ok'] else 'DISCREPANCY'}: {stream['in_store']} stored, "
              f"{stream['in_stream']} in stream, {stream['pending']} pending")  # fmt: skip
        signatures = report["signatures"]
        print(f"{'':<11} {signatures['signed']} signed, "
              f"{signatures['unsigned_legacy']} unsigned before the cut-over")  # fmt: skip
        for event_id, reason in signatures["bad"].items():
            print(f"  untrusted: {event_id} ({reason})")
        for item in report["chain_breaks"]:
            print(f"  chain break: {item['stream_id']} v{item['version']}: {item['problem']}")
        for kind in ("missing", "extra", "altered", "duplicated"):
            for event_id in stream[f"{kind}_ids"]:
                print(f"  {kind}: {event_id}")
