"""Snapshots: a long stream loads from its latest snapshot and the events after it.

A snapshot is an optimisation, never a source of truth. The `Executor` writes one, for the
deciders that opt in, in the same transaction as the append that carries a stream across a
multiple of `every` events, so it never describes a version the log does not hold; and
`Executor.load` starts from the newest one whose schema it knows, then folds the events after
it. Everything else makes the load fold the stream from its first event, as if no snapshot
existed: no snapshot yet, a snapshot of another schema (older code, a changed state class, a
bumped `version`), or one that no longer validates.

    executor = Executor(..., snapshots={base_decider: Snapshotting(TypeAdapter(Base))})

The schema of a snapshot is `v<version>.<fingerprint>`: the fingerprint is taken from the
state's JSON schema, so adding, removing or retyping a field of the state invalidates old
snapshots by itself. A change to `evolve` that folds the same events into a different state
without changing its shape (a fixed rule) must bump `version`. Only the latest snapshot of a
stream is kept; deleting any or all of them is always safe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Generic

from pydantic import PydanticUserError, TypeAdapter, ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.decider import S
from shared.envelope import canonical_json
from shared.logging import get_logger

log = get_logger(__name__)

#: Not the kernel's `shared.schema.metadata`: the table is created by its own migration
#: (kernel_0002), while kernel_0001 creates everything in that metadata.
metadata = MetaData()

snapshots = Table(
    "snapshots",
    metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("schema", String(100), nullable=False),
    Column("state", Text, nullable=False),
)


def schema_of(adapter: TypeAdapter[Any], version: int) -> str:
    """`v<version>.<first 16 hex digits of sha256 of the state's JSON schema>`."""
    try:
        shape = adapter.json_schema(mode="validation")
    except PydanticUserError as unfit:
        raise TypeError(f"a snapshotted state needs a JSON schema: {unfit}") from unfit
    return f"v{version}.{hashlib.sha256(canonical_json(shape)).hexdigest()[:16]}"


@dataclass(frozen=True)
class Snapshotting(Generic[S]):
    """How one decider's state is snapshotted: its pydantic adapter, how often, its version."""

    adapter: TypeAdapter[S]
    #: A snapshot is written by the append that carries the stream across a multiple of this.
    every: int = 100
    #: Bump when `evolve` changes what a history folds into while the state's shape stays.
    version: int = 1
    schema: str = field(init=False)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("snapshots need every >= 1 events")
        object.__setattr__(self, "schema", schema_of(self.adapter, self.version))

    def due(self, before: int, after: int) -> bool:
        """Whether an append moving a stream from `before` to `after` takes a snapshot."""
        return after // self.every > before // self.every

    def encode(self, state: S) -> str:
        return self.adapter.dump_json(state).decode("utf-8")

    def decode(self, text: str) -> S:
        return self.adapter.validate_json(text)


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[S]):
    """A stream's folded state as of `version`."""

    state: S
    version: int
    case_id: str


async def latest_snapshot(
    conn: AsyncConnection, stream_id: str, how: Snapshotting[S]
) -> Snapshot[S] | None:
    """The newest usable snapshot of `stream_id`, or None: then fold from the first event."""
    row = (
        await conn.execute(
            select(snapshots.c.version, snapshots.c.case_id, snapshots.c.state)
            .where(snapshots.c.stream_id == stream_id, snapshots.c.schema == how.schema)
            .order_by(snapshots.c.version.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    try:
        state = how.decode(str(row.state))
    except ValidationError as unreadable:
        log.warning(
            "snapshot ignored: it does not validate",
            stream_id=stream_id,
            version=int(row.version),
            error=str(unreadable),
        )
        return None
    return Snapshot(state, int(row.version), str(row.case_id))


async def save_snapshot(
    conn: AsyncConnection, stream_id: str, snapshot: Snapshot[S], how: Snapshotting[S]
) -> bool:
    """Write `snapshot` (replacing older ones of the stream) in the caller's transaction.

    A state that does not survive its own JSON round trip (a union pydantic cannot tell
    apart, a field it cannot rebuild) is not written: the stream keeps folding from the
    start, slower but right. Returns whether it was written.
    """
    text = how.encode(snapshot.state)
    try:
        faithful = how.decode(text) == snapshot.state
    except ValidationError:
        faithful = False
    if not faithful:
        log.warning(
            "snapshot not written: the state does not survive a JSON round trip",
            stream_id=stream_id,
            schema=how.schema,
        )
        return False
    await conn.execute(
        delete(snapshots).where(
            snapshots.c.stream_id == stream_id, snapshots.c.version <= snapshot.version
        )
    )
    await conn.execute(
        insert(snapshots).values(
            stream_id=stream_id,
            version=snapshot.version,
            case_id=snapshot.case_id,
            schema=how.schema,
            state=text,
        )
    )
    return True
