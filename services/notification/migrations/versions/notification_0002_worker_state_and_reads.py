"""What is not a projection moves out of the projection's tables: the delivery worker's tries
(`notification_attempts`) and the inbox's read marks (`notification_reads`).

Revision ID: notification_0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Integer, MetaData, String, Table, Text

revision = "notification_0002"
down_revision = "notification_0001"
branch_labels = None
depends_on = None

metadata = MetaData()

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
