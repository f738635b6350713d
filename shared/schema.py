"""The kernel's tables, present in every service's database.

- `events`: the log. Keyed by (stream_id, version) for optimistic concurrency; `position`
  orders the whole log for followers. Never updated or deleted (triggers refuse it).
- `outbox`: events committed but not yet confirmed in JetStream; the relay deletes a row
  once JetStream has acknowledged it.
- `inbox`: what each consumer has processed, written in the same transaction as its effect;
  its unique (consumer, upstream stream, version) makes a redelivery a no-op.
- `idempotency`: the first result of each HTTP command sent with an `Idempotency-Key`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(26), nullable=False, unique=True),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    Index("ix_events_case_id", "case_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", String(26), nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(26), nullable=False),
    Column("upstream_stream", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("processed_at", String(40), nullable=False),
    UniqueConstraint("consumer", "upstream_stream", "version", name="uq_inbox_stream_version"),
    UniqueConstraint("consumer", "event_id", name="uq_inbox_event"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

IMMUTABLE_EVENTS_SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS events_refuse_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are immutable: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_refuse_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are immutable: DELETE refused'); END""",
]

IMMUTABLE_EVENTS_POSTGRES = [
    """CREATE OR REPLACE FUNCTION haizhi_refuse_event_change() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'events are immutable: % refused', TG_OP; END $$""",
    """CREATE TRIGGER events_refuse_change BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION haizhi_refuse_event_change()""",
    """CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION haizhi_refuse_event_change()""",
]
