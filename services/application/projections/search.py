"""Read model: which applications and units does a search for a name, a credit code or a word
of the overview find?

Each unit is found by its registered name and credit code (统一社会信用代码); each application
by its unit's name and credit code and the four parts of its overview (概述) — as last
submitted, which is what reviewers read, or as drafted while it was never submitted (only its
own unit sees it then). The terms are cut by `shared.search` (CJK characters and pairs, Latin
words); `search_applications` keeps what an application's terms are cut from, so a saved
field rewrites them without reading another read model.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Integer, String, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection
from shared.search import term_rows, terms, terms_table

from ..domain.events import (
    ApplicationDrafted,
    ApplicationResubmitted,
    ApplicationSubmitted,
    DraftUpdated,
    UnitRegistered,
    UnitRegistrationAmended,
)
from .base import metadata

OVERVIEW = (
    "overview_basic_conditions",
    "overview_advantages",
    "overview_description",
    "overview_expected_goals",
)

search_terms = terms_table("search_terms", metadata)
search_applications = Table(
    "search_applications",
    metadata,
    Column("application_id", String(26), primary_key=True),
    Column("unit_name", String(200), nullable=False),
    Column("credit_code", String(18)),
    Column("overview", JSON, nullable=False),  # field -> text, the parts of 概述
    Column("revision", Integer, nullable=False),
)


class SearchProjection(TableProjection):
    name = "search"
    tables: ClassVar = (search_terms, search_applications)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        match event:
            case UnitRegistered() | UnitRegistrationAmended():
                await self._index(conn, "unit", event.unit_id, event.name, event.credit_code)
            case ApplicationDrafted():
                source: dict[str, Any] = {
                    "application_id": event.application_id,
                    "unit_name": event.unit_name,
                    "credit_code": event.credit_code,
                    "overview": {},
                    "revision": 0,
                }
                await self.insert_row(conn, "search_applications", source)
                await self._index_application(conn, source)
            case DraftUpdated(changes=changes):
                source = await self._source(conn, event.application_id)
                saved = {c.field: c.value for c in changes if c.field in OVERVIEW}
                if source["revision"] == 0 and saved:
                    source["overview"] = {**source["overview"], **saved}
                    await self._keep(conn, source)
            case ApplicationSubmitted() | ApplicationResubmitted():
                source = await self._source(conn, event.application_id)
                source["overview"] = {e.field: e.value for e in event.form if e.field in OVERVIEW}
                source["revision"] = event.revision
                if event.level is not None:  # who applies, as the registration says now
                    source["unit_name"], source["credit_code"] = event.unit_name, event.credit_code
                await self._keep(conn, source)

    async def _source(self, conn: AsyncConnection, application_id: str) -> dict[str, Any]:
        table = self.t["search_applications"]
        query = select(table).where(table.c.application_id == application_id)
        return dict((await conn.execute(query)).mappings().one())

    async def _keep(self, conn: AsyncConnection, source: dict[str, Any]) -> None:
        key = {"application_id": source["application_id"]}
        await self.update_rows(conn, "search_applications", key, source)
        await self._index_application(conn, source)

    async def _index_application(self, conn: AsyncConnection, source: dict[str, Any]) -> None:
        overview = [source["overview"].get(name) for name in OVERVIEW]
        await self._index(
            conn,
            "application",
            source["application_id"],
            source["unit_name"],
            source["credit_code"],
            *overview,
        )

    async def _index(
        self, conn: AsyncConnection, kind: str, object_id: str, *texts: str | None
    ) -> None:
        table = self.t["search_terms"]
        await conn.execute(
            delete(table).where(table.c.kind == kind, table.c.object_id == object_id)
        )
        rows = term_rows(kind, object_id, terms(*texts))
        if rows:
            await conn.execute(insert(table), rows)
