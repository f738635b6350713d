"""The bases' deadlines the notifier reminds of (`notification_deadlines`), written out.

Revision ID: notification_0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, MetaData, String, Table, Text

revision = "notification_0002"
down_revision = "notification_0001"
branch_labels = None
depends_on = None

ID = 120
metadata = MetaData()

Table(
    "notification_deadlines",
    metadata,
    Column("deadline_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("obligation", String(30), nullable=False),
    Column("due_on", String(10), index=True),
    Column("known_on", String(10)),
    Column("status", String(10), nullable=False),
    Column("reminded", Text, nullable=False),
    Column("upstream", String(200)),
    Column("facts", Text, nullable=False),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())
