"""The assessment service's read models: bases, their years, and the yearly grade lists.

Revision ID: assessment_0001
"""

from __future__ import annotations

from alembic import op

from services.assessment.projections import metadata

revision = "assessment_0001"
down_revision = None
branch_labels = ("assessment",)
depends_on = "kernel_0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())
