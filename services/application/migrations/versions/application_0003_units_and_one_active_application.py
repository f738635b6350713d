"""The organisation registry; one active application per unit, call and programme; what calls,
applications and bases now record (level, credit code, contacts, address, station, end reason).

Tables are created from the current definitions, so a database migrated from scratch already
has every column and index by now; one migrated before this revision gets the columns and the
index it lacks and a wider `bases.status`; its read models are then rebuilt from the log
(`/audit/rebuild`).

Revision ID: application_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.application.projections.applications import ACTIVE_APPLICATION_INDEX, applications
from services.application.projections.bases import bases
from services.application.projections.calls import calls
from services.application.projections.units import units

revision = "application_0003"
down_revision = "application_0002"
branch_labels = None
depends_on = None

_NEW_COLUMNS = {
    calls: ("opened_on", "required_slots", "additional_materials", "contacts",
            "submission_address"),
    applications: ("level", "credit_code", "station_id", "certificate_no"),
    bases: ("end_reason",),
}  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    units.create(bind, checkfirst=True)
    inspector = sa.inspect(bind)
    for table, names in _NEW_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for name in names:
            if name not in present:
                column = table.c[name]
                op.add_column(table.name, sa.Column(name, column.type, nullable=True))
    if bind.dialect.name != "sqlite":  # SQLite does not enforce a VARCHAR's length
        op.alter_column("bases", "status", type_=sa.String(30), existing_nullable=False)
    indexes = {i["name"] for i in inspector.get_indexes(applications.name)}
    if ACTIVE_APPLICATION_INDEX.name not in indexes:
        ACTIVE_APPLICATION_INDEX.create(bind)
