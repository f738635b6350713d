"""The funding service's read models and its consumers' parking table.

Revision ID: funding_0001
"""

from __future__ import annotations

from alembic import op

from services.funding.projections import metadata
from services.funding.usecases.parking import parked_facts  # noqa: F401  (on `metadata`)

revision = "funding_0001"
down_revision = None
branch_labels = ("funding",)
depends_on = "kernel_0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())
