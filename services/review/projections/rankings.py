"""Read model: how does a call's provincial recommendation stand — its candidates, the ranked
list, the quota, and why the others were not recommended?"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, String, Table, Text, delete, insert, update
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
        table, candidates = self.t["rankings"], self.t["ranking_candidates"]
        match event:
            case CandidateAdded():
                if envelope.streamversion == 1:  # a ranking starts with its first candidate
                    await conn.execute(
                        insert(table).values(
                            ranking_id=event.ranking_id,
                            call_id=event.call_id,
                            province=event.province,
                            status="collecting",
                            version=1,
                        )
                    )
                mine = (candidates.c.ranking_id == event.ranking_id) & (
                    candidates.c.application_id == event.application_id
                )
                await conn.execute(delete(candidates).where(mine))
                await conn.execute(
                    insert(candidates).values(
                        ranking_id=event.ranking_id,
                        application_id=event.application_id,
                        review_id=event.review_id,
                        case_id=event.case_id,
                        unit_id=event.unit_id,
                        accepted_by=event.accepted_by,
                        status="candidate",
                    )
                )
            case CandidateWithdrawn():
                await conn.execute(
                    update(candidates)
                    .where(
                        candidates.c.ranking_id == event.ranking_id,
                        candidates.c.application_id == event.application_id,
                    )
                    .values(status="withdrawn")
                )
            case RecommendationListSubmitted():
                await conn.execute(
                    update(table)
                    .where(table.c.ranking_id == event.ranking_id)
                    .values(
                        status="submitted",
                        quota=event.quota,
                        submitted_by=event.by,
                        submitted_at=format_time(event.at),
                    )
                )
                for entry in event.ranked:
                    await conn.execute(
                        update(candidates)
                        .where(
                            candidates.c.ranking_id == event.ranking_id,
                            candidates.c.application_id == entry.application_id,
                        )
                        .values(status="recommended", rank=entry.rank)
                    )
                for other in event.not_recommended:
                    await conn.execute(
                        update(candidates)
                        .where(
                            candidates.c.ranking_id == event.ranking_id,
                            candidates.c.application_id == other.application_id,
                        )
                        .values(
                            status="not_recommended",
                            reasons=json.dumps(list(other.reasons), ensure_ascii=False),
                        )
                    )
            case RankingNoConflictDeclared() | RankingConflictDeclared():
                pass
            case _:
                return
        await conn.execute(
            update(table)
            .where(table.c.ranking_id == event.ranking_id)
            .values(version=envelope.streamversion)
        )
