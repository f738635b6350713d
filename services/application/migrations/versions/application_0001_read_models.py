"""The application service's read models.

Revision ID: application_0001
"""

from __future__ import annotations

from alembic import op

from services.application.projections import metadata

revision = "application_0001"
down_revision = None
branch_labels = ("application",)
depends_on = "kernel_0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())
