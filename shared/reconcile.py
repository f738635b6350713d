"""Reconcile a store with `HAIZHI`: find events the stream lacks, and republish them.

JetStream acknowledges a write before every replica has it on disk (Jepsen, NATS 2.12.1), so
an acknowledged event can in principle be lost after its outbox row is gone. Reconcile
compares what the store holds with what the stream holds on `haizhi.<service>.>`:

- missing: in the store, not in the stream (and not waiting in the outbox: that is in flight);
- extra: in the stream, not in the store;
- altered: in both, with different bytes;
- duplicated: in the stream more than once (a republish later than the duplicate window).

With `repair=True` the missing events are republished in position order with their
`Nats-Msg-Id`. Only missing events can be repaired: the stream denies deletes, so extra,
altered or duplicated messages are reported for an operator and stay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from shared.db import Database, open_database
from shared.envelope import TYPE_PREFIX
from shared.outbox import MSG_ID, Outgoing, PublishFailedError, publish_in_stream_order
from shared.provision import operator_connection, operator_from_environment
from shared.schema import events, outbox
from shared.settings import SERVICE_NAME, StoreSettings
from shared.streams import STREAM

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as its stream (`HAIZHI`, or `HAIZHI_DLQ`) holds it."""

    seq: int
    subject: str
    msg_id: str | None
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> str | None:
        """`Nats-Msg-Id`, else the envelope's own id (a message published without one)."""
        if self.msg_id:
            return self.msg_id
        try:
            attributes = json.loads(self.data)
        except ValueError:
            return None
        found = attributes.get("id") if isinstance(attributes, dict) else None
        return found if isinstance(found, str) else None


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What `reconcile` found (event ids, in store or stream order) and republished."""

    service: str
    in_store: int
    in_stream: int
    pending: int
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    altered: tuple[str, ...] = ()
    duplicated: tuple[str, ...] = ()
    republished: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """Store and stream agree (events pending in the outbox are not a disagreement)."""
        return not (self.missing or self.extra or self.altered or self.duplicated)

    def counts(self) -> dict[str, int]:
        return {
            "in_store": self.in_store,
            "in_stream": self.in_stream,
            "pending": self.pending,
            "missing": len(self.missing),
            "extra": len(self.extra),
            "altered": len(self.altered),
            "duplicated": len(self.duplicated),
            "republished": len(self.republished),
        }


async def stored_messages(
    js: JetStreamContext,
    filter_subject: str,
    *,
    stream: str = STREAM,
    batch: int = 512,
    fetch_wait: float = 5.0,
) -> AsyncIterator[StoredMessage]:
    """Every message of `stream` on `filter_subject`, in stream order, up to the current end.

    An ephemeral pull consumer without acknowledgements, held in server memory and removed
    when done: it reads the stream in batches without touching any durable consumer. Read it
    to the end, or `aclose()` it, so the consumer is removed at once.
    """
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=60.0,
    )
    subscription = await js.pull_subscribe(filter_subject, stream=stream, config=config)
    info = await subscription.consumer_info()
    try:
        if info.num_pending == 0:
            return
        while True:
            for msg in await subscription.fetch(batch, timeout=fetch_wait):
                meta = msg.metadata
                headers = msg.headers or {}
                yield StoredMessage(
                    meta.sequence.stream, msg.subject, headers.get(MSG_ID), msg.data, dict(headers)
                )
                if meta.num_pending == 0:
                    return
    finally:
        await subscription.unsubscribe()
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(stream, info.name)


async def reconcile(
    db: Database, js: JetStreamContext, service: str, repair: bool
) -> ReconcileReport:
    """Compare the store of `service` with its messages in `HAIZHI`; optionally repair."""
    # Order matters. The store is read first, events then outbox: an event committed and not
    # in the outbox at that moment was acknowledged by JetStream before the stream is read.
    type_prefix = f"{TYPE_PREFIX}.{service}."
    store: dict[str, bytes] = {}
    async with db.read_engine.connect() as reader:
        rows = await reader.stream(
            select(events.c.event_id, events.c.envelope).where(
                events.c.type.startswith(type_prefix)
            )
        )
        async for row in rows:
            store[str(row.event_id)] = _digest(str(row.envelope).encode())
        pending = {str(i) for i in (await reader.execute(select(outbox.c.event_id))).scalars()}

    seen: dict[str, bytes] = {}
    extra: list[str] = []
    altered: list[str] = []
    duplicated: list[str] = []
    in_stream = 0
    async for message in stored_messages(js, f"{TYPE_PREFIX}.{service}.>"):
        in_stream += 1
        event_id = message.event_id or f"seq:{message.seq}"
        digest = _digest(message.data)
        if event_id in seen:
            duplicated.append(event_id)
        seen.setdefault(event_id, digest)
        if event_id not in store:
            extra.append(event_id)
        elif store[event_id] != digest:
            altered.append(event_id)

    missing = [i for i in store if i not in seen and i not in pending]
    # Events committed after the store was read may already be in the stream: not extra.
    extra = await _still_unknown(db, extra)
    republished: tuple[str, ...] = ()
    if repair and missing:
        republished = await _republish(db, js, missing)
    return ReconcileReport(
        service=service,
        in_store=len(store),
        in_stream=in_stream,
        pending=len(pending),
        missing=tuple(missing),
        extra=tuple(extra),
        altered=tuple(dict.fromkeys(altered)),
        duplicated=tuple(dict.fromkeys(duplicated)),
        republished=republished,
    )


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def _still_unknown(db: Database, candidates: list[str]) -> list[str]:
    known: set[str] = set()
    async with db.read_engine.connect() as reader:
        for chunk in _chunks(candidates):
            found = await reader.execute(
                select(events.c.event_id).where(events.c.event_id.in_(chunk))
            )
            known.update(str(i) for i in found.scalars())
    return [i for i in candidates if i not in known]


async def _republish(db: Database, js: JetStreamContext, missing: list[str]) -> tuple[str, ...]:
    batch: list[Outgoing] = []
    async with db.read_engine.connect() as reader:
        for chunk in _chunks(missing):
            rows = await reader.execute(
                select(events.c.position, events.c.stream_id, events.c.envelope).where(
                    events.c.event_id.in_(chunk)
                )
            )
            batch.extend(
                Outgoing.from_row(int(r.position), str(r.stream_id), str(r.envelope)) for r in rows
            )
    batch.sort(key=lambda item: item.position)
    acked, failure = await publish_in_stream_order(js, batch, ack_timeout=5.0)
    if failure is not None:
        raise PublishFailedError(
            f"republished {len(acked)} of {len(batch)} missing events"
        ) from failure
    return tuple(item.event_id for item in acked)


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.reconcile SERVICE [--repair]`: the service's store against `HAIZHI`,
    as a one-shot step with the service's own database and NATS user (`HAIZHI_DATABASE_URL`,
    `HAIZHI_DATABASE_SCHEMA`, `HAIZHI_NATS_URL`, `HAIZHI_NATS_USER`, `HAIZHI_NATS_PASSWORD`).

    After a restore of the bus, run it with `--repair` for each service *before* the service
    starts: the events the stream lacks then go out in order before its relay sends what
    waited in its outbox (a later version of the same stream, had it gone first, would reach
    the consumers as a gap). Prints the report as JSON; exit status 1 while store and stream
    still disagree.
    """
    parser = argparse.ArgumentParser(prog="python -m shared.reconcile", description=main.__doc__)
    parser.add_argument("service")
    parser.add_argument("--repair", action="store_true", help="republish what the stream lacks")
    args = parser.parse_args(argv)
    if not SERVICE_NAME.fullmatch(args.service):
        parser.error(f"not a service's name: {args.service}")
    try:
        database = StoreSettings()
    except ValidationError as invalid:
        sys.exit(f"reconcile: {invalid}")
    servers, user, password = operator_from_environment("reconcile")

    async def run() -> ReconcileReport:
        db = open_database(database.database_url, schema=database.database_schema)
        try:
            async with operator_connection(servers, user, password) as client:
                report = await reconcile(db, client.jetstream(), args.service, args.repair)
        finally:
            await db.dispose()
        return report

    try:
        report = asyncio.run(run())
    except (NatsError, SQLAlchemyError, OSError, TimeoutError, PublishFailedError) as failed:
        sys.exit(f"reconcile {args.service}: {failed or type(failed).__name__}")
    print(json.dumps({"service": args.service, **report.counts()}))
    # Repaired: what was missing is on the stream now; anything else stays for an operator.
    remaining = report.extra or report.altered or report.duplicated
    sys.exit(1 if remaining or (report.missing and not args.repair) else 0)


if __name__ == "__main__":
    main()
