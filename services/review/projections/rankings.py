"""Read model: how does a call's provincial recommendation stand — its candidates, the ranked
list, the quota, and why the others were not recommended?"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table, Text, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import Envelope, format_time
from shared.projection import TableProjection

from ..domain.events import (
    CandidateAdded,
    CandidateWithdrawn,
    RankingConflictDeclared,
    RankingNoConflictDeclared,
    RecommendationListSubmitted,
)
from .base import metadata

rankings = Table(
    "rankings",
    metadata,
    Column("ranking_id", String(40), primary_key=True),
    Column("call_id", String(40), nullable=False, index=True),
    Column("province", String(12), nullable=False),
    Column("status", String(20), nullable=False),  # collecting | submitted
    Column("quota", Integer),
    Column("submitted_by", String(200)),
    Column("submitted_at", String(40)),
    Column("version", Integer, nullable=False),
)

ranking_candidates = Table(
    "ranking_candidates",
    metadata,
    Column("ranking_id", String(40), primary_key=True),
    Column("application_id", String(40), primary_key=True),
    Column("review_id", String(40), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("accepted_by", String(200), nullable=False),
    # candidate | withdrawn | recommended | not_recommended
    Column("status", String(20), nullable=False),
    Column("rank", Integer),
    Column("reasons", Text),  # JSON list, for the not recommended
)


class RankingsProjection(TableProjection):
    name = "rankings"
    tables: ClassVar = (rankings, ranking_candidates)

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        candidates = self.t["ranking_candidates"]
        match event:
            case CandidateAdded():
                if envelope.streamversion == 1:  # a ranking starts with its first candidate
                    ranking = {
                        "ranking_id": event.ranking_id,
                        "call_id": event.call_id,
                        "province": event.province,
                        "status": "collecting",
                        "version": 1,
                    }
                    await self.insert_row(conn, "rankings", ranking)
                mine = (candidates.c.ranking_id == event.ranking_id) & (
                    candidates.c.application_id == event.application_id
                )
                await conn.execute(delete(candidates).where(mine))
                candidate = {
                    "ranking_id": event.ranking_id,
                    "application_id": event.application_id,
                    "review_id": event.review_id,
                    "case_id": event.case_id,
                    "unit_id": event.unit_id,
                    "accepted_by": event.accepted_by,
                    "status": "candidate",
                }
                await self.insert_row(conn, "ranking_candidates", candidate)
            case CandidateWithdrawn():
                await self._candidate(
                    conn, event.ranking_id, event.application_id, {"status": "withdrawn"}
                )
            case RecommendationListSubmitted():
                submitted = {
                    "status": "submitted",
                    "quota": event.quota,
                    "submitted_by": event.by,
                    "submitted_at": format_time(event.at),
                }
                await self.update_rows(
                    conn, "rankings", {"ranking_id": event.ranking_id}, submitted
                )
                for entry in event.ranked:
                    recommended = {"status": "recommended", "rank": entry.rank}
                    await self._candidate(conn, event.ranking_id, entry.application_id, recommended)
                for other in event.not_recommended:
                    reasons = json.dumps(list(other.reasons), ensure_ascii=False)
                    not_recommended = {"status": "not_recommended", "reasons": reasons}
                    await self._candidate(
                        conn, event.ranking_id, other.application_id, not_recommended
                    )
            case RankingNoConflictDeclared() | RankingConflictDeclared():
                pass
            case _:
                return
        version = {"version": envelope.streamversion}
        await self.update_rows(conn, "rankings", {"ranking_id": event.ranking_id}, version)

    async def _candidate(
        self, conn: AsyncConnection, ranking_id: str, application_id: str, values: dict[str, Any]
    ) -> None:
        where = {"ranking_id": ranking_id, "application_id": application_id}
        await self.update_rows(conn, "ranking_candidates", where, values)
