"""Read model: which designated bases may ask for renewal, when, and what became of each request?

`bases` holds each base's current term, its announced renewal window and its life (serving,
renewal_pending, renewal_pending_past_term, expired, revoked); `renewal_requests` each written
request and its outcome (pending, returned, withdrawn, granted, refused).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Integer, String, Table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    BaseDesignationRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    RenewalGrantRecorded,
    RenewalPendingPastTermRecorded,
    RenewalRefusalRecorded,
    RenewalRequested,
    RenewalRequestResubmitted,
    RenewalRequestWithdrawn,
    RenewalReturnRecorded,
    RenewalWindowRecorded,
    TermRenewalRecorded,
)
from .base import metadata

bases = Table(
    "bases",
    metadata,
    Column("base_id", String(26), primary_key=True),
    Column("case_id", String(26), nullable=False, index=True),
    Column("unit_id", String(200), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(2), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("term_start", String(10), nullable=False),
    Column("term_end", String(10), nullable=False),
    Column("status", String(30), nullable=False),  # renewal_pending_past_term: 25
    Column("window_opens_on", String(10)),  # as assessment announced it for this term
    Column("window_closes_on", String(10)),
    Column("pending_renewal_id", String(26)),
    Column("ended_on", String(10)),
    Column("version", Integer, nullable=False),
    Column("end_reason", String(20)),  # term_ended, renewal_refused, renewal_withdrawn, revoked
)
#: A base counts as active (blocks a new national-base application) in these statuses.
ACTIVE_BASE = ("serving", "renewal_pending", "renewal_pending_past_term")

renewal_requests = Table(
    "renewal_requests",
    metadata,
    Column("renewal_id", String(26), primary_key=True),
    Column("base_id", String(26), nullable=False, index=True),
    Column("case_id", String(26), nullable=False),
    Column("term_end", String(10), nullable=False),
    Column("statement", String(4000), nullable=False),
    Column("status", String(12), nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("settled_at", String(40)),
    Column("reasons", JSON),
)


class BasesProjection(TableProjection):
    name = "bases"
    tables: ClassVar = (bases, renewal_requests)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case BaseDesignationRecorded():
                base = {
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "unit_id": event.unit_id,
                    "unit_name": event.unit_name,
                    "province": event.province,
                    "jurisdiction": event.jurisdiction,
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "status": "serving",
                    "version": envelope.streamversion,
                }
                await self.insert_row(conn, "bases", base)
            case RenewalWindowRecorded():
                await self._base(
                    conn,
                    envelope,
                    event.base_id,
                    window_opens_on=event.opens_on.isoformat(),
                    window_closes_on=event.closes_on.isoformat(),
                )
            case RenewalRequested():
                request = {
                    "renewal_id": event.renewal_id,
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "term_end": event.term_end.isoformat(),
                    "statement": event.statement,
                    "status": "pending",
                    "requested_at": format_time(envelope.time),
                    "requested_by": envelope.actor,
                }
                await self.insert_row(conn, "renewal_requests", request)
                await self._base(
                    conn,
                    envelope,
                    event.base_id,
                    status="renewal_pending",
                    pending_renewal_id=event.renewal_id,
                )
            case RenewalRequestWithdrawn():
                await self._settle(conn, envelope, event.base_id, event.renewal_id, "withdrawn")
            case RenewalReturnRecorded(reasons=reasons):
                await self._request(
                    conn, event.renewal_id, status="returned", reasons=list(reasons)
                )
                await self._base(conn, envelope, event.base_id)
            case RenewalRequestResubmitted(statement=statement):
                await self._request(
                    conn, event.renewal_id, status="pending", statement=statement, reasons=None
                )
                await self._base(conn, envelope, event.base_id)
            case RenewalPendingPastTermRecorded():
                await self._base(conn, envelope, event.base_id, status="renewal_pending_past_term")
            case RenewalRefusalRecorded(reasons=reasons):
                await self._settle(
                    conn, envelope, event.base_id, event.renewal_id, "refused", list(reasons)
                )
            case RenewalGrantRecorded() | TermRenewalRecorded():
                revived: dict[str, Any] = {}
                if isinstance(event, RenewalGrantRecorded):
                    await self._settle(conn, envelope, event.base_id, event.renewal_id, "granted")
                    # granted after the term's end was recorded: designated again, continuously
                    revived = {"status": "serving", "ended_on": None, "end_reason": None}
                await self._base(
                    conn,
                    envelope,
                    event.base_id,
                    **revived,
                    term_start=event.term_start.isoformat(),
                    term_end=event.term_end.isoformat(),
                    window_opens_on=None,  # a new term's window is still to be announced
                    window_closes_on=None,
                )
            case BaseExpiryRecorded(expired_on=on) | BaseRevocationRecorded(revoked_on=on):
                expired = isinstance(event, BaseExpiryRecorded)
                await self._base(
                    conn,
                    envelope,
                    event.base_id,
                    status="expired" if expired else "revoked",
                    end_reason=event.reason if isinstance(event, BaseExpiryRecorded) else "revoked",
                    ended_on=on.isoformat(),
                    pending_renewal_id=None,
                )

    async def _settle(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        base_id: str,
        renewal_id: str,
        outcome: str,
        reasons: list[str] | None = None,
    ) -> None:
        settled_at = format_time(envelope.time)
        await self._request(
            conn, renewal_id, status=outcome, settled_at=settled_at, reasons=reasons
        )
        table = self.t["bases"]
        await conn.execute(  # a base whose term's end was recorded stays ended
            update(table)
            .where(table.c.base_id == base_id, table.c.status.in_(ACTIVE_BASE))
            .values(status="serving", pending_renewal_id=None)
        )
        await self._base(conn, envelope, base_id)

    async def _request(self, conn: AsyncConnection, renewal_id: str, **values: Any) -> None:
        await self.update_rows(conn, "renewal_requests", {"renewal_id": renewal_id}, values)

    async def _base(
        self, conn: AsyncConnection, envelope: Envelope, base_id: str, **values: Any
    ) -> None:
        values["version"] = envelope.streamversion
        await self.update_rows(conn, "bases", {"base_id": base_id}, values)
