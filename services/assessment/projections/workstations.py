"""Read model: provincial work stations, and whether (and why not) each one is assessed here."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import WorkstationExpired, WorkstationNotAssessed, WorkstationRegistered
from .base import metadata

workstations = Table(
    "workstations",
    metadata,
    Column("station_id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("certificate_no", String(64), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("assessed", Boolean, nullable=False),  # under a provincial station policy
    Column("status", String(12), nullable=False, index=True),  # not_assessed | active | expired
    Column("reason", String(300)),  # why it is not assessed
    Column("term_start", String(10)),
    Column("term_end", String(10)),
    Column("ended_on", String(10)),
    Column("policy_version", String(20)),  # the province's
    Column("version", Integer, nullable=False),
)


class WorkstationsProjection(TableProjection):
    name = "workstations"
    tables: ClassVar = (workstations,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        table_name = "workstations"
        match event:
            case WorkstationRegistered():
                await self._insert(conn, envelope, event, assessed=True, status="active")
                term = {
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "policy_version": event.policy_version,
                }
                await self.update_rows(conn, table_name, {"station_id": event.station_id}, term)
            case WorkstationNotAssessed():
                await self._insert(conn, envelope, event, assessed=False, status="not_assessed")
                reason = {"reason": event.reason}
                await self.update_rows(conn, table_name, {"station_id": event.station_id}, reason)
            case WorkstationExpired():
                expired = {
                    "status": "expired",
                    "ended_on": event.expired_on.isoformat(),
                    "version": envelope.streamversion,
                }
                await self.update_rows(conn, table_name, {"station_id": event.station_id}, expired)

    async def _insert(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        event: WorkstationRegistered | WorkstationNotAssessed,
        *,
        assessed: bool,
        status: str,
    ) -> None:
        row = {
            "station_id": event.station_id,
            "case_id": event.case_id,
            "unit_id": event.unit_id,
            "unit_name": event.unit_name,
            "province": event.province,
            "jurisdiction": event.jurisdiction,
            "certificate_no": event.certificate_no,
            "approved_on": event.approved_on.isoformat(),
            "assessed": assessed,
            "status": status,
            "version": envelope.streamversion,
        }
        await self.insert_row(conn, "workstations", row)
