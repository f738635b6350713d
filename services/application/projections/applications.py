"""Read model: what does each application hold now, what was submitted, and where is it?

One row per application: who applies and the route, the working copy of the form and its
files (what the applicant edits), the last submission (what reviewers see), the receipt and
the last decision. `application_files` lists every file an application ever held, so a
download can be checked against the application's own history.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Index, Integer, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.dossier import route_for
from ..domain.events import (
    ApplicationDrafted,
    ApplicationResubmitted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AttachmentAdded,
    AttachmentRemoved,
    AttachmentReplaced,
    DesignationRecorded,
    DraftUpdated,
    ReceiptRecorded,
    RejectionRecorded,
    ReturnRecorded,
    SubmittedFile,
    WorkstationApplicationRequested,
    WorkstationDesignationRecorded,
)
from .base import metadata

#: Statuses after which an application no longer counts against "one per unit, call and
#: programme"; a designated one still does.
INACTIVE = ("withdrawn", "rejected")

applications = Table(
    "applications",
    metadata,
    Column("application_id", String(26), primary_key=True),
    Column("case_id", String(26), nullable=False, index=True),
    Column("call_id", String(26), nullable=False, index=True),
    Column("programme", String(30), nullable=False),
    Column("unit_id", String(200), nullable=False, index=True),
    Column("unit_name", String(200), nullable=False),
    Column("category", String(30), nullable=False),
    Column("province", String(2), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("route", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("linked_case_id", String(26)),
    Column("base_id", String(26)),
    Column("form", JSON, nullable=False),  # the working copy: field -> text or null
    Column("attachments", JSON, nullable=False),  # the working copy's files
    Column("submitted", JSON),  # the last submission, as reviewers see it
    Column("receipt", JSON),
    Column("decision", JSON),  # the last return or rejection
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("level", String(12)),  # null: drafted before the registry
    Column("credit_code", String(18)),
    Column("station_id", String(26)),  # a designated provincial work station
    Column("certificate_no", String(60)),
)
#: One active application per unit, call and programme, held by the database too: two
#: concurrent drafts cannot both commit (the second fails on this index).
ACTIVE_APPLICATION_INDEX = Index(
    "applications_one_active_per_unit_call_programme",
    applications.c.unit_id,
    applications.c.call_id,
    applications.c.programme,
    unique=True,
    sqlite_where=applications.c.status.not_in(INACTIVE),
    postgresql_where=applications.c.status.not_in(INACTIVE),
)

application_files = Table(
    "application_files",
    metadata,
    Column("application_id", String(26), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("media_type", String(120), nullable=False),
    Column("size", Integer, nullable=False),
    Column(
        "submitted_in", Integer
    ),  # the first revision that submitted it; reviewers see only these
)


def _file(event: AttachmentAdded | AttachmentReplaced) -> dict[str, Any]:
    return {
        "attachment_id": event.attachment_id,
        "slot": str(event.slot),
        "name": event.name,
        "media_type": event.media_type,
        "size": event.size,
        "sha256": event.sha256,
        "material": event.material,
    }


def _put(files: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """A replaced file keeps its place; an added one goes last."""
    if any(f["attachment_id"] == new["attachment_id"] for f in files):
        return [new if f["attachment_id"] == new["attachment_id"] else f for f in files]
    return [*files, new]


def _submitted_file(f: SubmittedFile) -> dict[str, Any]:
    return {
        "slot": str(f.slot), "name": f.name, "media_type": f.media_type, "size": f.size,
        "sha256": f.sha256, "material": f.material,
    }  # fmt: skip


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class ApplicationsProjection(TableProjection):
    name = "applications"
    tables: ClassVar = (applications, application_files)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case ApplicationDrafted():
                await self._drafted(conn, envelope, event)
            case DraftUpdated(changes=changes):
                row = await self._row(conn, event.application_id)
                form = {**row["form"], **{c.field: c.value for c in changes}}
                await self._set(conn, envelope, event.application_id, form=form)
            case AttachmentAdded() | AttachmentReplaced():
                await self._keep_file(conn, event)
                row = await self._row(conn, event.application_id)
                files = _put(row["attachments"], _file(event))
                await self._set(conn, envelope, event.application_id, attachments=files)
            case AttachmentRemoved(attachment_id=gone):
                row = await self._row(conn, event.application_id)
                files = [a for a in row["attachments"] if a["attachment_id"] != gone]
                await self._set(conn, envelope, event.application_id, attachments=files)
            case WorkstationApplicationRequested(linked_case_id=linked):
                await self._set(conn, envelope, event.application_id, linked_case_id=linked)
            case ApplicationSubmitted() | ApplicationResubmitted():
                submitted = {
                    "revision": event.revision,
                    "form_hash": event.form_hash,
                    "form": {e.field: e.value for e in event.form},
                    "files": [_submitted_file(f) for f in event.files],
                    "submitted_at": format_time(event.submitted_at),
                    "call_opened_on": _day(event.call_opened_on),
                }
                await self._submitted_files(conn, event)
                # A draft from before the registry takes who applies from the registration
                # when it is submitted (events stored before then carry no level).
                applicant = {} if event.level is None else {
                    "unit_name": event.unit_name, "category": str(event.category),
                    "province": event.province, "jurisdiction": event.jurisdiction,
                    "level": str(event.level), "credit_code": event.credit_code,
                }  # fmt: skip
                await self._set(
                    conn,
                    envelope,
                    event.application_id,
                    **applicant,
                    status="submitted",
                    revision=event.revision,
                    route=str(event.route),
                    submitted=submitted,
                    decision=None,
                )
            case ReceiptRecorded():
                receipt = {
                    "revision": event.revision,
                    "received_on": event.received_on.isoformat(),
                    "recipient": event.recipient,
                    "paper_copies": event.paper_copies,
                    "recorded_by": envelope.actor,
                }
                await self._set(conn, envelope, event.application_id, receipt=receipt)
            case ReturnRecorded() | RejectionRecorded():
                status = "returned" if isinstance(event, ReturnRecorded) else "rejected"
                decision = {
                    "outcome": status,
                    "revision": event.revision,
                    "review_id": event.review_id,
                    "level": event.level,
                    "reasons": list(event.reasons),
                }
                await self._set(
                    conn, envelope, event.application_id, status=status, decision=decision
                )
            case ApplicationWithdrawn():
                await self._set(conn, envelope, event.application_id, status="withdrawn")
            case DesignationRecorded(base_id=base_id):
                await self._set(
                    conn, envelope, event.application_id, status="designated", base_id=base_id
                )
            case WorkstationDesignationRecorded(station_id=station, certificate_no=certificate):
                await self._set(
                    conn, envelope, event.application_id, status="designated",
                    station_id=station, certificate_no=certificate,
                )  # fmt: skip

    async def _drafted(
        self, conn: AsyncConnection, envelope: Envelope, event: ApplicationDrafted
    ) -> None:
        at = format_time(envelope.time)
        row: dict[str, Any] = {
            "application_id": event.application_id,
            "case_id": event.case_id,
            "call_id": event.call_id,
            "programme": str(event.programme),
            "unit_id": event.unit_id,
            "unit_name": event.unit_name,
            "category": str(event.category),
            "province": event.province,
            "jurisdiction": event.jurisdiction,
            "route": str(route_for(event.level, event.jurisdiction, event.category)),
            "level": None if event.level is None else str(event.level),
            "credit_code": event.credit_code,
            "status": "draft",
            "revision": 0,
            "linked_case_id": event.linked_case_id,
            "form": {},
            "attachments": [],
            "created_at": at,
            "updated_at": at,
            "version": envelope.streamversion,
        }
        await self.insert_row(conn, "applications", row)

    async def _keep_file(
        self, conn: AsyncConnection, event: AttachmentAdded | AttachmentReplaced
    ) -> None:
        table = self.t["application_files"]
        known = await conn.execute(
            select(table.c.sha256).where(
                table.c.application_id == event.application_id, table.c.sha256 == event.sha256
            )
        )
        if known.first() is None:
            row = {
                "application_id": event.application_id,
                "sha256": event.sha256,
                "name": event.name,
                "media_type": event.media_type,
                "size": event.size,
            }
            await self.insert_row(conn, "application_files", row)

    async def _submitted_files(
        self, conn: AsyncConnection, event: ApplicationSubmitted | ApplicationResubmitted
    ) -> None:
        table = self.t["application_files"]
        await conn.execute(
            update(table)
            .where(
                table.c.application_id == event.application_id,
                table.c.sha256.in_([f.sha256 for f in event.files]),
                table.c.submitted_in.is_(None),
            )
            .values(submitted_in=event.revision)
        )

    async def _row(self, conn: AsyncConnection, application_id: str) -> dict[str, Any]:
        table = self.t["applications"]
        query = select(table).where(table.c.application_id == application_id)
        return dict((await conn.execute(query)).mappings().one())

    async def _set(
        self, conn: AsyncConnection, envelope: Envelope, application_id: str, **values: Any
    ) -> None:
        values |= {"updated_at": format_time(envelope.time), "version": envelope.streamversion}
        await self.update_rows(conn, "applications", {"application_id": application_id}, values)
