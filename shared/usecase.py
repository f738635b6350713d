"""The use-case loop, written once: load a stream, fold it, decide, append — in one transaction.

    result = await executor.execute(decider, stream_id, command, ctx=ctx, case_id=case_id)

The events, their outbox rows and this service's read models commit together; a consumer
passes its own transaction (`conn=`) so its inbox record joins them too. A stale expected
version raises `ConcurrencyConflict` (HTTP 409); policies wrap their work in
`retry_on_conflict`, which re-reads and decides again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.codec import EventRegistry
from shared.db import Database
from shared.decider import C, ConcurrencyConflict, Decider, E, NotFound, S
from shared.envelope import GENESIS, Envelope
from shared.logging import get_logger
from shared.snapshot import Snapshot, Snapshotting, latest_snapshot, save_snapshot
from shared.store import EventStore, Metadata, PendingEvent

T = TypeVar("T")

log = get_logger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class Projection(Protocol):
    """A read model fed by this service's own events, in the same transaction."""

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None: ...


class CommandObserver(Protocol):
    def __call__(self, command: str, outcome: str, events: Sequence[Envelope]) -> None: ...


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who sent the command and in answer to what (tracing through the whole case)."""

    actor: str
    correlation_id: str
    causation_id: str | None = None

    @classmethod
    def reacting_to(cls, envelope: Envelope, service: str) -> CommandContext:
        """A policy's context: the service itself acts, caused by `envelope`, in its case's
        correlation, so the auditor can follow a fact from one service to the next."""
        return cls(f"system:{service}", envelope.correlationid, causation_id=envelope.id)


@dataclass(frozen=True)
class Aggregate(Generic[C, S, E]):
    """A decider bound to its streams, `<prefix>-<id>`, the id read off each command."""

    prefix: str
    decider: Decider[C, S, E]
    key: Callable[[C], str]

    def stream(self, id_: str) -> str:
        return f"{self.prefix}-{id_}"


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    state: S
    version: int
    case_id: str | None
    #: Hash of the event at `version` (GENESIS for an empty stream); None when the load ended
    #: on a snapshot, which does not carry it. A hint for the append, not part of what was
    #: loaded: two loads of the same state and version compare equal whatever their route.
    hash: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    stream_id: str
    case_id: str
    version: int
    state: S
    events: tuple[Envelope, ...]


@dataclass
class Executor:
    """Runs commands against deciders for one service's store."""

    db: Database
    store: EventStore
    registry: EventRegistry
    clock: Clock
    projections: Sequence[Projection] = ()
    observe: CommandObserver | None = None
    #: Called after each commit that appended events (e.g. to wake the outbox relay).
    on_commit: Callable[[], None] | None = None
    #: Deciders whose streams load from a snapshot (`shared.snapshot`); others fold in full.
    snapshots: Mapping[Decider[Any, Any, Any], Snapshotting[Any]] = field(default_factory=dict)

    def transaction(
        self, conn: AsyncConnection | None = None, *, single_write: bool = False
    ) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """Join the caller's transaction, or open (and commit) one of our own. `single_write`:
        the work writes one row through the driver and nothing else (`Database.single_write`)."""
        if conn is not None:
            return _Joined(conn)
        own = self.db.single_write() if single_write else self.db.begin()
        return own if self.on_commit is None else _ThenCall(own, self.on_commit)

    async def load(
        self, decider: Decider[Any, S, Any], stream_id: str, conn: AsyncConnection | None = None
    ) -> Loaded[S]:
        if conn is None:
            async with self.db.read_engine.connect() as reader:
                return await self.load(decider, stream_id, reader)
        how = self.snapshots.get(decider) if self.snapshots else None
        snapshot = None if how is None else await latest_snapshot(conn, stream_id, how)
        after = 0 if snapshot is None else snapshot.version
        envelopes = await self.store.read_stream(conn, stream_id, after)
        state = decider.fold(
            (self.registry.decode(e.type, e.data) for e in envelopes),
            None if snapshot is None else snapshot.state,
        )
        if envelopes:
            last = envelopes[-1]
            return Loaded(state, last.streamversion, envelopes[0].caseid, last.hash)
        if snapshot is None:
            return Loaded(state, 0, None, GENESIS)
        return Loaded(state, after, snapshot.case_id)

    async def execute(
        self,
        decider: Decider[C, S, E],
        stream_id: str,
        command: C,
        *,
        ctx: CommandContext,
        case_id: str | None = None,
        expected_version: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> CommandResult[S]:
        name = type(command).__name__
        # A command whose only write is its event's INSERT (its outbox row comes with it, by
        # trigger) needs no transaction around it: the load's read and the insert each run on
        # their own, the insert refused by UNIQUE(stream_id, version) if the stream moved
        # since the read, as it would be inside a transaction under READ COMMITTED.
        single_write = not self.projections and (
            not self.snapshots or decider not in self.snapshots
        )
        # Bound for every line logged meanwhile; set and reset directly (`bound_contextvars`
        # does the same through a generator, at three times the cost).
        bound = structlog.contextvars.bind_contextvars(stream_id=stream_id, actor=ctx.actor)
        try:
            try:
                async with self.transaction(conn, single_write=single_write) as tx:
                    result = await self._execute(
                        tx, decider, stream_id, command, ctx, case_id, expected_version
                    )
            except Exception as refused:
                if self.observe is not None:
                    self.observe(name, "refused", ())
                log.info("command refused", command=name, case_id=case_id, error=repr(refused))
                raise
            outcome = "accepted" if result.events else "no-op"
            if self.observe is not None:
                self.observe(name, outcome, result.events)
            if log.is_enabled_for(logging.INFO):  # the line's values are not free to build
                log.info(
                    "command " + outcome,
                    command=name,
                    case_id=result.case_id,
                    version=result.version,
                    events=[e.name for e in result.events],
                )
        finally:
            structlog.contextvars.reset_contextvars(**bound)
        return result

    async def run(
        self,
        aggregate: Aggregate[C, S, E],
        command: C,
        *,
        ctx: CommandContext,
        case_id: str | None = None,
        expected_version: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> CommandResult[S]:
        """`execute` on the stream of `aggregate` that `command` names."""
        stream_id = aggregate.stream(aggregate.key(command))
        return await self.execute(
            aggregate.decider,
            stream_id,
            command,
            ctx=ctx,
            case_id=case_id,
            expected_version=expected_version,
            conn=conn,
        )

    async def _execute(
        self,
        tx: AsyncConnection,
        decider: Decider[C, S, E],
        stream_id: str,
        command: C,
        ctx: CommandContext,
        case_id: str | None,
        expected_version: int | None,
    ) -> CommandResult[S]:
        loaded = await self.load(decider, stream_id, tx)
        if expected_version is not None and expected_version != loaded.version:
            raise ConcurrencyConflict(stream_id, expected_version, loaded.version)
        decided = decider.decide(command, loaded.state)
        the_case = loaded.case_id or case_id
        if the_case is None:
            if not decided:
                raise NotFound(f"{stream_id} does not exist")
            raise ValueError(f"a new stream {stream_id} needs a case id")
        pending = [
            PendingEvent(
                self.registry.type_of(event),
                self.registry.encode(event),
                getattr(event, "policy_version", None),
            )
            for event in decided
        ]
        meta = Metadata(the_case, ctx.actor, ctx.correlation_id, ctx.causation_id)
        # The load read the head in this very transaction: the append need not select it.
        head = None if loaded.hash is None else (loaded.version, loaded.hash)
        state = loaded.state
        for event in decided:  # before the append: nothing may fail after a lone insert
            state = decider.evolve(state, event)
        appended = await self.store.append(
            tx, stream_id, loaded.version, pending, meta, self.clock.now(), head=head
        )
        for envelope, event in zip(appended, decided, strict=True):
            for projection in self.projections:
                await projection.apply(tx, envelope, event)
        version = loaded.version + len(appended)
        how = self.snapshots.get(decider) if self.snapshots else None
        if how is not None and how.due(loaded.version, version):
            await save_snapshot(tx, stream_id, Snapshot(state, version, the_case), how)
        return CommandResult(stream_id, the_case, version, state, tuple(appended))


class _Joined:
    """The caller's transaction, joined: nothing to begin or end here."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def __aenter__(self) -> AsyncConnection:
        return self._conn

    async def __aexit__(self, *_: object) -> None:
        return None


class _ThenCall:
    """`transaction`, then `after()` once it has committed."""

    __slots__ = ("_after", "_transaction")

    def __init__(
        self,
        transaction: contextlib.AbstractAsyncContextManager[AsyncConnection],
        after: Callable[[], None],
    ) -> None:
        self._transaction, self._after = transaction, after

    async def __aenter__(self) -> AsyncConnection:
        return await self._transaction.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, failure: BaseException | None, trace: Any
    ) -> None:
        await self._transaction.__aexit__(kind, failure, trace)
        if kind is None:
            self._after()


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """Run `attempt` again when the stream moved under it: policies re-decide on fresh state."""
    for remaining in range(attempts - 1, -1, -1):
        try:
            return await attempt()
        except ConcurrencyConflict:
            if remaining == 0:
                raise
    raise AssertionError("unreachable")
