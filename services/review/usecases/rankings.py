"""The provincial recommendation of a call (择优推荐): candidates join as the province accepts
them; the submitted list marks every candidate's review recommended or not, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.usecase import CommandContext, CommandResult, Executor

from ..domain import ranking, review
from ..domain.commands import (
    AddCandidate,
    DeclareConflictForRanking,
    DeclareNoConflictForRanking,
    NonRecommendation,
    RecordNotRecommended,
    RecordRecommended,
    SubmitRecommendationList,
    WithdrawCandidate,
)
from ..domain.events import AcceptedAtProvince, Level, RecommendationListSubmitted
from .streams import ranking_id_for, ranking_stream, review_stream


@dataclass
class RankingUseCases:
    executor: Executor

    async def add_candidate(
        self, conn: AsyncConnection, ctx: CommandContext, accepted: AcceptedAtProvince
    ) -> None:
        """An application accepted at provincial intake competes in its call's ranking."""
        ranking_id = ranking_id_for(accepted.call_id, accepted.province)
        command = AddCandidate(
            ranking_id=ranking_id,
            call_id=accepted.call_id,
            province=accepted.province,
            application_id=accepted.application_id,
            review_id=accepted.review_id,
            case_id=accepted.case_id,
            unit_id=accepted.unit_id,
            accepted_by=accepted.by,
            by=ctx.actor,
            at=accepted.at,
        )
        await self._execute(conn, ctx, ranking_id, command)

    async def withdraw_candidate(
        self, conn: AsyncConnection, ctx: CommandContext, ranking_id: str, application_id: str
    ) -> None:
        command = WithdrawCandidate(
            ranking_id, application_id, "application withdrawn", ctx.actor, self._now()
        )
        await self._execute(conn, ctx, ranking_id, command)

    async def declare(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        ranking_id: str,
        *,
        conflict: bool,
        reason: str,
        by_org: str,
    ) -> CommandResult[ranking.State]:
        command: DeclareConflictForRanking | DeclareNoConflictForRanking
        if conflict:
            command = DeclareConflictForRanking(ranking_id, reason, ctx.actor, by_org, self._now())
        else:
            command = DeclareNoConflictForRanking(ranking_id, ctx.actor, by_org, self._now())
        return await self._execute(conn, ctx, ranking_id, command)

    async def submit_list(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        ranking_id: str,
        *,
        ranked: tuple[str, ...],
        not_recommended: tuple[NonRecommendation, ...],
        quota: int | None,
        by_org: str,
        expected_version: int | None = None,
    ) -> CommandResult[ranking.State]:
        """Submit the list, and record each candidate's outcome on its review — all or nothing."""
        at = self._now()
        command = SubmitRecommendationList(
            ranking_id, ranked, not_recommended, quota, ctx.actor, by_org, at
        )
        result = await self._execute(conn, ctx, ranking_id, command, expected_version)
        for envelope in result.events:
            submitted = self.executor.registry.decode(envelope.type, envelope.data)
            if not isinstance(submitted, RecommendationListSubmitted):
                continue
            level = Level.PROVINCE_RECOMMENDATION
            for entry in submitted.ranked:
                recommended = RecordRecommended(
                    entry.review_id, level, ranking_id, entry.rank, ctx.actor, at
                )
                await self._on_review(conn, ctx, entry.review_id, recommended)
            for other in submitted.not_recommended:
                refused = RecordNotRecommended(
                    other.review_id, level, ranking_id, other.reasons, ctx.actor, at
                )
                await self._on_review(conn, ctx, other.review_id, refused)
        return result

    async def load(self, ranking_id: str) -> ranking.State:
        return (await self.executor.load(ranking.decider, ranking_stream(ranking_id))).state

    async def _on_review(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        review_id: str,
        command: RecordRecommended | RecordNotRecommended,
    ) -> None:
        await self.executor.execute(
            review.decider, review_stream(review_id), command, ctx=ctx, conn=conn
        )

    async def _execute(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        ranking_id: str,
        command: Any,
        expected_version: int | None = None,
    ) -> CommandResult[ranking.State]:
        return await self.executor.execute(
            ranking.decider,
            ranking_stream(ranking_id),
            command,
            ctx=ctx,
            case_id=ranking_id,  # a ranking belongs to no one case
            expected_version=expected_version,
            conn=conn,
        )

    def _now(self) -> datetime:
        return self.executor.clock.now()
