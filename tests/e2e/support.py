"""What every scenario ends with: the auditor's tools, through `haizhi audit`, find nothing.

`verify` (every store's hash chains intact, the HAIZHI stream holding exactly the stores'
events) is asked until the bus has settled — an event still in an outbox is pending, not
missing — and then must pass; `rebuild` must find every read model equal to its rebuild.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from haizhi.cli import main
from shared.system import SERVICES

SETTLE = 30.0  # seconds for outboxes and consumers to drain after the last act


def haizhi(data_dir: Path, *args: str) -> tuple[int, Any]:
    """Run `haizhi --data-dir DIR audit --json …` in this process: exit status and output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["--data-dir", str(data_dir), "audit", "--json", *args])
    return status, json.loads(out.getvalue())


def settled(report: dict[str, Any]) -> bool:
    services = [report[name] for name in SERVICES]
    return report["HAIZHI"]["ok"] and all(s["stream"]["pending"] == 0 for s in services)


def assert_audit_clean(data_dir: Path) -> None:
    deadline = time.monotonic() + SETTLE
    status, report = haizhi(data_dir, "verify")
    while not (status == 0 and settled(report)) and time.monotonic() < deadline:
        time.sleep(0.2)  # letting the outbox relays and consumers drain
        status, report = haizhi(data_dir, "verify")
    assert status == 0, json.dumps(report, ensure_ascii=False, indent=1)
    for name in SERVICES:
        stream = report[name]["stream"]
        assert report[name]["chain_breaks"] == [], name
        assert stream["in_store"] == stream["in_stream"], (name, stream)
    assert report["HAIZHI"]["messages"] == sum(report[n]["stream"]["in_stream"] for n in SERVICES)
    for name in SERVICES:
        status, rebuilt = haizhi(data_dir, "rebuild", name)
        assert status == 0, json.dumps(rebuilt, ensure_ascii=False, indent=1)
        assert rebuilt["ok"]


def timeline(data_dir: Path, case_id: str) -> list[dict[str, Any]]:
    """The case's whole life across the services, as `haizhi audit timeline` reads it; every
    event on the stream signed by its own service, and verified so by the one answering."""
    status, out = haizhi(data_dir, "timeline", case_id)
    assert status == 0
    events: list[dict[str, Any]] = out["events"]
    assert {e["signature"] for e in events} <= {"verified"}, events
    return events


def as_of(data_dir: Path, case_id: str, time: str) -> dict[str, Any]:
    """The case in every service as it stood at `time`, as `haizhi audit as-of` reads it."""
    status, out = haizhi(data_dir, "as-of", case_id, time)
    assert status == 0
    views: dict[str, Any] = out
    return views


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def assert_in_order(events: list[dict[str, Any]], *expected: str) -> None:
    """`expected` happened in this order (others may come between). Ordered by event time:
    the stream's order across services is the order of publication, and two services'
    relays may publish causally ordered events of the same moment either way round."""
    happened = names(sorted(events, key=lambda e: datetime.fromisoformat(e["time"])))
    remaining = iter(happened)
    missing = [wanted for wanted in expected if not any(name == wanted for name in remaining)]
    assert not missing, f"{missing[0]} not where expected in {happened}"
