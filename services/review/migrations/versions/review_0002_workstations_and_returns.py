"""Work stations and returned renewal requests: the station certificates table, and the new
columns of the reviews (`station_id`) and renewals (`statement`, `refused_on`) read models.

review_0001 builds its tables from the live metadata, so on a fresh database they already have
these columns; on one migrated before, they are added here.

Revision ID: review_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.review.projections.certificates import station_certificates

revision = "review_0002"
down_revision = "review_0001"
branch_labels = None
depends_on = None

NEW_COLUMNS = {
    "reviews": [sa.Column("station_id", sa.String(40))],
    "renewals": [sa.Column("statement", sa.Text), sa.Column("refused_on", sa.String(10))],
}


def upgrade() -> None:
    bind = op.get_bind()
    station_certificates.create(bind, checkfirst=True)
    inspector = sa.inspect(bind)
    for table, columns in NEW_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        for column in columns:
            if column.name not in present:
                op.add_column(table, column)
