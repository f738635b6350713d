"""The kernel's tables: events (immutable), outbox, inbox, idempotency.

Revision ID: kernel_0001
"""

from __future__ import annotations

from alembic import op

from shared.schema import IMMUTABLE_EVENTS_POSTGRES, IMMUTABLE_EVENTS_SQLITE, metadata

revision = "kernel_0001"
down_revision = None
branch_labels = ("kernel",)
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)
    statements = (
        IMMUTABLE_EVENTS_SQLITE if bind.dialect.name == "sqlite" else IMMUTABLE_EVENTS_POSTGRES
    )
    for statement in statements:
        op.execute(statement)
