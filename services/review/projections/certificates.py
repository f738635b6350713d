"""Read model: is this certificate genuine and in force? The public certificate check.

One row per certificate number: the designation's, and one more for each renewal granted.
Revocation and expiry (recorded on the base's standing) end every certificate of the base
still valid. A province's work-station certificates (Notice §5(3)) have their own table: they
carry no plaque and no term (no province configures one yet), so they stay valid.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    BaseDesignated,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    RenewalGranted,
    WorkstationDesignated,
)
from .base import metadata

VALID, REVOKED, EXPIRED = "valid", "revoked", "expired"

certificates = Table(
    "certificates",
    metadata,
    Column("certificate_no", String(40), primary_key=True),
    Column("base_id", String(40), nullable=False, index=True),
    Column("case_id", String(64), nullable=False),
    Column("base_name", String(200), nullable=False),
    Column("plaque_name", String(100), nullable=False),
    Column("term_start", String(10), nullable=False),
    Column("term_end", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("status_since", String(10)),
    Column("designation_hash", String(64), nullable=False),  # the event that awarded it
)

station_certificates = Table(
    "station_certificates",
    metadata,
    Column("certificate_no", String(60), primary_key=True),
    Column("station_id", String(40), nullable=False, index=True),
    Column("case_id", String(64), nullable=False),
    Column("programme", String(30), nullable=False),
    Column("province", String(12), nullable=False),
    Column("station_name", String(200), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("designation_hash", String(64), nullable=False),
)


class CertificatesProjection(TableProjection):
    name = "certificates"
    tables: ClassVar = (certificates, station_certificates)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        table = self.t["certificates"]
        match event:
            case BaseDesignated():
                certificate = {
                    "certificate_no": event.certificate_no,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "base_name": event.unit_name,
                    "plaque_name": event.plaque_name,
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "status": VALID,
                    "designation_hash": envelope.hash,
                }
                await self.insert_row(conn, "certificates", certificate)
            case RenewalGranted():
                first = (
                    await conn.execute(
                        select(table.c.base_name, table.c.plaque_name)
                        .where(table.c.base_id == event.base_id)
                        .order_by(table.c.term_start)
                        .limit(1)
                    )
                ).one()
                certificate = {
                    "certificate_no": event.certificate_no,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "base_name": first.base_name,
                    "plaque_name": first.plaque_name,
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "status": VALID,
                    "designation_hash": envelope.hash,
                }
                await self.insert_row(conn, "certificates", certificate)
            case WorkstationDesignated():
                certificate = {
                    "certificate_no": event.certificate_no,
                    "station_id": event.station_id,
                    "case_id": event.case_id,
                    "programme": event.programme.value,
                    "province": event.province,
                    "station_name": event.unit_name,
                    "approved_on": event.approved_on.isoformat(),
                    "policy_version": event.policy_version,
                    "status": VALID,
                    "designation_hash": envelope.hash,
                }
                await self.insert_row(conn, "station_certificates", certificate)
            case BaseRevocationRecorded():
                await self._end(conn, event.base_id, REVOKED, event.revoked_on.isoformat())
            case BaseExpiryRecorded():
                await self._end(conn, event.base_id, EXPIRED, event.expired_on.isoformat())

    async def _end(self, conn: AsyncConnection, base_id: str, status: str, since: str) -> None:
        valid = {"base_id": base_id, "status": VALID}
        ended = {"status": status, "status_since": since}
        await self.update_rows(conn, "certificates", valid, ended)
