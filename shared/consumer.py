"""Durable JetStream consumers that apply another service's events in order, exactly once in effect.

For each message:
1. the envelope is read; what this consumer already processed of that upstream stream is in
   its `inbox` rows (same database as the effect);
2. a version at or below the last processed one is a redelivery or a late duplicate (even one
   republished after the duplicate window): acknowledged, no effect;
3. a version more than one ahead is a gap: negatively acknowledged with a delay, so it comes
   back after the missing event (republished by reconcile, or still in flight);
4. otherwise the handler runs and the inbox row is written in ONE transaction; the message is
   acknowledged only after that commit;
5. a handler that keeps failing deterministically (`max_failures` times) is dead-lettered:
   recorded in the inbox as dead-lettered first (so later events of the same stream keep
   flowing), then published to the dead-letter stream with its error, then terminated;
6. a *transient* failure (`shared.faults.is_transient`: the store is full or unreachable, a
   connection was lost, a lock or serialization timeout) is not the message's fault: it is
   retried without limit after a bounded exponential backoff, never counted as a failure and
   never dead-lettered, and `store_available` is false until a message goes through again.

The dead-letter record and the dead letter are one fact: the inbox row is committed first
(an unreadable envelope gets one too, keyed by its stream sequence), and the publication to
`HAIZHI_DLQ` carries a deterministic `Nats-Msg-Id`, so a retry after a failed publication
(the message comes back; its inbox row says dead-lettered) publishes again without a
duplicate. What the inbox lists as dead letters is what `HAIZHI_DLQ` holds.

A fetch is first tried as ONE transaction (`_apply_batch`): when every message in it is readable,
new and next in its stream's order (duplicates among them are acknowledged without effect,
as above) and every handler succeeds, the effects and inbox rows of all of them commit
together and the messages are acknowledged after that commit: one fsync for the fetch instead
of one per message. That path is lean: the envelopes are read and verified before the
transaction opens, the inbox is asked once for the last version of every stream of the fetch
(one grouped `SELECT`), and the inbox rows, holding the received bytes as they came, go in
with one multi-row `INSERT`; both on the driver (`shared.db.driver_rows`), as are the inbox
statements of a single message. A gap, an unreadable envelope, a deferral, a conflict or any
handler error rolls the whole batch back and the fetch is processed message by message by the
rules above, so failure counting, dead letters, gap waiting and deferral are unchanged. A fetch
holding a redelivered message (one that failed, waited or was deferred before) goes straight to the
per-message path. Handlers must therefore keep their effects in the transaction they are given
(the exactly-once-in-effect contract already asks for that): a rolled-back batch runs them again.

In a running service FastStream fetches (`shared/edge.py`: a durable pull subscriber per
upstream, `AckPolicy.MANUAL`) and hands each batch's raw nats-py messages to `handle`: every
step above needs the raw acknowledgement protocol (ack after our commit, nak with a delay,
term, the delivery count), so it stays here. `fetch_and_process` pulls one batch directly,
for tests and tools that step a consumer by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, DriverSQL, driver_rows
from shared.decider import ConcurrencyConflict, InvalidCommand
from shared.envelope import Envelope, format_time
from shared.faults import is_transient
from shared.logging import get_logger
from shared.schema import inbox
from shared.signing import TrustedKeys
from shared.streams import DLQ_SUBJECT_PREFIX, STREAM

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]

log = get_logger(__name__)


class Deferred(Exception):
    """The handler cannot apply this event yet: a fact from another upstream must come first."""


@dataclass(frozen=True)
class Subscription:
    """One upstream service's events, by event name, for one durable consumer.

    `defer_on` names errors that mean "not yet" rather than "broken": typically the entity a
    fact is about, announced by another upstream service whose consumer has not caught up
    (streams of different services have no common order). Such a message waits, like a gap.
    """

    name: str
    upstream: str
    handlers: Mapping[str, Handler]
    defer_on: tuple[type[Exception], ...] = ()

    @property
    def filter_subject(self) -> str:
        # Every event of the upstream service: a gap in a stream's versions is only a gap
        # if we see all of them, including the names we have no handler for.
        return f"haizhi.{self.upstream}.>"


class _NotBatchable(Exception):
    """The fetch cannot be applied as one transaction: process it message by message."""


class _RecordedMeanwhile(_NotBatchable):
    """An inbox row could not be written: the event is recorded already (another instance)."""


class Outcome:
    APPLIED = "applied"
    SKIPPED = "duplicate"
    GAP = "gap"
    DEFERRED = "deferred"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    REPLAYED = "replayed"
    TRANSIENT = "transient"
    #: Refused before anything was applied (shared/signing.py): dead-lettered by sequence.
    UNTRUSTED = "untrusted"
    #: Another event id at a version already processed: dead-lettered, never skipped.
    QUARANTINED = "quarantined"
    #: A gap that outlived `max_gap_deliveries`: dead-lettered and held in the inbox, out of
    #: the stream's order, until `replay` (or a redelivery in order) applies it.
    PARKED = "parked"


class Reason:
    """The `Haizhi-Reason` header of a dead letter that no handler ever saw."""

    VERSION_CONFLICT = "version-conflict"
    GAP_UNFILLED = "gap-unfilled"


#: The inbox's `upstream_stream` of an unreadable message's dead-letter record (plus its
#: sequence in HAIZHI): no real stream id starts so, and `version` is 0.
UNREADABLE_PREFIX = "unreadable."


@dataclass
class Consumer:
    db: Database
    js: JetStreamContext
    subscription: Subscription
    max_failures: int = 5
    batch: int = 64
    ack_wait: float = 30.0
    gap_delay: float = 0.5
    retry_delay: float = 0.2
    defer_delay: float = 1.0
    #: A deferred message is dead-lettered only after this many deliveries (minutes of waiting).
    max_deferrals: int = 300
    on_dead_letter: Callable[[str], None] | None = None
    #: The longest wait between two tries of a transiently failing message.
    max_backoff: float = 10.0
    #: Called with the durable name at each transient failure (a metric counts them).
    on_transient: Callable[[str], None] | None = None
    #: Called when `store_available` changes (a gauge shows it).
    on_store: Callable[[bool], None] | None = None
    #: False from a transient failure until a message goes through again (readiness).
    store_available: bool = True
    #: Public keys of the services whose events we accept (shared/signing.py). None: the
    #: consumer refuses every message (nothing is applied unverified).
    trust: TrustedKeys | None = None
    #: Called with (durable name, reason) for every message refused unverified, quarantined
    #: or parked: an alert (`untrusted_events_total`, `quarantined_events_total`).
    on_alert: Callable[[str, str], None] | None = None
    #: Deliveries a gap waits for its missing predecessor before it is parked.
    max_gap_deliveries: int = 1200
    #: Called with (durable name, outcome) for every message this process handled (a metric
    #: counts them: with replicas, each one's share of the work).
    on_outcome: Callable[[str, str], None] | None = None
    _sub: JetStreamContext.PullSubscription | None = field(default=None, repr=False)
    _streak: int = field(default=0, repr=False)  # consecutive transient failures
    #: Deterministic failures by HAIZHI sequence, in this process (a restart starts over).
    _failures: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def durable(self) -> str:
        return self.subscription.name

    async def start(self) -> None:
        """Bind a pull subscription of our own, for `fetch_and_process`."""
        filter_subject = self.subscription.filter_subject
        config = consumer_config(self.durable, filter_subject, ack_wait=self.ack_wait)
        self._sub = eager(
            await self.js.pull_subscribe(
                self.subscription.filter_subject, durable=self.durable, stream=STREAM, config=config
            )
        )

    async def stop(self) -> None:
        """Leave the subscription (the durable consumer stays on the server)."""
        if self._sub is not None:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await self._sub.unsubscribe()
            self._sub = None

    async def pending(self) -> int:
        """Messages not yet delivered plus those delivered and not acknowledged."""
        info = await self.js.consumer_info(STREAM, self.durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def fetch_and_process(self, wait: float = 1.0) -> list[str]:
        """One pull: process what arrives, in order; return each message's outcome."""
        if self._sub is None:
            await self.start()
        assert self._sub is not None
        try:
            messages = await self._sub.fetch(self.batch, timeout=wait)
        except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing arrives
            return []
        return await self.handle(messages)

    async def handle(self, messages: list[Msg]) -> list[str]:
        """Process one fetched batch, in order; return each message's outcome.

        First as one transaction, else message by message (see the module's docstring).
        """
        outcomes = await self._handle(messages)
        if self.on_outcome is not None:
            for outcome in outcomes:
                self.on_outcome(self.durable, outcome)
        return outcomes

    async def _handle(self, messages: list[Msg]) -> list[str]:
        if len(messages) > 1 and all(_first_delivery(message) for message in messages):
            try:
                outcomes = await self._apply_batch(messages)
            except (ConcurrencyConflict, IntegrityError, _NotBatchable):
                pass
            except Exception as failure:  # a handler's error: the per-message path counts it
                log.info("batch rolled back", consumer=self.durable, error=repr(failure))
                if is_transient(failure):
                    return await self._transient_rest(messages, failure)
            else:
                self._went_through()
                for message in messages:
                    await message.ack()
                return outcomes
        outcomes = []
        for index, message in enumerate(messages):
            outcome = await self.process(message)
            outcomes.append(outcome)
            if outcome == Outcome.TRANSIENT:  # the rest would fail alike: all wait together
                return outcomes + await self._transient_rest(messages[index + 1 :], None)
        return outcomes

    async def process(self, message: Msg) -> str:
        try:
            outcome = await self._read_and_process(message)
        except Exception as failure:  # recording or publishing a dead letter, acknowledging
            if not is_transient(failure):
                raise
            return await self._transient(message, failure)
        if outcome != Outcome.FAILED:
            self._failures.pop(_sequence(message), None)
        if outcome != Outcome.TRANSIENT:
            self._went_through()
        return outcome

    async def _read_and_process(self, message: Msg) -> str:
        try:
            envelope = Envelope.from_json(message.data)
        except (ValueError, KeyError, TypeError) as unreadable:
            return await self._dead_letter(message, None, f"unreadable envelope: {unreadable!r}")
        with structlog.contextvars.bound_contextvars(
            case_id=envelope.caseid, event_id=envelope.id, consumer=self.durable
        ):
            refused = self.untrusted(message, envelope)
            if refused is not None:
                return await self._refuse(message, refused, Outcome.UNTRUSTED)
            return await self._process(message, envelope)

    def untrusted(self, message: Msg, envelope: Envelope) -> str | None:
        """Why `message` may not be applied (shared/signing.py), or None: signed under a
        trusted key of the service that owns its type and source, on its own subject."""
        if self.trust is None:
            return "no-trusted-keys"
        return self.trust.check_received(envelope, message.subject)

    async def _process(self, message: Msg, envelope: Envelope) -> str:
        for _ in range(5):  # policies retry on a concurrency conflict
            try:
                outcome = await self._apply(envelope)
                break
            except ConcurrencyConflict:
                continue
            except Exception as failure:
                if is_transient(failure):
                    return await self._transient(message, failure)
                if isinstance(failure, (Deferred, *self.subscription.defer_on)):
                    return await self._deferred(message, envelope, failure)
                return await self._failed(message, envelope, failure)
        else:
            return await self._failed(message, envelope, RuntimeError("conflict after 5 tries"))
        if outcome == Outcome.GAP and _delivered(message) >= self.max_gap_deliveries:
            outcome = Outcome.PARKED
        if outcome == Outcome.QUARANTINED:
            return await self._refuse(message, Reason.VERSION_CONFLICT, outcome, envelope)
        if outcome == Outcome.PARKED:
            return await self._park(message, envelope)
        if outcome == Outcome.GAP:
            await message.nak(delay=self._gap_wait(message))
        elif outcome == Outcome.SKIPPED and not _first_delivery(message):
            # Dead-lettered on an earlier delivery whose publication may have failed: publish
            # again (idempotent), so the record never stands without its dead letter.
            if await self._recorded_dead(envelope.id):
                return await self._dead_letter(
                    message, envelope, "dead-lettered on an earlier delivery"
                )
            await message.ack()
        else:
            await message.ack()
        return outcome

    async def _apply(self, envelope: Envelope) -> str:
        handler = self.subscription.handlers.get(envelope.name)
        try:
            async with self.db.begin() as conn:
                last, held = await self._last_and_held(
                    conn, envelope.subject, envelope.streamversion
                )
                if held is not None and held[0] != envelope.id:
                    return Outcome.QUARANTINED  # same version, another event
                if envelope.streamversion <= last:
                    return Outcome.SKIPPED
                if held is not None and held[1] != Outcome.PARKED:
                    return Outcome.SKIPPED
                if envelope.streamversion > last + 1:
                    if held is not None:  # parked already: it waits for `replay`
                        return Outcome.SKIPPED
                    if await self._parked_before(conn, envelope):
                        return Outcome.PARKED  # behind a parked event: it cannot fill first
                    return Outcome.GAP
                if handler is not None:
                    await handler(conn, envelope)
                if held is not None:  # parked, and in order now: applied at last
                    await self._unpark(conn, envelope.id, Outcome.APPLIED)
                else:
                    await self._record(conn, envelope, Outcome.APPLIED)
        except (IntegrityError, _RecordedMeanwhile):
            # Another instance recorded this very event first: it is a duplicate now.
            return Outcome.SKIPPED
        return Outcome.APPLIED

    async def _apply_batch(self, messages: list[Msg]) -> list[str]:
        """Apply every message of a fetch in one transaction, or raise (nothing committed).

        Lean: every envelope is read and verified before the transaction opens; the inbox is
        asked once for the last version of every stream in the fetch (one grouped `SELECT`);
        the inbox rows keep the received bytes as they came (they are the producer's stored
        canonical bytes, whose hash and signature were just verified) and go in with one
        multi-row `INSERT` (per `_INSERT_ROWS`).
        """
        received: list[tuple[Envelope, str]] = []
        for message in messages:
            try:
                envelope = Envelope.from_json(message.data)
                text = message.data.decode("utf-8")
            except (ValueError, KeyError, TypeError) as unreadable:  # UnicodeError: ValueError
                raise _NotBatchable("unreadable envelope") from unreadable
            if self.untrusted(message, envelope) is not None:
                raise _NotBatchable("untrusted")
            received.append((envelope, text))
        outcomes: list[str] = []
        in_batch: dict[tuple[str, int], str] = {}  # (stream, version) -> id applied here
        rows: list[tuple[Any, ...]] = []
        processed_at = format_time(datetime.now(UTC))
        handlers = self.subscription.handlers
        async with self.db.begin() as conn:
            last = await self.last_versions(conn, {envelope.subject for envelope, _ in received})
            for envelope, text in received:
                stream = envelope.subject
                version = envelope.streamversion
                if version <= last[stream]:
                    held_id = in_batch.get((stream, version))
                    if held_id is None:
                        held = await self._held(conn, stream, version)
                        held_id = held[0] if held is not None else None
                    if held_id != envelope.id:
                        raise _NotBatchable("same version, another event")
                    outcomes.append(Outcome.SKIPPED)
                    continue
                if version > last[stream] + 1:
                    raise _NotBatchable("gap")
                handler = handlers.get(envelope.name)
                if handler is not None:
                    await handler(conn, envelope)
                last[stream] = version
                rows.append(
                    (
                        self.durable,
                        envelope.id,
                        stream,
                        version,
                        Outcome.APPLIED,
                        text,
                        processed_at,
                    )
                )
                in_batch[stream, version] = envelope.id
                outcomes.append(Outcome.APPLIED)
            await _insert_inbox(conn, rows)
        return outcomes

    async def dead_letters(self) -> list[Envelope]:
        """The events this consumer dead-lettered and nobody has replayed yet."""
        letters = await self.letters()
        return [letter for _seq, letter in letters if isinstance(letter, Envelope)]

    async def unreadable_letters(self) -> list[dict[str, Any]]:
        """The messages this consumer dead-lettered because their envelope could not be read:
        `{"id": "#<sequence>", "sequence", "subject", "data", "error"}` each."""
        letters = await self.letters()
        return [letter for _seq, letter in letters if isinstance(letter, dict)]

    async def letters(
        self, after: int = 0, limit: int | None = None
    ) -> list[tuple[int, Envelope | dict[str, Any]]]:
        """Both kinds of letters not yet replayed, by their inbox sequence after `after` (at
        most `limit`): an envelope for a read event dead-lettered or parked, a dict (as in
        `unreadable_letters`) for an unreadable one."""
        c = inbox.c
        read = c.outcome.in_((Outcome.DEAD_LETTERED, Outcome.PARKED)) & (c.version > 0)
        unread = (
            (c.outcome == Outcome.DEAD_LETTERED)
            & (c.version == 0)
            & c.upstream_stream.startswith(UNREADABLE_PREFIX)
        )
        query = (
            select(c.seq, c.version, c.event_id, c.envelope)
            .where(c.consumer == self.durable, c.seq > after, read | unread)
            .order_by(c.seq)
            .limit(limit)
        )
        async with self.db.read_engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (
                int(row.seq),
                Envelope.from_json(row.envelope)
                if row.version > 0
                else {"id": row.event_id, **json.loads(row.envelope)},
            )
            for row in rows
        ]

    async def _recorded_dead(self, event_id: str) -> bool:
        async with self.db.read_engine.connect() as conn:
            outcome = (
                await conn.execute(
                    select(inbox.c.outcome).where(
                        inbox.c.consumer == self.durable, inbox.c.event_id == event_id
                    )
                )
            ).scalar()
        return outcome in (Outcome.DEAD_LETTERED, Outcome.REPLAYED, Outcome.PARKED)

    async def replay(self, event_id: str) -> str:
        """Run the handler again for a dead-lettered event, now, by an operator's decision.

        Later events of its stream have flowed past it, so this applies it out of order: the
        operator replays once the cause (a bug, a missing fact) is fixed. The inbox row turns
        from dead-lettered to replayed in the same transaction as the effect.
        """
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    select(inbox.c.envelope, inbox.c.outcome).where(
                        inbox.c.consumer == self.durable,
                        inbox.c.event_id == event_id,
                        inbox.c.outcome.in_((Outcome.DEAD_LETTERED, Outcome.PARKED)),
                    )
                )
            ).first()
            if row is None or event_id.startswith("#"):
                raise LookupError(f"{self.durable} holds no replayable dead letter {event_id}")
            envelope = Envelope.from_json(row.envelope)
            if row.outcome == Outcome.PARKED:
                return await self._replay_parked(conn, envelope)
            handler = self.subscription.handlers.get(envelope.name)
            if handler is not None:
                await handler(conn, envelope)
            await conn.execute(
                update(inbox)
                .where(inbox.c.consumer == self.durable, inbox.c.event_id == event_id)
                .values(outcome=Outcome.REPLAYED, processed_at=format_time(datetime.now(UTC)))
            )
        return Outcome.REPLAYED

    async def _replay_parked(self, conn: AsyncConnection, envelope: Envelope) -> str:
        """Apply a parked event, in its stream's order, and the parked ones right after it.

        Its predecessors must be in (republished by `reconcile --repair` upstream, applied
        as they came); otherwise it is refused, still parked."""
        last = await self.last_version(conn, envelope.subject)
        if envelope.streamversion != last + 1:
            raise InvalidCommand(
                f"{envelope.subject} is at version {last} here: versions {last + 1}.."
                f"{envelope.streamversion - 1} must arrive first (reconcile --repair upstream)"
            )
        while True:
            handler = self.subscription.handlers.get(envelope.name)
            if handler is not None:
                await handler(conn, envelope)
            await self._unpark(conn, envelope.id, Outcome.REPLAYED)
            following = (
                await conn.execute(
                    select(inbox.c.envelope).where(
                        inbox.c.consumer == self.durable,
                        inbox.c.upstream_stream == envelope.subject,
                        inbox.c.version == envelope.streamversion + 1,
                        inbox.c.outcome == Outcome.PARKED,
                    )
                )
            ).first()
            if following is None:
                return Outcome.REPLAYED
            envelope = Envelope.from_json(following.envelope)

    async def last_version(self, conn: AsyncConnection, upstream_stream: str) -> int:
        """The last version processed in order (a parked event is not: it waits)."""
        value = (
            await conn.execute(
                select(func.max(inbox.c.version)).where(
                    inbox.c.consumer == self.durable,
                    inbox.c.upstream_stream == upstream_stream,
                    inbox.c.outcome != Outcome.PARKED,
                )
            )
        ).scalar()
        return int(value or 0)

    async def last_versions(
        self, conn: AsyncConnection, upstream_streams: Collection[str]
    ) -> dict[str, int]:
        """`last_version` of each of `upstream_streams`, in one grouped query."""
        found = dict.fromkeys(upstream_streams, 0)
        names = sorted(found)
        for start in range(0, len(names), 500):  # bound parameters stay few
            chunk = names[start : start + 500]
            rows = await driver_rows(
                conn, _last_versions_sql(len(chunk)), (self.durable, Outcome.PARKED, *chunk)
            )
            if rows is None:  # the driver cannot run it in this transaction: SQLAlchemy can
                rows = list(
                    await conn.execute(
                        select(inbox.c.upstream_stream, func.max(inbox.c.version))
                        .where(
                            inbox.c.consumer == self.durable,
                            inbox.c.upstream_stream.in_(chunk),
                            inbox.c.outcome != Outcome.PARKED,
                        )
                        .group_by(inbox.c.upstream_stream)
                    )
                )
            for stream, version in rows:
                found[str(stream)] = int(version or 0)
        return found

    async def _last_and_held(
        self, conn: AsyncConnection, upstream_stream: str, version: int
    ) -> tuple[int, tuple[str, str] | None]:
        """`last_version` and `_held` of one stream together, in one statement."""
        params = (Outcome.PARKED, version, version, self.durable, upstream_stream)
        rows = await driver_rows(conn, _LAST_AND_HELD, params)
        if rows is not None:
            row = rows[0]
        else:  # the driver cannot run it in this transaction: SQLAlchemy can
            c = inbox.c
            at_version = c.version == version
            row = (
                await conn.execute(
                    select(
                        func.max(case((c.outcome != Outcome.PARKED, c.version))),
                        func.max(case((at_version, c.event_id))),
                        func.max(case((at_version, c.outcome))),
                    ).where(c.consumer == self.durable, c.upstream_stream == upstream_stream)
                )
            ).one()
        held = None if row[1] is None else (str(row[1]), str(row[2]))
        return int(row[0] or 0), held

    async def _held(
        self, conn: AsyncConnection, upstream_stream: str, version: int
    ) -> tuple[str, str] | None:
        """(event id, outcome) the inbox holds at this version of the stream, if any."""
        row = (
            await conn.execute(
                select(inbox.c.event_id, inbox.c.outcome).where(
                    inbox.c.consumer == self.durable,
                    inbox.c.upstream_stream == upstream_stream,
                    inbox.c.version == version,
                )
            )
        ).first()
        return None if row is None else (str(row.event_id), str(row.outcome))

    async def _parked_before(self, conn: AsyncConnection, envelope: Envelope) -> bool:
        row = (
            await conn.execute(
                select(inbox.c.seq)
                .where(
                    inbox.c.consumer == self.durable,
                    inbox.c.upstream_stream == envelope.subject,
                    inbox.c.outcome == Outcome.PARKED,
                    inbox.c.version < envelope.streamversion,
                )
                .limit(1)
            )
        ).first()
        return row is not None

    async def _unpark(self, conn: AsyncConnection, event_id: str, outcome: str) -> None:
        await conn.execute(
            update(inbox)
            .where(inbox.c.consumer == self.durable, inbox.c.event_id == event_id)
            .values(outcome=outcome, processed_at=format_time(datetime.now(UTC)))
        )

    async def _park(self, message: Msg, envelope: Envelope) -> str:
        """A gap that never filled: held in the inbox as parked (not processed: the missing
        versions still apply when they come), dead-lettered with `gap-unfilled`, alerted.
        `replay` applies it once its predecessors are in (reconcile republishes them)."""
        processed_at = format_time(datetime.now(UTC))
        with contextlib.suppress(IntegrityError):  # parked by an earlier try or instance
            async with self.db.begin() as conn:
                await conn.execute(
                    insert(inbox).values(self._inbox_row(envelope, Outcome.PARKED, processed_at))
                )
        return await self._refuse(message, Reason.GAP_UNFILLED, Outcome.PARKED, envelope, held=True)

    async def _refuse(
        self,
        message: Msg,
        reason: str,
        outcome: str,
        envelope: Envelope | None = None,
        *,
        held: bool = False,
    ) -> str:
        """Dead-letter `message` unapplied, with its reason, and raise the alert.

        Untrusted and quarantined messages are recorded by their HAIZHI sequence, never at
        the version they claim (it belongs to the real event); a parked one also holds its
        version (`_park`)."""
        log.error(
            "refused",
            consumer=self.durable,
            reason=reason,
            subject=message.subject,
            event_id=envelope.id if envelope is not None else None,
        )
        if self.on_alert is not None:
            self.on_alert(self.durable, reason)
        letter = envelope if held else None
        await self._dead_letter(message, letter, f"{outcome}: {reason}", reason=reason)
        return outcome

    async def _record(self, conn: AsyncConnection, envelope: Envelope, outcome: str) -> None:
        processed_at = format_time(datetime.now(UTC))
        row = self._inbox_row(envelope, outcome, processed_at)
        await _insert_inbox(conn, [tuple(row[column] for column in _INBOX_COLUMNS)])

    def _inbox_row(self, envelope: Envelope, outcome: str, processed_at: str) -> dict[str, Any]:
        return {
            "consumer": self.durable,
            "event_id": envelope.id,
            "upstream_stream": envelope.subject,
            "version": envelope.streamversion,
            "outcome": outcome,
            "envelope": envelope.to_json().decode("utf-8"),
            "processed_at": processed_at,
        }

    async def _deferred(self, message: Msg, envelope: Envelope, reason: Exception) -> str:
        if message.metadata.num_delivered >= self.max_deferrals:
            return await self._failed(message, envelope, reason, final=True)
        log.info("deferred", consumer=self.durable, event_id=envelope.id, reason=repr(reason))
        await message.nak(delay=self.defer_delay)
        return Outcome.DEFERRED

    async def _failed(
        self, message: Msg, envelope: Envelope, failure: Exception, *, final: bool = False
    ) -> str:
        sequence = _sequence(message)
        failures = self._failures[sequence] = self._failures.get(sequence, 0) + 1
        log.warning(
            "handler failed",
            consumer=self.durable,
            event_id=envelope.id,
            type=envelope.type,
            failures=failures,
            error=repr(failure),
        )
        if final or failures >= self.max_failures:
            error = "".join(traceback.format_exception(failure))
            return await self._dead_letter(message, envelope, error)
        await message.nak(delay=self.retry_delay * failures)
        return Outcome.FAILED

    async def _transient(self, message: Msg, failure: BaseException) -> str:
        """Not the message's fault: it comes back after the backoff, uncounted."""
        delay = self._backoff()
        self._streak += 1
        if self.store_available and not isinstance(failure, NatsError):  # NATS: its own check
            self.store_available = False
            if self.on_store is not None:
                self.on_store(False)
        if self.on_transient is not None:
            self.on_transient(self.durable)
        log.warning(
            "transient failure, retrying",
            consumer=self.durable,
            subject=message.subject,
            retry_in=delay,
            error=repr(failure),
        )
        with contextlib.suppress(Exception):  # else it comes back after ack_wait
            await message.nak(delay=delay)
        return Outcome.TRANSIENT

    async def _transient_rest(
        self, messages: list[Msg], failure: BaseException | None
    ) -> list[str]:
        """Give `messages` back (the first with `failure` counted), then wait out the backoff."""
        delay = self._backoff()
        outcomes = []
        for message in messages:
            if failure is not None:
                outcomes.append(await self._transient(message, failure))
                failure = None
                continue
            with contextlib.suppress(Exception):
                await message.nak(delay=delay)
            outcomes.append(Outcome.TRANSIENT)
        await asyncio.sleep(delay)  # the backoff itself: no fetch until it has passed
        return outcomes

    def _gap_wait(self, message: Msg) -> float:
        """How long a gap waits before it comes back: `gap_delay`, but an eighth, a quarter
        and a half of it at its first three deliveries. A gap is most often its predecessor in
        flight at this moment, in another replica sharing the durable consumer, or in the
        same fetch's rolled-back batch: it is done within milliseconds, not half a second."""
        return self.gap_delay * min(1.0, 2.0 ** (_delivered(message) - 4))

    def _backoff(self) -> float:
        return float(min(self.retry_delay * 2 ** min(self._streak, 16), self.max_backoff))

    def _went_through(self) -> None:
        self._streak = 0
        if not self.store_available:
            self.store_available = True
            log.info("store available again", consumer=self.durable)
            if self.on_store is not None:
                self.on_store(True)

    async def _dead_letter(
        self, message: Msg, envelope: Envelope | None, error: str, *, reason: str | None = None
    ) -> str:
        """Record, then publish, then terminate: every step may be retried without a ghost."""
        sequence = _sequence(message)
        processed_at = format_time(datetime.now(UTC))
        if envelope is not None:
            letter_id = envelope.id
            row = self._inbox_row(envelope, Outcome.DEAD_LETTERED, processed_at)
        else:
            letter_id = f"#{sequence}"
            text = (message.data or b"").decode("utf-8", errors="replace")
            row = {
                "consumer": self.durable,
                "event_id": letter_id,
                "upstream_stream": f"{UNREADABLE_PREFIX}{sequence}",
                "version": 0,
                "outcome": Outcome.DEAD_LETTERED,
                "envelope": json.dumps(
                    {
                        "sequence": sequence,
                        "subject": message.subject,
                        "data": text,
                        "error": error[-2000:],
                    }
                ),
                "processed_at": processed_at,
            }
        with contextlib.suppress(IntegrityError):  # recorded by an earlier try or instance
            async with self.db.begin() as conn:
                await conn.execute(insert(inbox).values(row))
        if envelope is not None and not await self._recorded_dead(envelope.id):
            # Another instance applied this very event meanwhile: a duplicate, not a letter.
            await message.ack()
            return Outcome.SKIPPED
        subject = f"{DLQ_SUBJECT_PREFIX}.{self.durable}.{message.subject}"
        headers = {
            "Nats-Msg-Id": f"{self.durable}:{letter_id}",
            "Haizhi-Consumer": self.durable,
            "Haizhi-Dead-Letter": letter_id,
            "Haizhi-Original-Subject": message.subject,
            "Haizhi-Original-Sequence": str(sequence),
            "Haizhi-Error": error[-2000:].replace("\r", " ").replace("\n", " | "),
        }
        if reason is not None:
            headers["Haizhi-Reason"] = reason
        ack = await self.js.publish(subject, message.data, headers=headers)
        await message.term()
        if not ack.duplicate:
            if self.on_dead_letter is not None:
                self.on_dead_letter(self.durable)
            log.error("dead-lettered", consumer=self.durable, subject=message.subject)
        return Outcome.DEAD_LETTERED


#: `Consumer._last_and_held` on the driver: parked outcome, version twice, consumer, stream.
_LAST_AND_HELD = DriverSQL(
    "SELECT max(CASE WHEN outcome <> ? THEN version END),"
    " max(CASE WHEN version = ? THEN event_id END), max(CASE WHEN version = ? THEN outcome END)"
    " FROM inbox WHERE consumer = ? AND upstream_stream = ?",
    "SELECT max(CASE WHEN outcome <> $1 THEN version END),"
    " max(CASE WHEN version = $2 THEN event_id END), max(CASE WHEN version = $3 THEN outcome END)"
    " FROM inbox WHERE consumer = $4 AND upstream_stream = $5",
)
_INBOX_COLUMNS = (
    "consumer", "event_id", "upstream_stream", "version", "outcome", "envelope", "processed_at",
)  # fmt: skip
#: Rows per inbox `INSERT` (7 parameters each: under SQLite's oldest limit of 999).
_INSERT_ROWS = 128


@functools.cache
def _last_versions_sql(streams: int) -> DriverSQL:
    """`Consumer.last_versions` of `streams` streams on the driver: consumer, the parked
    outcome, then the stream ids."""
    where = "consumer = {} AND outcome <> {} AND upstream_stream IN ({})"
    query = (
        f"SELECT upstream_stream, max(version) FROM inbox WHERE {where} GROUP BY upstream_stream"
    )
    dollars = [f"${n}" for n in range(1, streams + 3)]
    return DriverSQL(
        query.format("?", "?", ", ".join("?" * streams)),
        query.format(dollars[0], dollars[1], ", ".join(dollars[2:])),
    )


@functools.cache
def _insert_inbox_sql(rows: int) -> DriverSQL:
    """One `INSERT` of `rows` inbox rows on the driver, their values in `_INBOX_COLUMNS` order."""
    width = len(_INBOX_COLUMNS)
    into = f"INSERT INTO inbox ({', '.join(_INBOX_COLUMNS)}) VALUES "
    question = f"({', '.join('?' * width)})"
    numbered = (
        f"({', '.join(f'${row * width + column}' for column in range(1, width + 1))})"
        for row in range(rows)
    )
    return DriverSQL(into + ", ".join([question] * rows), into + ", ".join(numbered))


async def _insert_inbox(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """Insert inbox rows (values in `_INBOX_COLUMNS` order) in `conn`'s transaction: one driver
    statement per `_INSERT_ROWS`; through SQLAlchemy where the driver cannot run it. A row
    already there (another instance recorded the event) fails it: `_RecordedMeanwhile`."""
    for start in range(0, len(rows), _INSERT_ROWS):
        chunk = rows[start : start + _INSERT_ROWS]
        values = [value for row in chunk for value in row]
        try:
            done = await driver_rows(conn, _insert_inbox_sql(len(chunk)), values)
        except IntegrityError as failure:  # the driver's, as SQLAlchemy reports it
            raise _RecordedMeanwhile(str(failure)) from failure
        if done is None:
            await conn.execute(
                insert(inbox), [dict(zip(_INBOX_COLUMNS, row, strict=True)) for row in chunk]
            )


class _Eager(NatsSubscription):
    """nats-py's subscription whose `next_msg` hands over a message already queued at once.

    nats-py's `fetch` takes each message of a batch by `next_msg`, which starts a task (a fresh
    uuid4, a timeout, a `wait_for`) per message even when the message is already queued,
    where one socket read puts most of a batch at once: several event-loop turns per message.
    A queued message is taken here as that task would take it (the same bookkeeping); an empty
    queue, a closed connection or a callback subscription go through nats-py's own path."""

    async def next_msg(self, timeout: float | None = 1.0) -> Msg:  # noqa: ASYNC109 (nats-py's)
        queue = self._pending_queue
        if queue.empty() or self._cb or self._conn.is_closed:
            return await super().next_msg(timeout)
        message = queue.get_nowait()
        self._pending_size -= len(message.data)
        queue.task_done()
        return message


def eager(pull: JetStreamContext.PullSubscription) -> JetStreamContext.PullSubscription:
    """`pull`, its queued messages handed to `fetch` without a task each (`_Eager`)."""
    if type(pull._sub) is NatsSubscription:
        pull._sub.__class__ = _Eager
    return pull


def consumer_config(durable: str, filter_subject: str, *, ack_wait: float) -> api.ConsumerConfig:
    """A durable consumer's config: explicit acks, every message from the start, our counting."""
    return api.ConsumerConfig(
        durable_name=durable,
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        filter_subject=filter_subject,
        ack_wait=ack_wait,
        max_deliver=-1,  # we decide when a message is dead, counting real failures
        max_ack_pending=10_000,
    )


def _sequence(message: Msg) -> int:
    """`message`'s sequence in HAIZHI (0 without JetStream metadata)."""
    try:
        return int(message.metadata.sequence.stream)
    except Exception:
        return 0


def _delivered(message: Msg) -> int:
    try:
        return int(message.metadata.num_delivered or 1)
    except Exception:
        return 1


def _first_delivery(message: Msg) -> bool:
    """Whether JetStream delivers `message` for the first time (a redelivery may be poison)."""
    try:
        return int(message.metadata.num_delivered or 1) <= 1
    except Exception:  # no JetStream metadata: let the per-message path judge it
        return False
