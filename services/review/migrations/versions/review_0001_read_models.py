"""The review service's read models: reviews, rankings, renewals, certificates.

Revision ID: review_0001
"""

from __future__ import annotations

from alembic import op

from services.review.projections.certificates import certificates
from services.review.projections.rankings import ranking_candidates, rankings
from services.review.projections.renewals import renewals
from services.review.projections.reviews import reviews

revision = "review_0001"
down_revision = None
branch_labels = ("review",)
depends_on = "kernel_0001"


def upgrade() -> None:
    bind = op.get_bind()
    for table in (reviews, rankings, ranking_candidates, renewals, certificates):
        table.create(bind)
