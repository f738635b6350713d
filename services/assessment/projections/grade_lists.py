"""Read model: the grade list of a year — proposed or approved, and the grade of each base."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table, Text, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection

from ..domain.events import GradeListApproved, GradeListProposed
from .base import metadata

grade_lists = Table(
    "grade_lists",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("status", String(10), nullable=False),  # proposed | approved
    Column("revision", Integer, nullable=False),
    Column("meeting_ref", String(100)),
    Column("approved_on", String(10)),
    Column("policy_version", String(20), nullable=False),
    Column("version", Integer, nullable=False),
)

grade_list_entries = Table(
    "grade_list_entries",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("base_id", String(64), primary_key=True),
    Column("grade", String(12), nullable=False),  # the department's proposal
    # Added by assessment_0002 (Art. 12: grades are decided, not computed).
    Column("suggested_grade", String(12)),
    Column("reason", Text),  # why the proposal differs from the suggestion
    Column("final_grade", String(12)),  # once approved
    Column("amendment_reason", Text),  # the leading group's, when it amended the proposal
)

#: The columns assessment_0002 adds to `grade_list_entries` on a database created before it.
ADDED_IN_0002 = ("suggested_grade", "reason", "final_grade", "amendment_reason")


class GradeListsProjection(TableProjection):
    name = "grade_lists"
    tables: ClassVar = (grade_lists, grade_list_entries)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        lists, entries = self.t["grade_lists"], self.t["grade_list_entries"]
        match event:
            case GradeListProposed():
                # Each revision replaces the one before it, entries and all.
                await conn.execute(delete(lists).where(lists.c.year == event.year))
                await conn.execute(delete(entries).where(entries.c.year == event.year))
                proposed = {
                    "year": event.year,
                    "status": "proposed",
                    "revision": event.revision,
                    "policy_version": event.policy_version,
                    "version": envelope.streamversion,
                }
                await self.insert_row(conn, "grade_lists", proposed)
                await conn.execute(
                    insert(entries),
                    [
                        {
                            "year": event.year,
                            "base_id": e.base_id,
                            "grade": e.grade.value,
                            "suggested_grade": e.suggested_grade.value,
                            "reason": e.reason or None,
                        }
                        for e in event.entries
                    ],
                )
            case GradeListApproved():
                approved = {
                    "status": "approved",
                    "meeting_ref": event.meeting_ref,
                    "approved_on": event.approved_on.isoformat(),
                    "version": envelope.streamversion,
                }
                await self.update_rows(conn, "grade_lists", {"year": event.year}, approved)
                amended = {a.base_id: a.reason for a in event.amendments}
                for entry in event.entries:
                    await self.update_rows(
                        conn,
                        "grade_list_entries",
                        {"year": event.year, "base_id": entry.base_id},
                        {
                            "final_grade": entry.grade.value,
                            "amendment_reason": amended.get(entry.base_id),
                        },
                    )
