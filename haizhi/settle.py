"""Waiting until the bus has settled: every outbox empty, every consumer caught up, every
scheduler done with what has fallen due.

Read from each service's `/metrics` (refreshed at every scrape): `outbox_lag_events` (committed
events not yet in `HAIZHI`), `consumer_lag_events{consumer}` (messages a durable consumer
has still to process, delivered-but-unacknowledged included) and `scheduled_due_events` (what
the service's scheduler finds due by its clock and has not yet done: a reminder due once a
deadline is read or the clock moves, before the next tick tells it). The bus has settled when every
figure of every service reads 0 twice in a row: one reading alone could fall between a
consumer's commit and its outbox row reaching the stream of the next service.

`haizhi clock advance` waits for this before it moves the clock, so that a reaction in flight
carries the time of its cause, not the later one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

DEFAULT_TIMEOUT = 60.0  # seconds: far above a healthy bus's settling, short enough to say so


class NotSettled(RuntimeError):
    """Something still moved on the bus when the wait ended; `behind` says what."""

    def __init__(self, behind: Mapping[str, int], timeout: float) -> None:
        self.behind = dict(behind)
        what = ", ".join(f"{name} {count}" for name, count in sorted(self.behind.items()))
        super().__init__(f"the bus has not settled within {timeout:.0f}s: still to go: {what}")


def lag(service: str, metrics_text: str) -> dict[str, int]:
    """Each non-zero backlog of one service's metrics: `{"review outbox": 2, "review
    consumer review-from-application": 1}`."""
    behind: dict[str, int] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "outbox_lag_events":
                name = f"{service} outbox"
            elif sample.name == "consumer_lag_events":
                name = f"{service} consumer {sample.labels.get('consumer', '?')}"
            elif sample.name == "scheduled_due_events":
                name = f"{service} scheduler"
            else:
                continue
            if sample.value:
                behind[name] = int(sample.value)
    return behind


def backlog(services: Mapping[str, str], http: httpx.Client) -> dict[str, int]:
    """One reading of every service's backlog; a service that does not answer is one."""
    behind: dict[str, int] = {}
    for service, url in services.items():
        try:
            response = http.get(f"{url}/metrics", timeout=10.0)
            response.raise_for_status()
        except httpx.HTTPError as failed:
            behind[f"{service} unreachable ({type(failed).__name__})"] = 1
            continue
        behind |= lag(service, response.text)
    return behind


def wait_settled(
    services: Mapping[str, str],
    timeout: float = DEFAULT_TIMEOUT,
    http: httpx.Client | None = None,
) -> None:
    """Return once two readings in a row find nothing behind; `NotSettled` after `timeout`."""
    client = http or httpx.Client()
    deadline = time.monotonic() + timeout
    quiet, interval = 0, 0.05
    try:
        while True:
            behind = backlog(services, client)
            quiet = 0 if behind else quiet + 1
            if quiet >= 2:
                return
            if time.monotonic() > deadline:
                raise NotSettled(behind or {"a second quiet reading": 1}, timeout)
            time.sleep(interval)  # polling other processes' metrics
            interval = min(interval * 1.5, 0.5)
    finally:
        if http is None:
            client.close()
