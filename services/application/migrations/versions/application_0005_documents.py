"""Issued documents: the read model of the Annex 2 forms and receipt records issued
(`DocumentIssued`), looked up by application and by SHA-256.

Revision ID: application_0005
"""

from __future__ import annotations

from alembic import op

from services.application.projections.documents import issued_documents

revision = "application_0005"
down_revision = "application_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    issued_documents.create(op.get_bind(), checkfirst=True)
