"""The funding service's read models and its consumers' parking table, as first released.

The tables are written out here (not taken from the live models), so that a later revision
can change a live model and add its own step without this one creating it first.

Revision ID: funding_0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

from shared.schema import Position

revision = "funding_0001"
down_revision = None
branch_labels = ("funding",)
depends_on = "kernel_0001"

ID = 120
metadata = MetaData()

Table(
    "funding_plans",
    metadata,
    Column("plan_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("unit_id", String(ID), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("instalments", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("open_holds", Integer, nullable=False),
    Column("exit_reason", String(10)),
    Column("exited_on", String(10)),
    Column("term_end", String(10)),
    Column("version", Integer, nullable=False),
)
Table(
    "funding_instalments",
    metadata,
    Column("instalment_id", String(ID + 4), primary_key=True),
    Column("plan_id", String(ID), nullable=False, index=True),
    Column("base_id", String(ID), nullable=False),
    Column("number", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("due_on", String(10), nullable=False),
    Column("stage", String(10), nullable=False, index=True),
    Column("prepared_by", String(200)),
    Column("payment_ref", String(100)),
    Column("paid_on", String(10)),
    Column("confirmed_by", String(200)),
    Column("held_for", String(ID)),
    Column("returned", Integer, nullable=False),
    Column("cancel_reason", String(10)),
)
Table(
    "funding_parked_facts",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("base_id", String(120), nullable=False, index=True),
    Column("event_id", String(26), nullable=False, unique=True),
    Column("envelope", Text, nullable=False),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())
