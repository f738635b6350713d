"""Read model: which bases exist, where, in what status, and when does each one's term end?"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    BaseExpired,
    BaseRegistered,
    BaseRevoked,
    RenewalPendingPastTerm,
    RenewalRefusalRecorded,
    RenewalRequestRecorded,
    RenewalRequestWithdrawalRecorded,
    RenewalWindowOpened,
    RevocationProposed,
    TermRenewed,
)
from .base import metadata

bases = Table(
    "bases",
    metadata,
    Column("base_id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("status", String(10), nullable=False, index=True),  # active | revoked | expired
    Column("term_start", String(10), nullable=False),
    Column("term_end", String(10), nullable=False, index=True),
    Column("renewal_window_opens_on", String(10)),  # the current term's window, once open
    Column("revocation_proposed_for", String(60)),  # the unqualified years, comma-separated
    Column("ended_on", String(10)),
    Column("version", Integer, nullable=False),
    # Added by assessment_0002 (nullable: rows from before it stay valid).
    Column("first_report_year", Integer),  # our policy: a late designation reports a year later
    Column("renewal_id", String(64)),  # the unit's open renewal request for this term
    Column("renewal_requested_on", String(10)),
    Column("renewal_pending_since", String(10)),  # the term ended while the request was open
    Column("ended_reason", String(20)),  # revoked | term_ended | renewal_refused | ...
)

#: The columns assessment_0002 adds to `bases` on a database created before it.
ADDED_IN_0002 = (
    "first_report_year",
    "renewal_id",
    "renewal_requested_on",
    "renewal_pending_since",
    "ended_reason",
)


_DAY = timedelta(days=1)


def years_text(years: tuple[int, ...]) -> str:
    return ",".join(str(y) for y in years)


class BasesProjection(TableProjection):
    name = "bases"
    tables: ClassVar = (bases,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        values: dict[str, Any]
        match event:
            case BaseRegistered():
                row = {
                    "base_id": event.base_id,
                    "case_id": event.case_id,
                    "unit_id": event.unit_id,
                    "unit_name": event.unit_name,
                    "province": event.province,
                    "jurisdiction": event.jurisdiction,
                    "status": "active",
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "first_report_year": event.first_report_year,
                    "version": envelope.streamversion,
                }
                await self.insert_row(conn, "bases", row)
                return
            case RenewalWindowOpened():
                values = {"renewal_window_opens_on": event.opens_on.isoformat()}
            case RenewalRequestRecorded():
                values = {
                    "renewal_id": event.renewal_id,
                    "renewal_requested_on": event.requested_on.isoformat(),
                }
            case RenewalRequestWithdrawalRecorded() | RenewalRefusalRecorded():
                values = {"renewal_id": None, "renewal_requested_on": None}
            case RenewalPendingPastTerm():
                values = {"renewal_pending_since": (event.term_end + _DAY).isoformat()}
            case TermRenewed():
                values = {
                    "term_start": event.term_start.isoformat(),
                    "term_end": event.term_end.isoformat(),
                    "renewal_window_opens_on": None,
                    "renewal_id": None,
                    "renewal_requested_on": None,
                    "renewal_pending_since": None,
                }
            case RevocationProposed():
                values = {"revocation_proposed_for": years_text(event.years)}
            case BaseRevoked():
                values = {
                    "status": "revoked",
                    "ended_on": event.revoked_on.isoformat(),
                    "ended_reason": "revoked",
                }
            case BaseExpired():
                values = {
                    "status": "expired",
                    "ended_on": event.expired_on.isoformat(),
                    "ended_reason": event.reason.value,
                }
            case _ if hasattr(event, "base_id"):
                values = {}  # every other base event moves only the version
            case _:
                return
        values = {"version": envelope.streamversion, **values}
        await self.update_rows(conn, "bases", {"base_id": event.base_id}, values)
