"""Put another service's events on the bus in tests, as its outbox relay would, and run a
consumer until it has taken them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext

from shared.consumer import Consumer
from shared.envelope import GENESIS, Envelope, event_type, new_id
from shared.testkit.keys import signer


def foreign_event(
    service: str,
    name: str,
    data: dict[str, Any],
    *,
    stream_id: str,
    version: int,
    case_id: str | None = None,
    actor: str = "someone",
    time: datetime | None = None,
    policy_version: str | None = None,
) -> Envelope:
    """A sealed envelope as `service` would publish it, signed with its test key
    (`shared/testkit/keys.py`; its hash chain is not checked here)."""
    envelope = Envelope(
        id=new_id(),
        source=f"/haizhi/{service}",
        type=event_type(service, name, 1),
        subject=stream_id,
        time=time or datetime.now(UTC),
        data=data,
        streamversion=version,
        caseid=case_id or stream_id,
        correlationid=new_id(),
        causationid=None,
        actor=actor,
        policyversion=policy_version,
        prevhash=GENESIS,
        hash="",
    ).sealed()
    return signer(service).sign(envelope)


async def run_until_idle(consumer: Consumer, deadline: float = 30.0) -> list[str]:
    """Pull and process until nothing is pending or waiting for redelivery; the outcomes."""
    outcomes: list[str] = []
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        outcomes += await consumer.fetch_and_process(wait=0.3)
        if await consumer.pending() == 0:
            return outcomes
    raise AssertionError(f"consumer still busy after {deadline}s: {outcomes}")


async def publish(js: JetStreamContext, event: Envelope, msg_id: str | None = None) -> None:
    await js.publish(
        event.nats_subject, event.to_json(), headers={"Nats-Msg-Id": msg_id or event.id}
    )
