"""Search: the search-terms read model of bases (`search_terms`).

The table is created from the current definition. A database migrated before this revision
has bases already: rebuild the read models from the log (`/audit/rebuild`) to fill it, as
after any new projection.

Revision ID: assessment_0004
"""

from __future__ import annotations

from alembic import op

from services.assessment.projections.search import search_terms

revision = "assessment_0004"
down_revision = "assessment_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    search_terms.create(op.get_bind(), checkfirst=True)
