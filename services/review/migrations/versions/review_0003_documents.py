"""Issued documents: the read model of the approvals and plaque certificates issued
(`DocumentIssued`), looked up by review and by SHA-256.

Revision ID: review_0003
"""

from __future__ import annotations

from alembic import op

from services.review.projections.documents import issued_documents

revision = "review_0003"
down_revision = "review_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    issued_documents.create(op.get_bind(), checkfirst=True)
