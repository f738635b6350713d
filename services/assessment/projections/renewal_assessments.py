"""Read model: renewal assessments review asked for — pending with the national department,
assessed (with reasons and the term's grades as evidence), or closed unanswered."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    BaseExpired,
    BaseRevoked,
    RenewalAssessed,
    RenewalAssessmentOpened,
    RenewalRequestWithdrawalRecorded,
)
from .base import metadata

renewal_assessments = Table(
    "renewal_assessments",
    metadata,
    Column("renewal_id", String(64), primary_key=True),
    Column("base_id", String(64), nullable=False, index=True),
    Column("case_id", String(64), nullable=False),
    # pending | assessed | closed (the base ended, or the request was withdrawn, unanswered)
    Column("status", String(10), nullable=False, index=True),
    Column("requested_on", String(10)),
    Column("qualified", Boolean),
    Column("reasons", Text),  # JSON list of strings
    Column("grades", Text),  # JSON list of {year, grade}: the evidence the answer carried
    Column("assessed_on", String(10)),
    Column("assessed_by", String(200)),
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class RenewalAssessmentsProjection(TableProjection):
    name = "renewal_assessments"
    tables: ClassVar = (renewal_assessments,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        table_name = "renewal_assessments"
        table = self.t[table_name]
        match event:
            case RenewalAssessmentOpened():
                opened = {
                    "renewal_id": event.renewal_id,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "status": "pending",
                    "requested_on": event.opened_on.isoformat(),
                }
                await self.insert_row(conn, table_name, opened)
            case RenewalAssessed():
                query = select(table.c.renewal_id).where(table.c.renewal_id == event.renewal_id)
                if (await conn.execute(query)).first() is None:  # a closed base, answered at once
                    opened = {
                        "renewal_id": event.renewal_id,
                        "base_id": event.base_id,
                        "case_id": event.case_id,
                        "status": "assessed",
                        "requested_on": event.assessed_on.isoformat(),
                    }
                    await self.insert_row(conn, table_name, opened)
                assessed = {
                    "status": "assessed",
                    "qualified": event.qualified,
                    "reasons": _json(list(event.reasons)),
                    "grades": _json(
                        [{"year": g.year, "grade": g.grade.value} for g in event.grades]
                    ),
                    "assessed_on": event.assessed_on.isoformat(),
                    "assessed_by": envelope.actor,
                }
                await self.update_rows(conn, table_name, {"renewal_id": event.renewal_id}, assessed)
            case RenewalRequestWithdrawalRecorded():
                pending = {"renewal_id": event.renewal_id, "status": "pending"}
                await self.update_rows(conn, table_name, pending, {"status": "closed"})
            case BaseExpired() | BaseRevoked():
                pending = {"base_id": event.base_id, "status": "pending"}
                await self.update_rows(conn, table_name, pending, {"status": "closed"})
