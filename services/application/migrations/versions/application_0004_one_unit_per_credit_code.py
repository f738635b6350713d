"""One legal entity, one registration: a unique index on `units.credit_code`.

A database migrated from scratch has it already (revision 0003 creates `units` from the
current definition); one migrated before gets it here. A database that already holds two
units under one credit code cannot take the index: the migration then fails, naming the
code, and the duplicate registrations must be settled first.

Revision ID: application_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.application.projections.units import CREDIT_CODE_INDEX, units

revision = "application_0004"
down_revision = "application_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if CREDIT_CODE_INDEX.name in {i["name"] for i in sa.inspect(bind).get_indexes(units.name)}:
        return
    twice = bind.execute(
        sa.select(units.c.credit_code)
        .group_by(units.c.credit_code)
        .having(sa.func.count() > 1)
        .limit(1)
    ).scalar()
    if twice is not None:
        raise RuntimeError(f"two units are registered under credit code {twice}: settle it first")
    CREDIT_CODE_INDEX.create(bind)
