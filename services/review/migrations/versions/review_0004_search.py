"""Search and exports: nothing to migrate (a documented no-op).

The review service adds one export, the province's ranking of a call
(`/exports/calls/{call_id}/ranking`), read from the rankings read model it already has. It
searches nothing itself: applications, units and bases are searched in the services that own
them (application, assessment). The revision keeps the four services' chains in step.

Revision ID: review_0004
"""

from __future__ import annotations

revision = "review_0004"
down_revision = "review_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: no table or column is new in this revision."""
