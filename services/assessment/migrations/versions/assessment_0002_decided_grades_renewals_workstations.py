"""Decided grades (suggestion, proposal reason, amendments), renewal pending and renewal
assessments, provincial work stations.

New tables are created by name. The columns added to the tables of assessment_0001 are added
only where missing: assessment_0001 creates its tables from today's definitions, so a database
created after this revision already has them, and one created before gets them here.

Revision ID: assessment_0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Table, inspect

from services.assessment.projections import base_years, bases, grade_lists
from services.assessment.projections.renewal_assessments import renewal_assessments
from services.assessment.projections.workstations import workstations

revision = "assessment_0002"
down_revision = "assessment_0001"
branch_labels = None
depends_on = None

ADDED: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (bases.bases, bases.ADDED_IN_0002),
    (base_years.base_years, base_years.ADDED_IN_0002),
    (grade_lists.grade_list_entries, grade_lists.ADDED_IN_0002),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in ADDED:
        present = {c["name"] for c in inspect(bind).get_columns(table.name)}
        for name in columns:
            if name not in present:
                op.add_column(table.name, Column(name, table.c[name].type, nullable=True))
    for new in (renewal_assessments, workstations):
        new.create(bind)
