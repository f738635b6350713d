"""Search and exports: nothing to migrate (a documented no-op).

The funding service adds exports (`/exports/reconciliation`, `/exports/funds`) and the funds
per year (`/statistics/funds`), all computed from the plans read model it already has; it
holds no searchable text, so it needs no search-terms table. The revision keeps the four
services' chains in step.

Revision ID: funding_0003
"""

from __future__ import annotations

revision = "funding_0003"
down_revision = "funding_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: no table or column is new in this revision."""
