"""Read model: which units registered, as what, and which await their CAST's verification?

One row per unit: its registration as it stands, its status (pending, verified, returned), the
CAST office that verifies it, the last verification's opinion or the return's reasons.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Index, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    Contact,
    UnitRegistered,
    UnitRegistrationAmended,
    UnitRegistrationReturned,
    UnitStatus,
    UnitVerified,
)
from ..domain.unit import office_for
from .base import metadata

units = Table(
    "units",
    metadata,
    Column("unit_id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("category", String(30), nullable=False),
    Column("level", String(12), nullable=False),
    Column("province", String(2), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("contacts", JSON, nullable=False),
    Column("address", String(300), nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("office", String(12), nullable=False),  # the CAST that verifies it
    Column("opinion", String(2000)),
    Column("reasons", JSON),
    Column("verified_by", String(200)),
    Column("registered_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
)
#: One legal entity, one registration: two units cannot hold the same credit code, held by
#: the database too (a concurrent registration or amendment fails on this index).
CREDIT_CODE_INDEX = Index("units_one_per_credit_code", units.c.credit_code, unique=True)


def _contacts(contacts: tuple[Contact, ...]) -> list[dict[str, str]]:
    return [{"name": c.name, "phone": c.phone, "email": c.email} for c in contacts]


def _registration(e: UnitRegistered | UnitRegistrationAmended) -> dict[str, Any]:
    return {
        "name": e.name, "credit_code": e.credit_code, "category": str(e.category),
        "level": str(e.level), "province": e.province, "jurisdiction": e.jurisdiction,
        "contacts": _contacts(e.contacts), "address": e.address, "office": str(office_for(e.level)),
    }  # fmt: skip


class UnitsProjection(TableProjection):
    name = "units"
    tables: ClassVar = (units,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case UnitRegistered():
                at = format_time(envelope.time)
                row = {
                    "unit_id": event.unit_id,
                    **_registration(event),
                    "status": "pending",
                    "registered_at": at,
                    "updated_at": at,
                    "version": envelope.streamversion,
                }
                await self.insert_row(conn, "units", row)
            case UnitRegistrationAmended(status=status):
                cleared = {} if status is UnitStatus.VERIFIED else {"opinion": None}
                await self._set(
                    conn, envelope, event.unit_id, **_registration(event), status=str(status),
                    **cleared,
                )  # fmt: skip
            case UnitVerified(opinion=opinion):
                await self._set(
                    conn, envelope, event.unit_id, status="verified", opinion=opinion,
                    reasons=None, verified_by=envelope.actor,
                )  # fmt: skip
            case UnitRegistrationReturned(reasons=reasons):
                await self._set(
                    conn, envelope, event.unit_id, status="returned", reasons=list(reasons)
                )

    async def _set(
        self, conn: AsyncConnection, envelope: Envelope, unit_id: str, **values: Any
    ) -> None:
        values |= {"updated_at": format_time(envelope.time), "version": envelope.streamversion}
        await self.update_rows(conn, "units", {"unit_id": unit_id}, values)
