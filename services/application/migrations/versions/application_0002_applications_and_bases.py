"""Read models of applications, their files, designated bases and renewal requests.

Revision ID: application_0002
"""

from __future__ import annotations

from alembic import op

from services.application.projections.applications import application_files, applications
from services.application.projections.bases import bases, renewal_requests

revision = "application_0002"
down_revision = "application_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (applications, application_files, bases, renewal_requests):
        table.create(bind)
