"""The outbox row written by the database with its event: an `AFTER INSERT` trigger on `events`.

An append used to send two statements, the events' `INSERT` and the outbox's; the trigger
makes the outbox row part of the event's own insert, so the two cannot part (same statement,
same transaction) and the append sends one statement less. On PostgreSQL the function keeps
the schema it was created in (`SET search_path FROM CURRENT`), so it writes the outbox next
to its `events` whatever the inserting session's search path.

Revision ID: kernel_0004_outbox_trigger
"""

from __future__ import annotations

from alembic import op

revision = "kernel_0004_outbox_trigger"
down_revision = "kernel_0003_signing"
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE TRIGGER events_to_outbox AFTER INSERT ON events
       BEGIN INSERT INTO outbox (position, event_id) VALUES (NEW.position, NEW.event_id); END""",
]

POSTGRES = [
    """CREATE FUNCTION haizhi_events_to_outbox() RETURNS trigger LANGUAGE plpgsql
       SET search_path FROM CURRENT AS $$
       BEGIN
         INSERT INTO outbox (position, event_id) VALUES (NEW.position, NEW.event_id);
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER events_to_outbox AFTER INSERT ON events
       FOR EACH ROW EXECUTE FUNCTION haizhi_events_to_outbox()""",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE if sqlite else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_to_outbox")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_to_outbox ON events")
        op.execute("DROP FUNCTION IF EXISTS haizhi_events_to_outbox()")
