"""The transactional outbox relay: every committed event into JetStream's `HAIZHI`, once.

An append writes each event's outbox row in the same transaction as the event. The relay
reads the rows that are there (joined with their events, in position order), publishes them
and deletes the rows JetStream acknowledged. The outbox is a set of rows, not a high-water
mark: a transaction that commits late, holding a lower position than events already
relayed, simply shows up in the outbox later, so nothing is skipped and no lock serialises
commits. When NATS is down nothing is deleted; commands keep succeeding (they only write the
database) and the relay backs off and retries.

Exactly once in the stream: each message carries `Nats-Msg-Id` = event id, so a republish
(after a crash between the acknowledgement and the delete, or a lost acknowledgement) is
dropped by JetStream within `streams.DUPLICATE_WINDOW`.

Order: events of one stream must be stored in version order. See `publish_in_stream_order`.

The relay is given the JetStream context of the service's FastStream broker connection
(`shared/edge.py`) and publishes with nats-py's `publish_async`, not FastStream's publisher:
that one awaits each acknowledgement and adds headers of its own (a random `correlation_id`,
`content-type`), while the stored bytes and our `Nats-Msg-Id` must go out exactly as they are,
pipelined (docs/architecture.md, "The messaging edge").

One active relay per database: on PostgreSQL the relay holds a `shared.lease.Lease` (a
session advisory lock on a connection of its own), so of several relay processes pointed at
one store only one publishes; the others stand by and take over when its session ends.
Correctness does not rest on the lock (duplicates are dropped, and a stream's next event is
only sent once the previous one is stored), it saves doubled work. SQLite is the embedded,
single-process store: its relay runs in the service's own process and takes no lock.

Cost per pass: a burst of commits is served by one pass (one `SELECT` of the outbox joined
with the events, whose columns give each message's subject and id: the stored envelope is
published as it is, never parsed): a wake-up waits `coalesce` seconds before the pass starts,
and commits during a pass wake the next one. A pass does not delete: the acknowledged rows
are *confirmed* in memory, excluded from the next passes' reads and from the lag, and deleted
together, in one statement, once `delete_after` seconds have passed since the oldest of them
or a whole batch has gathered, at the end of `drain_once`, and when the relay stops. So a
relay under a steady load pays one delete transaction (one fsync) per `delete_after`, not one
per pass. A crash loses only the memory: those rows are published again by the next relay
and dropped by JetStream as duplicates (`Nats-Msg-Id`, `DUPLICATE_WINDOW` = a day).

The lag gauge (`on_lag`) is not a `COUNT(*)` after every pass: a pass
that read less than a full batch and had it all acknowledged emptied what the outbox held when
it was read, so it reports 0; only while a backlog is drained is the outbox counted, at most
once every `lag_interval` seconds. `lag()` counts exactly, for a scrape of `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from shared.db import Database
from shared.envelope import Envelope, nats_subject_of
from shared.lease import Lease
from shared.logging import get_logger
from shared.schema import events, outbox
from shared.streams import STREAM

MSG_ID = "Nats-Msg-Id"
#: Positions per DELETE statement (bound parameters stay far below the drivers' limits).
_DELETE_CHUNK = 1000
#: First key of the relay's advisory lock ("hzob"); the second is the store's schema.
_LOCK_CLASS = 0x687A6F62

log = get_logger(__name__)


class PublishFailedError(Exception):
    """JetStream did not acknowledge every event; the acknowledged ones were recorded."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event as it goes out: where, what, and which store row it came from."""

    position: int
    event_id: str
    stream_id: str
    subject: str
    payload: bytes

    @classmethod
    def from_row(cls, position: int, stream_id: str, envelope_json: str) -> Outgoing:
        envelope = Envelope.from_json(envelope_json)
        # The stored text is `Envelope.to_json()` as it was sealed: published byte for byte,
        # so what the stream holds hashes as the store does, whatever a reader upcasts.
        return cls(position, envelope.id, stream_id, envelope.nats_subject, envelope_json.encode())

    @classmethod
    def from_columns(
        cls, position: int, event_id: str, stream_id: str, type_: str, case_id: str, envelope: str
    ) -> Outgoing:
        """From the `events` row's own columns (written from the same envelope by the store):
        no parse of the envelope."""
        return cls(
            position, event_id, stream_id, nats_subject_of(type_, case_id), envelope.encode()
        )


def _waves(batch: Sequence[Outgoing]) -> list[list[Outgoing]]:
    """Wave k holds the k-th event of each stream in the batch, in position order."""
    waves: list[list[Outgoing]] = []
    depth: dict[str, int] = {}
    for item in batch:
        k = depth.get(item.stream_id, 0)
        depth[item.stream_id] = k + 1
        if k == len(waves):
            waves.append([])
        waves[k].append(item)
    return waves


async def publish_in_stream_order(
    js: JetStreamContext, batch: Sequence[Outgoing], *, ack_timeout: float
) -> tuple[list[Outgoing], Exception | None]:
    """Publish `batch` (in position order), pipelined; return what was acknowledged.

    Why waves rather than one pipeline: NATS keeps publish order on one connection only while
    every message arrives. If v1 of a stream is lost in flight (a dropped connection; a
    clustered stream changing leader) and v2, buffered by the client during the reconnect,
    is stored, retrying v1 would store it after v2. So the events of a batch go out in waves:
    wave k holds the k-th event of each stream, all of a wave in flight together, and wave
    k+1 leaves only when every event of wave k is acknowledged, that is stored. A stream's
    next event therefore never leaves before the previous one is in `HAIZHI`, while
    different streams share each round trip. After a failed wave nothing more is sent;
    what was acknowledged is returned with the failure.
    """
    acked: list[Outgoing] = []
    for wave in _waves(batch):
        in_flight: list[tuple[Outgoing, asyncio.Future[PubAck]]] = []
        failure: Exception | None = None
        try:
            for item in wave:
                future = await js.publish_async(
                    item.subject, item.payload, stream=STREAM, headers={MSG_ID: item.event_id}
                )
                in_flight.append((item, future))
        except (nats.errors.Error, OSError) as refused:
            failure = refused
        results = await asyncio.gather(
            *(asyncio.wait_for(future, ack_timeout) for _, future in in_flight),
            return_exceptions=True,
        )
        for (item, _), result in zip(in_flight, results, strict=True):
            if isinstance(result, PubAck):
                acked.append(item)
            elif isinstance(result, Exception):
                failure = failure or result
            else:
                raise result
        if failure is not None:
            return acked, failure
    return acked, None


class OutboxRelay:
    """Relays the outbox of one store to `HAIZHI`; `run` it, or `drain_once` in tests.

    On PostgreSQL the relay keeps its lock between passes: `run` gives it up when it stops;
    after `drain_once`, call `close`.
    """

    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        *,
        batch_size: int = 256,
        poll_interval: float = 0.2,
        on_lag: Callable[[int], None] | None = None,
        ack_timeout: float = 5.0,
        max_backoff: float = 5.0,
        after_publish: Callable[[Sequence[str]], None] | None = None,
        coalesce: float = 0.002,
        lag_interval: float = 1.0,
        delete_after: float = 0.5,
        on_lead: Callable[[bool], None] | None = None,
    ) -> None:
        """`after_publish` sees the acknowledged event ids before their rows are deleted.

        `coalesce`: how long a woken relay waits for more commits before its pass (seconds).
        `lag_interval`: while a backlog drains, `on_lag` is given a count at most this often.
        `delete_after`: how long acknowledged rows may wait for their (batched) delete.
        `on_lead`: told when this relay takes or gives up the lead (`shared.lease.Lease`).
        """
        self._db = db
        self._js = js
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._on_lag = on_lag
        self._ack_timeout = ack_timeout
        self._max_backoff = max_backoff
        self._after_publish = after_publish
        self._coalesce = coalesce
        self._lag_interval = lag_interval
        self._lag_counted_at = -float("inf")
        self._woken = asyncio.Event()
        self._passes = asyncio.Lock()
        self._lease = Lease(db, _LOCK_CLASS, "outbox relay", on_lead)
        self._delete_after = delete_after
        #: Positions JetStream acknowledged whose rows are not deleted yet, and since when.
        self._confirmed: set[int] = set()
        self._confirmed_since = 0.0

    def wake(self) -> None:
        """Something was committed: skip the rest of the poll wait."""
        self._woken.set()

    async def lag(self) -> int:
        """Events committed and not yet acknowledged by JetStream."""
        query = select(func.count()).select_from(outbox)
        confirmed = list(self._confirmed)  # rows still there or deleted meanwhile: not lag
        if confirmed:
            query = query.where(outbox.c.position.not_in(confirmed))
        async with self._db.read_engine.connect() as reader:
            count = (await reader.execute(query)).scalar()
        return int(count or 0)

    async def drain_once(self) -> int:
        """Relay what the outbox holds now; the number relayed (0 when another relay leads).

        Raises `PublishFailedError` when JetStream does not acknowledge; rows stay for a retry.
        """
        relayed = 0
        async with self._passes:
            self._woken.clear()
            if not await self._lease.hold():
                return 0
            try:
                while True:
                    read, done = await self._relay_batch()
                    relayed += done
                    if read < self._batch_size:
                        break
            finally:
                await self._delete_confirmed()
        await self._report_lag(drained=True)
        return relayed

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set, backing off while NATS or the database is unreachable."""
        backoff = self._poll_interval
        try:
            while not stop.is_set():
                try:
                    async with self._passes:
                        self._woken.clear()
                        leading = await self._lease.hold()
                        read = (await self._relay_batch())[0] if leading else 0
                        if self._delete_due():
                            await self._delete_confirmed()
                    await self._report_lag(drained=leading and read < self._batch_size)
                except (PublishFailedError, SQLAlchemyError, nats.errors.Error, OSError) as failure:
                    log.warning(
                        "outbox relay failed; retrying", error=repr(failure), retry_in=backoff
                    )
                    await self._pause(backoff, stop, wakeable=False)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = self._poll_interval
                if not leading:
                    await self._pause(max(self._poll_interval, 1.0), stop, wakeable=False)
                elif read < self._batch_size:
                    await self._pause(self._poll_interval, stop, wakeable=True)
        finally:
            with contextlib.suppress(SQLAlchemyError, OSError):  # else: republished, dropped
                await self._delete_confirmed()
            await self.close()

    async def close(self) -> None:
        """Give up the lead (PostgreSQL), so a standing-by relay takes over at once."""
        await self._lease.release()

    async def _relay_batch(self) -> tuple[int, int]:
        """One batch: (rows read, rows relayed)."""
        query = (
            select(
                outbox.c.position,
                events.c.event_id,
                events.c.stream_id,
                events.c.type,
                events.c.case_id,
                events.c.envelope,
            )
            .join(events, events.c.position == outbox.c.position)
            .order_by(outbox.c.position)
            .limit(self._batch_size)
        )
        if self._confirmed:
            query = query.where(outbox.c.position.not_in(list(self._confirmed)))
        async with self._db.read_engine.connect() as reader:
            rows = (await reader.execute(query)).all()
        if not rows:
            return 0, 0
        batch = [Outgoing.from_columns(*row) for row in rows]
        acked, failure = await publish_in_stream_order(
            self._js, batch, ack_timeout=self._ack_timeout
        )
        if acked and self._after_publish is not None:
            self._after_publish([item.event_id for item in acked])
        if acked:
            if not self._confirmed:
                self._confirmed_since = time.monotonic()
            self._confirmed.update(item.position for item in acked)
        if failure is not None:
            raise PublishFailedError(
                f"{len(batch) - len(acked)} of {len(batch)} events not acknowledged"
            ) from failure
        return len(rows), len(acked)

    def _delete_due(self) -> bool:
        return bool(self._confirmed) and (
            len(self._confirmed) >= self._batch_size
            or time.monotonic() - self._confirmed_since >= self._delete_after
        )

    async def _delete_confirmed(self) -> None:
        """Delete the rows of every acknowledged event, in one statement (one transaction)."""
        if not self._confirmed:
            return
        confirmed = sorted(self._confirmed)
        async with self._db.engine.begin() as conn:
            for start in range(0, len(confirmed), _DELETE_CHUNK):
                chunk = confirmed[start : start + _DELETE_CHUNK]
                await conn.execute(delete(outbox).where(outbox.c.position.in_(chunk)))
        self._confirmed.difference_update(confirmed)

    async def _report_lag(self, *, drained: bool) -> None:
        """Tell `on_lag` the lag without counting when the pass emptied the outbox it read.

        `drained`: the pass read less than a full batch and JetStream acknowledged all of it
        (a failed pass raises before this), so every row committed before its read is gone;
        what was committed since is the next pass's, which its commit has already woken.
        """
        if self._on_lag is None:
            return
        if drained:
            self._on_lag(0)
            return
        now = time.monotonic()
        if now - self._lag_counted_at >= self._lag_interval:
            self._lag_counted_at = now
            self._on_lag(await self.lag())

    async def _pause(self, seconds: float, stop: asyncio.Event, *, wakeable: bool) -> None:
        waits = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waits.append(asyncio.ensure_future(self._woken.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            if wakeable and self._woken.is_set() and not stop.is_set() and self._coalesce > 0:
                # Let the commits of a burst land, so that one pass (one delete) serves them.
                await asyncio.sleep(self._coalesce)
        finally:
            for waiting in waits:
                waiting.cancel()
