"""The notification service's tables, as first released (written out, not the live models).

Revision ID: notification_0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, UniqueConstraint

from shared.schema import Position

revision = "notification_0001"
down_revision = None
branch_labels = ("notification",)
depends_on = "kernel_0001"

ID = 120
metadata = MetaData()

Table(
    "notification_deliveries",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), nullable=False, unique=True),
    Column("notice_id", String(ID), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("stream_id", String(ID + 20), nullable=False),
    Column("user_id", String(200), index=True),
    Column("email", String(320)),
    Column("language", String(2), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("case_id", String(ID), nullable=False),
    Column("unit_name", String(200)),
    Column("facts", Text, nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40)),
    Column("last_error", Text),
    Column("message_id", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40)),
    UniqueConstraint("notice_id", "recipient", name="uq_notification_once"),
)
Table(
    "notification_cases",
    metadata,
    Column("case_id", String(ID), primary_key=True),
    Column("unit_id", String(ID), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
)
Table(
    "notification_units",
    metadata,
    Column("unit_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
)
Table(
    "notification_contacts",
    metadata,
    Column("unit_id", String(ID), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("name", String(200), nullable=False),
)
Table(
    "notification_people",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("org_id", String(ID), index=True),
    Column("jurisdictions", Text, nullable=False),
    Column("email", String(320)),
    Column("language", String(2), nullable=False),
    Column("email_enabled", Integer, nullable=False),
    Column("opt_out", Text, nullable=False),
    Column("digest", String(10), nullable=False),
    Column("seen_at", String(40), nullable=False),
)
# Not projections (no event writes them; a rebuild leaves them alone): the delivery worker's
# tries of each pending mail, and each person's read marks.
Table(
    "notification_attempts",
    metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("last_error", Text),
    Column("claimed_until", String(40)),
)
Table(
    "notification_reads",
    metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("read_at", String(40), nullable=False),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())
