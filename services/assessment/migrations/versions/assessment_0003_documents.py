"""Issued documents: the read model of the rectification notices and yearly grade lists issued
(`DocumentIssued`), looked up by base or year and by SHA-256.

Revision ID: assessment_0003
"""

from __future__ import annotations

from alembic import op

from services.assessment.projections.documents import issued_documents

revision = "assessment_0003"
down_revision = "assessment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    issued_documents.create(op.get_bind(), checkfirst=True)
