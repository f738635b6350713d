"""The in-app inbox and the preferences: what a person reads and chooses, as their token says
who they are. Every call remembers the person (roles, jurisdictions, unit, address): that is
how reviewers and finance become known to the notifier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal
from shared.db import Database
from shared.envelope import format_time

from ..domain.errors import DigestNotOfferedError, InboxItemNotFoundError, MandatoryNoticeError
from ..domain.events import Kind
from ..domain.rules import OPTIONAL
from ..domain.templates import Text
from ..projections.tables import deliveries, people, reads
from ..settings import NotificationSettings
from .delivery import GAVE_UP, compose, link_of
from .recipients import is_reviewer


@dataclass(frozen=True, slots=True)
class Preferences:
    email_enabled: bool
    language: str
    opt_out: tuple[Kind, ...]
    digest: str  # off | daily


DEFAULT = Preferences(email_enabled=True, language="zh", opt_out=(), digest="off")


@dataclass
class Inbox:
    db: Database
    settings: NotificationSettings

    async def remember(self, principal: Principal, now: datetime) -> None:
        """The person as their token says now; their preferences kept."""
        person = {
            "roles": " ".join(sorted(principal.roles)),
            "org_id": principal.org_id,
            "jurisdictions": " ".join(j for j in principal.jurisdictions if j and " " not in j),
            "email": principal.email,
            "seen_at": format_time(now),
        }
        async with self.db.begin() as conn:
            # Two replicas may see a person's first request at once: the insert that loses
            # does nothing (ON CONFLICT, both databases), then the person is brought up to date.
            first = {
                "user_id": principal.user_id,
                "language": DEFAULT.language,
                "email_enabled": 1,
                "opt_out": "",
                "digest": "off",
                **person,
            }
            insert_of = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            inserted = await conn.execute(
                insert_of(people).values(**first).on_conflict_do_nothing(index_elements=["user_id"])
            )
            if inserted.rowcount != 1:
                known = await self._person(conn, principal.user_id)
                if known is None or any(known[k] != v for k, v in person.items() if k != "seen_at"):
                    await conn.execute(
                        update(people).where(people.c.user_id == principal.user_id).values(**person)
                    )

    async def _person(self, conn: AsyncConnection, user_id: str) -> Mapping[str, Any] | None:
        row = (await conn.execute(select(people).where(people.c.user_id == user_id))).first()
        return None if row is None else dict(row._mapping)

    async def preferences(self, principal: Principal) -> Preferences:
        async with self.db.read_engine.connect() as conn:
            row = await self._person(conn, principal.user_id)
        if row is None:
            return DEFAULT
        return Preferences(
            email_enabled=bool(row["email_enabled"]),
            language=row["language"],
            opt_out=tuple(Kind(k) for k in row["opt_out"].split()),
            digest=row["digest"],
        )

    async def set_preferences(self, principal: Principal, chosen: Preferences) -> Preferences:
        mandatory = sorted(set(chosen.opt_out) - OPTIONAL)
        if mandatory:
            raise MandatoryNoticeError(
                f"set preferences: {', '.join(mandatory)} cannot be turned off",
                kinds=mandatory,
            )
        if chosen.digest == "daily" and not is_reviewer(list(principal.roles)):
            raise DigestNotOfferedError("set preferences: the daily digest is for reviewers")
        async with self.db.begin() as conn:
            await conn.execute(
                update(people)
                .where(people.c.user_id == principal.user_id)
                .values(
                    email_enabled=int(chosen.email_enabled),
                    language=chosen.language,
                    opt_out=" ".join(sorted(set(chosen.opt_out))),
                    digest=chosen.digest,
                )
            )
        return chosen

    async def page(
        self, principal: Principal, *, unread: bool, after: int, limit: int
    ) -> list[dict[str, Any]]:
        """The caller's items, newest first, from before position `after` (0: the newest)."""
        query = (
            select(deliveries, reads.c.read_at.label("marked_at"))
            .select_from(
                deliveries.outerjoin(reads, reads.c.delivery_id == deliveries.c.delivery_id)
            )
            .where(deliveries.c.user_id == principal.user_id)
        )
        if unread:
            query = query.where(reads.c.read_at.is_(None))
        if after:
            query = query.where(deliveries.c.seq < after)
        async with self.db.read_engine.connect() as conn:
            rows = (await conn.execute(query.order_by(deliveries.c.seq.desc()).limit(limit))).all()
            language = await self._language(conn, principal.user_id)
        return [self._item(dict(row._mapping), language) for row in rows]

    async def _language(self, conn: AsyncConnection, user_id: str) -> str | None:
        """The reader's current language (the inbox shows every notice in it), if known."""
        known = await self._person(conn, user_id)
        return None if known is None else str(known["language"])

    async def mark_read(self, principal: Principal, item_id: str, now: datetime) -> dict[str, Any]:
        """Read marks stay: a second mark keeps the first time."""
        mine = (deliveries.c.delivery_id == item_id, deliveries.c.user_id == principal.user_id)
        async with self.db.begin() as conn:
            if (await conn.execute(select(deliveries.c.seq).where(*mine))).first() is None:
                # another's item is as absent as none: nothing to learn from a 404
                raise InboxItemNotFoundError(f"mark read: no item {item_id} in your inbox")
            insert_of = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            await conn.execute(
                insert_of(reads)
                .values(delivery_id=item_id, user_id=principal.user_id, read_at=format_time(now))
                .on_conflict_do_nothing(index_elements=["delivery_id"])
            )
            row = (
                await conn.execute(
                    select(deliveries, reads.c.read_at.label("marked_at"))
                    .select_from(
                        deliveries.outerjoin(reads, reads.c.delivery_id == deliveries.c.delivery_id)
                    )
                    .where(*mine)
                )
            ).one()
            language = await self._language(conn, principal.user_id)
        return self._item(dict(row._mapping), language)

    def _item(self, row: Mapping[str, Any], language: str | None = None) -> dict[str, Any]:
        if language is not None:  # in the reader's language now, not the one frozen at issue
            row = {**row, "language": language}
        try:
            text = compose(row, self.settings.console_public_url)
            link = link_of(row)
        except Exception:  # a row that cannot be rendered is listed, never a failed page
            text, link = Text("—", "—\n"), None
        mail = row["status"] if row["email"] else "none"
        if mail == "refused" and str(row["last_error"] or "").startswith(GAVE_UP):
            mail = "failed"
        return {
            "notification_id": row["delivery_id"],
            "position": row["seq"],
            "kind": row["kind"],
            "case_id": row["case_id"],
            "subject": text.subject,
            "body": text.body,
            "language": row["language"],
            "created_at": row["created_at"],
            "read_at": row.get("marked_at"),
            "mail": mail,
            "link": link,
        }
