"""Signed events: the cut-over below which stored events are unsigned legacy.

Events are immutable (triggers refuse UPDATE), so those stored before signing existed cannot
be re-signed in place. This revision records the first position that must carry a signature:
every event before it is "unsigned-legacy" for `haizhi audit verify`; an unsigned event at
or after it is a discrepancy. Consumers never accept an unsigned event from the bus, legacy
or not: drain the outbox before upgrading (docs/architecture.md, "Signed events").

Revision ID: kernel_0003_signing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0003_signing"
down_revision = "kernel_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_cutover",
        sa.Column("legacy_below", sa.BigInteger, primary_key=True),
    )
    op.execute(
        "INSERT INTO signing_cutover (legacy_below)"
        " SELECT COALESCE(MAX(position), 0) + 1 FROM events"
    )


def downgrade() -> None:
    op.drop_table("signing_cutover")
