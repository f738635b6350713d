"""Deliveries: each notice's rows, one per recipient, and what became of each mail.

Also the directory the recipients are found in: the case → unit map a notice carries, and a
unit's contacts as its registration names them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    Channel,
    DigestIssued,
    MailRefused,
    MailSent,
    NotificationIssued,
    Recipient,
    UnitContactsRecorded,
)
from .tables import cases, contacts, deliveries, units

#: Recipients one notice may name: a delivery's place in the inbox is its event's position in
#: the log times this, plus the recipient's place in the notice.
RECIPIENTS_PER_NOTICE = 1 << 20


def inbox_position(envelope: Envelope, ordinal: int) -> int:
    """Where a delivery sorts (`seq`): from its event's place in the log, never from the order
    rows happened to be written in, so a rebuild gives every row the place it has live (two
    notices issued in concurrent transactions can commit in either order)."""
    if envelope.position is None or not 0 <= ordinal < RECIPIENTS_PER_NOTICE:
        raise ValueError(f"no inbox position for recipient {ordinal} of {envelope.id}")
    return envelope.position * RECIPIENTS_PER_NOTICE + ordinal


def delivery_id(notice_id: str, recipient: str) -> str:
    return hashlib.sha256(f"{notice_id}\n{recipient}".encode()).hexdigest()[:40]


def message_id(notice_id: str, recipient: str) -> str:
    """The mail's stable `Message-ID`: a resend of the same (notice, recipient) is the same mail."""
    return f"<{delivery_id(notice_id, recipient)}@notification.haizhi>"


def _row_of(event: MailSent | MailRefused) -> str:
    return delivery_id(event.notice_id, event.recipient)


def _status(recipient: Recipient) -> str:
    if recipient.channel == Channel.MAIL and recipient.email:
        return "pending"
    if recipient.channel == Channel.DIGEST and recipient.email:
        return "digest"
    return "inbox"


class DeliveriesProjection(TableProjection):
    name = "deliveries"
    tables: ClassVar = (deliveries, cases, units, contacts)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        at = format_time(envelope.time)
        match event:
            case NotificationIssued():
                facts = json.dumps({f.name: f.value for f in event.facts}, ensure_ascii=False)
                for ordinal, recipient in enumerate(event.recipients):
                    await self._deliver(
                        conn, envelope, ordinal, event.notice_id, recipient, event, facts, at
                    )
                if event.unit_id is not None:
                    await _upsert(
                        conn,
                        self.t[cases.name],
                        {"case_id": event.case_id},
                        {
                            "unit_id": event.unit_id,
                            "unit_name": event.unit_name or "",
                            "jurisdiction": event.jurisdiction or "",
                        },
                    )
            case DigestIssued():
                items = [
                    {"notice_id": i.notice_id, "case_id": i.case_id, "kind": i.kind}
                    for i in event.items
                ]
                await self._deliver(
                    conn,
                    envelope,
                    0,
                    event.notice_id,
                    event.recipient,
                    None,
                    json.dumps({"day": event.day.isoformat(), "items": items}),
                    at,
                )
                notices = [i.notice_id for i in event.items]
                rows = self.t[deliveries.name]
                await conn.execute(
                    update(rows)
                    .where(
                        rows.c.user_id == event.user_id,
                        rows.c.status == "digest",
                        rows.c.notice_id.in_(notices),
                    )
                    .values(status="digested")
                )
            case MailSent():
                rows = self.t[deliveries.name]
                await conn.execute(
                    update(rows)
                    .where(rows.c.delivery_id == delivery_id(event.notice_id, event.recipient))
                    .values(status="sent", sent_at=at, attempts=event.attempts, last_error=None)
                )
            case MailRefused():
                rows = self.t[deliveries.name]
                await conn.execute(
                    update(rows)
                    .where(rows.c.delivery_id == delivery_id(event.notice_id, event.recipient))
                    .values(status="refused", last_error=event.reason)
                )
            case UnitContactsRecorded():
                await _upsert(
                    conn,
                    self.t[units.name],
                    {"unit_id": event.unit_id},
                    {"name": event.name, "jurisdiction": event.jurisdiction},
                )
                known = self.t[contacts.name]
                await conn.execute(delete(known).where(known.c.unit_id == event.unit_id))
                seen: set[str] = set()
                for contact in event.contacts:
                    if contact.email.lower() not in seen:
                        seen.add(contact.email.lower())
                        await conn.execute(
                            insert(known).values(
                                unit_id=event.unit_id, email=contact.email, name=contact.name
                            )
                        )

    async def _deliver(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        ordinal: int,
        notice_id: str,
        recipient: Recipient,
        issued: NotificationIssued | None,
        facts: str,
        at: str,
    ) -> None:
        await self.insert_row(
            conn,
            "notification_deliveries",
            {
                "seq": inbox_position(envelope, ordinal),
                "delivery_id": delivery_id(notice_id, recipient.key),
                "notice_id": notice_id,
                "recipient": recipient.key,
                "stream_id": envelope.subject,
                "user_id": recipient.user_id,
                "email": recipient.email,
                "language": recipient.language,
                "channel": recipient.channel,
                "kind": issued.kind if issued is not None else "digest",
                "case_id": envelope.caseid,
                "unit_name": issued.unit_name if issued is not None else None,
                "facts": facts,
                "status": _status(recipient),
                "attempts": 0,
                "next_attempt_at": at,
                "last_error": None,
                "message_id": message_id(notice_id, recipient.key),
                "created_at": at,
                "sent_at": None,
            },
        )


async def _upsert(
    conn: AsyncConnection, table: Any, key: dict[str, Any], values: dict[str, Any]
) -> None:
    where = [table.c[name] == value for name, value in key.items()]
    found = (await conn.execute(select(*table.primary_key.columns).where(*where))).first()
    if found is None:
        await conn.execute(insert(table).values(**key, **values))
    else:
        await conn.execute(update(table).where(*where).values(**values))
