"""Provincial subsidy policy: a plan's programme and call day; bases not planned; priority.

Revision ID: funding_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.funding.projections.bases import not_planned, priority_approvals

revision = "funding_0002"
down_revision = "funding_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "funding_plans",
        sa.Column("programme", sa.String(30), nullable=False, server_default="national_base"),
    )
    op.add_column("funding_plans", sa.Column("call_opened_on", sa.String(10)))
    bind = op.get_bind()
    for table in (not_planned, priority_approvals):
        table.create(bind)
