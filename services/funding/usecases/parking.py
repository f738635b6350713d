"""Facts about a base that arrived before its designation: kept until the base's plan exists.

Review's `BaseDesignated` and assessment's rectification, revocation and expiry facts come
through different durable consumers, so on a cold start (or while one consumer lags) a
rectification order can be processed before the designation that created the base. Such a
fact is parked here, in the consumer's transaction, and applied right after the plan is
created — never dropped. This is consumer state, not a read model: it is not rebuilt.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.schema import Position

from ..projections.base import metadata

parked_facts = Table(
    "funding_parked_facts",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("base_id", String(120), nullable=False, index=True),
    Column("event_id", String(26), nullable=False, unique=True),
    Column("envelope", Text, nullable=False),
)


async def park(conn: AsyncConnection, base_id: str, envelope: Envelope) -> None:
    await conn.execute(
        insert(parked_facts).values(
            base_id=base_id,
            event_id=envelope.id,
            envelope=envelope.to_json().decode("utf-8"),
        )
    )


async def unpark(conn: AsyncConnection, base_id: str) -> list[Envelope]:
    """Take every fact parked for `base_id`, in the order they arrived."""
    rows = (
        await conn.execute(
            select(parked_facts.c.seq, parked_facts.c.envelope)
            .where(parked_facts.c.base_id == base_id)
            .order_by(parked_facts.c.seq)
        )
    ).all()
    if rows:
        await conn.execute(delete(parked_facts).where(parked_facts.c.base_id == base_id))
    return [Envelope.from_json(row.envelope) for row in rows]
