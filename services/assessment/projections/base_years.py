"""Read model: each base's years — its report, score, grade and rectification."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import (
    AnnualReportFiled,
    AnnualReportForwarded,
    AnnualReportOverdue,
    BaseCommended,
    BaseScored,
    GradeFinalised,
    GradeProposed,
    RectificationAccepted,
    RectificationOrdered,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    ReportingOpened,
    ReportReminded,
)
from .base import metadata

base_years = Table(
    "base_years",
    metadata,
    Column("base_id", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    # The annual report (Art. 10): not_open | open | filed | forwarded
    Column("report_status", String(10), nullable=False),
    Column("opens_on", String(10)),
    Column("due_on", String(10)),
    Column("reminders_sent", String(40), nullable=False),  # days before due, comma-separated
    Column("report_overdue", Boolean, nullable=False),
    Column("filed_on", String(10)),
    Column("filed_late", Boolean),
    Column("report", Text),  # the filed report as JSON: summary, plan, library, attachments
    Column("forwarded_via", String(12)),
    Column("forwarded_on", String(10)),
    # The assessment (Art. 11–12)
    Column("scores", Text),  # {criterion: score} as JSON
    Column("weighted_total", String(12)),
    Column("missing_report", Boolean),
    Column("proposed_grade", String(12)),
    Column("final_grade", String(12)),
    Column("approved_on", String(10)),
    Column("commended", Boolean, nullable=False),
    # The rectification order of an unqualified year (Art. 12): ordered | reported | accepted
    Column("rectification_id", String(64)),
    Column("rectification_status", String(10)),
    Column("rectification_deadline", String(10)),
    Column("rectification_overdue", Boolean, nullable=False),
    Column("rectification_rejections", Integer, nullable=False),
    # Added by assessment_0002 (Art. 12: grades are decided, not computed).
    Column("suggested_grade", String(12)),  # our policy's weights and thresholds
    Column("proposal_reason", Text),  # why the department proposed another grade
    Column("amendment_reason", Text),  # why the leading group amended the proposal
)

#: The columns assessment_0002 adds to `base_years` on a database created before it.
ADDED_IN_0002 = ("suggested_grade", "proposal_reason", "amendment_reason")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class BaseYearsProjection(TableProjection):
    name = "base_years"
    tables: ClassVar = (base_years,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        values: dict[str, Any]
        match event:
            case ReportingOpened():
                values = {
                    "report_status": "open",
                    "opens_on": event.opens_on.isoformat(),
                    "due_on": event.due_on.isoformat(),
                }
            case ReportReminded():
                sent = await self._row_value(conn, event.base_id, event.year, "reminders_sent")
                values = {"reminders_sent": ",".join(filter(None, [sent, str(event.days_before)]))}
            case AnnualReportOverdue():
                values = {"report_overdue": True}
            case AnnualReportFiled():
                data = envelope.data
                report = {k: data[k] for k in ("summary", "next_year_plan", "resource_library")}
                values = {
                    "report_status": "filed",
                    "filed_on": event.filed_on.isoformat(),
                    "filed_late": event.late,
                    "report": _json({**report, "attachments": data["attachments"]}),
                }
            case AnnualReportForwarded():
                values = {
                    "report_status": "forwarded",
                    "forwarded_via": event.via_jurisdiction,
                    "forwarded_on": event.forwarded_on.isoformat(),
                }
            case BaseScored():
                values = {
                    "scores": _json({s.criterion.value: s.score for s in event.scores}),
                    "weighted_total": str(event.weighted_total),
                    "suggested_grade": event.suggested_grade.value,
                }
            case GradeProposed():
                values = {
                    "proposed_grade": event.grade.value,
                    "suggested_grade": event.suggested_grade.value,
                    "proposal_reason": event.reason or None,
                    "missing_report": event.missing_report,
                }
            case GradeFinalised():
                values = {
                    "final_grade": event.grade.value,
                    "amendment_reason": event.amendment_reason or None,
                    "approved_on": event.approved_on.isoformat(),
                }
            case BaseCommended():
                values = {"commended": True}
            case RectificationOrdered():
                values = {
                    "rectification_id": event.rectification_id,
                    "rectification_status": "ordered",
                    "rectification_deadline": event.deadline.isoformat(),
                }
            case RectificationReportFiled():
                values = {"rectification_status": "reported"}
            case RectificationRejected():
                count = await self._row_value(
                    conn, event.base_id, event.year, "rectification_rejections"
                )
                values = {"rectification_status": "ordered", "rectification_rejections": count + 1}
            case RectificationAccepted():
                values = {"rectification_status": "accepted"}
            case RectificationOverdue():
                values = {"rectification_overdue": True}
            case _:
                return
        await self._ensure_row(conn, event.base_id, event.year)
        where = {"base_id": event.base_id, "year": event.year}
        await self.update_rows(conn, "base_years", where, values)

    async def _row_value(self, conn: AsyncConnection, base_id: str, year: int, column: str) -> Any:
        await self._ensure_row(conn, base_id, year)
        table = self.t["base_years"]
        query = select(table.c[column]).where(table.c.base_id == base_id, table.c.year == year)
        return (await conn.execute(query)).scalar_one()

    async def _ensure_row(self, conn: AsyncConnection, base_id: str, year: int) -> None:
        """A year scored without reporting ever opened still gets its row."""
        table = self.t["base_years"]
        query = select(table.c.year).where(table.c.base_id == base_id, table.c.year == year)
        if (await conn.execute(query)).first() is None:
            row = {
                "base_id": base_id,
                "year": year,
                "report_status": "not_open",
                "reminders_sent": "",
                "report_overdue": False,
                "commended": False,
                "rectification_overdue": False,
                "rectification_rejections": 0,
            }
            await self.insert_row(conn, "base_years", row)
