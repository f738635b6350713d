"""Search: the search-terms read model (`search_terms`, `search_applications`).

Tables are created from the current definitions. A database migrated before this revision
has applications and units already: rebuild the read models from the log (`/audit/rebuild`)
to fill the new tables, as after any new projection.

Revision ID: application_0006
"""

from __future__ import annotations

from alembic import op

from services.application.projections.search import search_applications, search_terms

revision = "application_0006"
down_revision = "application_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (search_terms, search_applications):
        table.create(bind, checkfirst=True)
