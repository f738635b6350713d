"""Read model: where does each application's review stand — at which level, in which
jurisdiction? Answers the work queues and the summary of a case (never its content)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    AcceptedAtProvince,
    ApplicationRejected,
    ApplicationReturned,
    BaseDesignated,
    ForwardedToLeadingGroup,
    ForwardedToProvince,
    LeadingGroupDecided,
    LeadingGroupOutcome,
    Level,
    Programme,
    Recommended,
    ReturnedToPrefecture,
    ReviewClosed,
    ReviewEvent,
    ReviewOpened,
    ReviewReopened,
    WorkstationDesignated,
)
from .base import metadata

reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(40), primary_key=True),
    Column("application_id", String(40), nullable=False, unique=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("call_id", String(40), nullable=False, index=True),
    Column("programme", String(30), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("province", String(12), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("route", String(20), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # in_review | returned | rejected | ...
    Column("level", String(30), index=True),  # where it waits; None once out of review
    Column("rank", Integer),
    Column("base_id", String(40)),
    Column("station_id", String(40)),  # a designated work station (review_0002)
    Column("certificate_no", String(40)),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
)

IN_REVIEW = "in_review"


def _waiting_at(level: Level) -> dict[str, Any]:
    return {"status": IN_REVIEW, "level": level.value}


class ReviewsProjection(TableProjection):
    name = "reviews"
    tables: ClassVar = (reviews,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        if isinstance(event, ReviewOpened):
            row = {
                "review_id": event.review_id,
                "application_id": event.application_id,
                "case_id": event.case_id,
                "call_id": event.call_id,
                "programme": event.programme.value,
                "unit_id": event.unit_id,
                "unit_name": event.unit_name,
                "province": event.province,
                "jurisdiction": event.jurisdiction,
                "route": event.route.value,
                "revision": event.revision,
                "updated_at": format_time(envelope.time),
                "version": envelope.streamversion,
                **_waiting_at(event.level),
            }
            await self.insert_row(conn, "reviews", row)
            return
        if not isinstance(event, ReviewEvent):
            return
        values = {
            "updated_at": format_time(envelope.time),
            "version": envelope.streamversion,
            **_changes(event),
        }
        await self.update_rows(conn, "reviews", {"review_id": event.review_id}, values)


def _changes(event: ReviewEvent) -> dict[str, Any]:
    """The columns an event of the review changes (besides its version)."""
    match event:
        case ReviewReopened():
            revised = {"revision": event.revision, "unit_name": event.unit_name, "rank": None}
            return revised | _waiting_at(event.level)
        case ForwardedToProvince():
            return _waiting_at(Level.PROVINCE)
        case ReturnedToPrefecture():
            return _waiting_at(Level.PREFECTURE)
        case AcceptedAtProvince(programme=Programme.PROVINCIAL_WORKSTATION):
            return _waiting_at(Level.PROVINCIAL_DECISION)
        case AcceptedAtProvince():
            return _waiting_at(Level.PROVINCE_RECOMMENDATION)
        case Recommended():
            return {"rank": event.rank} | _waiting_at(Level.NATIONAL)
        case ForwardedToLeadingGroup():
            return _waiting_at(Level.LEADING_GROUP)
        case LeadingGroupDecided(outcome=LeadingGroupOutcome.APPROVE):
            return _waiting_at(Level.GENERAL_OFFICE)
        case ApplicationReturned():
            return {"status": "returned", "level": None}
        case ApplicationRejected():
            return {"status": "rejected", "level": None}
        case BaseDesignated():
            return {
                "status": "designated",
                "level": None,
                "base_id": event.base_id,
                "certificate_no": event.certificate_no,
            }
        case WorkstationDesignated():
            return {
                "status": "designated",
                "level": None,
                "station_id": event.station_id,
                "certificate_no": event.certificate_no,
            }
        case ReviewClosed():
            return {"status": "closed", "level": None}
        case _:
            return {}  # declarations, scores, a return or rejection's meeting record
