"""Read model: which calls for applications exist, in which province, and are they open?"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Column, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.cst import cst_date
from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import CallClosed, CallOpened
from .base import metadata

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(26), primary_key=True),
    Column("province", String(12), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("deadline", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("allows_workstation", Boolean, nullable=False),
    Column("paper_copies", Integer, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("closed_at", String(40)),
    Column("version", Integer, nullable=False),
    Column("opened_on", String(10)),  # CST; for calls opened before it was recorded, the event's
    Column("required_slots", JSON),
    Column("additional_materials", JSON),
    Column("contacts", JSON),  # for the paper copies and questions (Notice §6)
    Column("submission_address", JSON),
)


class CallsProjection(TableProjection):
    name = "calls"
    tables: ClassVar = (calls,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case CallOpened():
                address = event.submission_address
                row = {
                    "call_id": event.call_id,
                    "province": event.province,
                    "year": event.year,
                    "title": event.title,
                    "deadline": format_time(event.deadline),
                    "status": "open",
                    "allows_workstation": event.allows_workstation,
                    "paper_copies": event.paper_copies,
                    "opened_by": envelope.actor,
                    "version": envelope.streamversion,
                    "opened_on": (event.opened_on or cst_date(envelope.time)).isoformat(),
                    "required_slots": [str(slot) for slot in event.required_slots],
                    "additional_materials": list(event.additional_materials),
                    "contacts": [
                        {"name": c.name, "phone": c.phone, "email": c.email} for c in event.contacts
                    ],
                    "submission_address": None
                    if address is None
                    else {
                        "address": address.address,
                        "postcode": address.postcode,
                        "recipient": address.recipient,
                    },
                }
                await self.insert_row(conn, "calls", row)
            case CallClosed():
                closed = {
                    "status": "closed",
                    "closed_at": format_time(event.closed_at),
                    "version": envelope.streamversion,
                }
                await self.update_rows(conn, "calls", {"call_id": event.call_id}, closed)
