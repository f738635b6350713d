"""The assessment service's read models: bases, their years, and the yearly grade lists.

Revision ID: assessment_0001
"""

from __future__ import annotations

from alembic import op

from services.assessment.projections.base_years import base_years
from services.assessment.projections.bases import bases
from services.assessment.projections.grade_lists import grade_list_entries, grade_lists

revision = "assessment_0001"
down_revision = None
branch_labels = ("assessment",)
depends_on = "kernel_0001"


def upgrade() -> None:
    bind = op.get_bind()
    for table in (bases, base_years, grade_lists, grade_list_entries):
        table.create(bind)
