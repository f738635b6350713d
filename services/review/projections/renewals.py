"""Read model: where does each renewal request stand (Art. 14) — at which level, in which
jurisdiction, and with what outcome?"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    Level,
    RenewalAssessmentRecorded,
    RenewalAssessmentRequested,
    RenewalEvent,
    RenewalForwarded,
    RenewalGranted,
    RenewalRefused,
    RenewalReturned,
    RenewalReviewClosed,
    RenewalReviewOpened,
    RenewalReviewReopened,
)
from .base import metadata

renewals = Table(
    "renewals",
    metadata,
    Column("renewal_id", String(40), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("base_id", String(40), nullable=False, index=True),
    Column("unit_id", String(64), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("term_end", String(10), nullable=False),
    Column("statement", Text),  # the unit's written request, as last (re)submitted (0002)
    # in_review | returned | awaiting_assessment | granted | refused | withdrawn
    Column("status", String(20), nullable=False),
    Column("level", String(30), index=True),
    Column("certificate_no", String(40)),
    Column("new_term_start", String(10)),
    Column("new_term_end", String(10)),
    Column("reasons", Text),  # JSON list: why it was returned, or refused
    Column("refused_on", String(10)),  # (review_0002)
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
)


class RenewalsProjection(TableProjection):
    name = "renewals"
    tables: ClassVar = (renewals,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        if isinstance(event, RenewalReviewOpened):
            row = {
                "renewal_id": event.renewal_id,
                "case_id": event.case_id,
                "base_id": event.base_id,
                "unit_id": event.unit_id,
                "unit_name": event.unit_name,
                "province": event.province,
                "jurisdiction": event.jurisdiction,
                "term_end": event.term_end.isoformat(),
                "statement": event.statement,
                "status": "in_review",
                "level": Level.PROVINCE.value,
                "updated_at": format_time(envelope.time),
                "version": envelope.streamversion,
            }
            await self.insert_row(conn, "renewals", row)
            return
        if not isinstance(event, RenewalEvent):
            return
        values = {
            "updated_at": format_time(envelope.time),
            "version": envelope.streamversion,
            **_changes(event),
        }
        await self.update_rows(conn, "renewals", {"renewal_id": event.renewal_id}, values)


def _changes(event: RenewalEvent) -> dict[str, Any]:
    match event:
        case RenewalReturned():
            reasons = json.dumps(list(event.reasons), ensure_ascii=False)
            return {"status": "returned", "level": None, "reasons": reasons}
        case RenewalReviewReopened():
            return {
                "status": "in_review",
                "level": Level.PROVINCE.value,
                "reasons": None,
                "statement": event.statement,
            }
        case RenewalForwarded():
            return {"level": Level.NATIONAL.value}
        case RenewalAssessmentRequested():
            return {"status": "awaiting_assessment", "level": None}
        case RenewalAssessmentRecorded(qualified=True):
            return {"status": "in_review", "level": Level.GENERAL_OFFICE.value}
        case RenewalGranted():
            return {
                "status": "granted",
                "level": None,
                "certificate_no": event.certificate_no,
                "new_term_start": event.term_start.isoformat(),
                "new_term_end": event.term_end.isoformat(),
            }
        case RenewalRefused():
            reasons = json.dumps(list(event.reasons), ensure_ascii=False)
            refused_on = event.refused_on.isoformat() if event.refused_on else None
            return {
                "status": "refused",
                "level": None,
                "reasons": reasons,
                "refused_on": refused_on,
            }
        case RenewalReviewClosed():
            return {"status": "withdrawn", "level": None}
        case _:
            return {}  # declarations; an unqualified assessment comes with its refusal
