"""Read model: which bases does a search for their unit's name find?

A base is found by the name of its unit as designated, cut into terms by `shared.search` (CJK
characters and pairs, Latin words) — the only text this service holds about it. A credit code
or a word of the overview finds the base's application in the application service
(`/search/applications`, whose answer carries the `base_id`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope
from shared.projection import TableProjection
from shared.search import term_rows, terms, terms_table

from ..domain.events import BaseRegistered
from .base import metadata

search_terms = terms_table("search_terms", metadata, id_length=64)


class SearchProjection(TableProjection):
    name = "search"
    tables: ClassVar = (search_terms,)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        if isinstance(event, BaseRegistered):  # a base's unit name never changes after
            found = terms(event.unit_name)
            await conn.execute(
                insert(self.t["search_terms"]), term_rows("base", event.base_id, found)
            )
