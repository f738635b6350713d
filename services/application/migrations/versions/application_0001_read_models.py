"""The application service's first read model: calls for applications.

Revision ID: application_0001
"""

from __future__ import annotations

from alembic import op

from services.application.projections.calls import calls

revision = "application_0001"
down_revision = None
branch_labels = ("application",)
depends_on = "kernel_0001"


def upgrade() -> None:
    calls.create(op.get_bind())
