"""The review service's read models: reviews, rankings, renewals, certificates.

Revision ID: review_0001
"""

from __future__ import annotations

from alembic import op

from services.review.projections import metadata

revision = "review_0001"
down_revision = None
branch_labels = ("review",)
depends_on = "kernel_0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())
