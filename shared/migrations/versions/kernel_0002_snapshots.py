"""Snapshots of long streams' folded state: an optimisation, safe to empty at any time.

Revision ID: kernel_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0002"
down_revision = "kernel_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("schema", sa.String(100), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snapshots")
