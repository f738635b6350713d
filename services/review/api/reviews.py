"""HTTP: the review of one application — declarations, scores and each level's decisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import Body, IdempotencyKey, IfMatch, command_context, command_response
from shared.auth import Principal
from shared.envelope import new_id
from shared.usecase import CommandContext

from ..domain.events import LeadingGroupOutcome, Level, ScoreRecorded
from ..domain.review_stages import NotOpened
from ..domain.scores import score_sheet
from ..usecases.reviews import ReviewResult
from ..usecases.streams import review_stream
from .dependencies import (
    Reader,
    Reviewer,
    UseCases,
    org_of,
    require_declared,
    require_level_role,
    visible_review,
)

router = APIRouter(prefix="/reviews", tags=["reviews 评审"])

ReviewId = Annotated[str, Path(min_length=1, max_length=64)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Opinion = Annotated[str, Field(max_length=2000)]
Run = Callable[[AsyncConnection, CommandContext], Awaitable[ReviewResult]]


class DeclarationBody(Body):
    conflict: bool = Field(False, description="true: I have a conflict of interest (recusal)")
    reason: Opinion = ""

    @model_validator(mode="after")
    def _conflict_has_a_reason(self) -> DeclarationBody:
        if self.conflict and not self.reason:
            raise ValueError("a declared conflict of interest needs its reason")
        return self


class ScoreEntry(Body):
    criterion: str = Field(min_length=1, max_length=100)
    score: int = Field(ge=0, le=100)


class ScoresBody(Body):
    level: Level
    scores: list[ScoreEntry] = Field(min_length=1, max_length=50)


class ForwardBody(Body):
    level: Literal[Level.PREFECTURE, Level.NATIONAL]
    opinion: Opinion = ""


class AcceptBody(Body):
    opinion: Opinion = ""


class ReturnBody(Body):
    level: Literal[Level.PREFECTURE, Level.PROVINCE, Level.NATIONAL]
    reasons: list[Reason] = Field(min_length=1, max_length=50)


class ReturnToPrefectureBody(Body):
    reasons: list[Reason] = Field(min_length=1, max_length=50)


class LeadingGroupBody(Body):
    meeting_ref: str = Field(min_length=1, max_length=200)
    meeting_date: date
    members_present: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=100
    )
    outcome: LeadingGroupOutcome
    form_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_hashes: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(max_length=100)
    reasons: list[Reason] = Field(default_factory=list, max_length=50)


class ApprovalBody(Body):
    approval_no: str = Field(min_length=1, max_length=100, examples=["科协办函〔2022〕15号"])


def _answer(result: ReviewResult, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {
        "review_id": result.stream_id.removeprefix("review-"),
        "version": result.version,
        "events": [e.name for e in result.events],
    }
    return 200, body | extra


async def _command(
    request: Request,
    usecases: UseCases,
    principal: Principal,
    key: str | None,
    review_id: str,
    level: Level,
    run: Run,
) -> JSONResponse:
    """Role of the level, then jurisdiction (404 outside it), then the use case, once."""
    require_level_role(principal, level)
    await visible_review(usecases, principal, review_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        return _answer(await run(conn, ctx))

    return await command_response(request, usecases.executor, principal, key, action)


@router.get("/{review_id}", summary="Where a review stands (no content)")
async def get_review(review_id: ReviewId, principal: Reader, usecases: UseCases) -> JSONResponse:
    row = await visible_review(usecases, principal, review_id)
    return JSONResponse(dict(row), headers={"ETag": f'"{row["version"]}"'})


@router.get("/{review_id}/dossier", summary="The submitted version under review (content)")
async def get_dossier(review_id: ReviewId, principal: Reader, usecases: UseCases) -> dict[str, Any]:
    await visible_review(usecases, principal, review_id)
    await require_declared(usecases, principal, review_id)
    state = (await usecases.reviews.load(review_id)).state
    assert not isinstance(state, NotOpened), "a visible review was opened"
    d = state.dossier
    return {
        "review_id": d.review_id,
        "application_id": d.application_id,
        "case_id": d.case_id,
        "unit_id": d.unit_id,
        "unit_name": d.unit_name,
        "route": d.route.value,
        "revision": d.revision,
        "form_hash": d.form_hash,
        "files": [{"slot": f.slot, "name": f.name, "sha256": f.sha256} for f in d.files],
    }


@router.get("/{review_id}/scores", summary="Scores of the current revision: totals, averages")
async def get_scores(review_id: ReviewId, principal: Reader, usecases: UseCases) -> dict[str, Any]:
    row = await visible_review(usecases, principal, review_id)
    await require_declared(usecases, principal, review_id)
    executor = usecases.executor
    async with executor.db.read_engine.connect() as conn:
        envelopes = await executor.store.read_stream(conn, review_stream(review_id))
    events = (executor.registry.decode(e.type, e.data) for e in envelopes)
    sheets = score_sheet((e for e in events if isinstance(e, ScoreRecorded)), row["revision"])
    return {
        "review_id": review_id,
        "revision": row["revision"],
        "levels": [
            {
                "level": sheet.level.value,
                "totals": [{"reviewer": who, "total": total} for who, total in sheet.totals],
                "average_total": str(sheet.average_total),
                "criterion_averages": [
                    {"criterion": what, "average": str(mean)}
                    for what, mean in sheet.criterion_averages
                ],
            }
            for sheet in sheets
        ],
    }


@router.post("/{review_id}/declarations", summary="Declare no conflict of interest, or one")
async def declare(
    review_id: ReviewId,
    body: DeclarationBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await visible_review(usecases, principal, review_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.reviews.declare(
            conn,
            ctx,
            review_id,
            conflict=body.conflict,
            reason=body.reason,
            by_org=org_of(principal),
        )
        return _answer(result)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{review_id}/scores", summary="Score criteria at the level the case is at")
async def record_scores(
    review_id: ReviewId,
    body: ScoresBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    scores = [(entry.criterion, entry.score) for entry in body.scores]

    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.record_scores(
            conn,
            ctx,
            review_id,
            level=body.level,
            scores=scores,
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, body.level, run)


@router.post("/{review_id}/forward", summary="Forward: prefecture → province, national → group")
async def forward(
    review_id: ReviewId,
    body: ForwardBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.forward(
            conn,
            ctx,
            review_id,
            level=body.level,
            opinion=body.opinion,
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, body.level, run)


@router.post("/{review_id}/accept", summary="Provincial intake passed: a candidate for ranking")
async def accept(
    review_id: ReviewId,
    body: AcceptBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.accept(
            conn,
            ctx,
            review_id,
            level=Level.PROVINCE,
            opinion=body.opinion,
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, Level.PROVINCE, run)


@router.post("/{review_id}/return", summary="Return to the applicant for revision")
async def return_to_applicant(
    review_id: ReviewId,
    body: ReturnBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.return_to_applicant(
            conn,
            ctx,
            review_id,
            level=body.level,
            reasons=tuple(body.reasons),
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, body.level, run)


@router.post("/{review_id}/return-to-prefecture", summary="Province: back to the prefecture")
async def return_to_prefecture(
    review_id: ReviewId,
    body: ReturnToPrefectureBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.return_to_prefecture(
            conn,
            ctx,
            review_id,
            level=Level.PROVINCE,
            reasons=tuple(body.reasons),
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, Level.PROVINCE, run)


@router.post("/{review_id}/reject", summary="Reject (final), with reasons")
async def reject(
    review_id: ReviewId,
    body: ReturnBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.reject(
            conn,
            ctx,
            review_id,
            level=body.level,
            reasons=tuple(body.reasons),
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, body.level, run)


@router.post("/{review_id}/leading-group-decision", summary="The leading group's decision")
async def leading_group_decision(
    review_id: ReviewId,
    body: LeadingGroupBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def run(conn: AsyncConnection, ctx: CommandContext) -> ReviewResult:
        return await usecases.reviews.record_leading_group_decision(
            conn,
            ctx,
            review_id,
            meeting_ref=body.meeting_ref,
            meeting_date=body.meeting_date,
            members_present=tuple(body.members_present),
            outcome=body.outcome,
            form_hash=body.form_hash,
            file_hashes=tuple(body.file_hashes),
            reasons=tuple(body.reasons),
            by_org=org_of(principal),
            expected_version=version,
        )

    return await _command(request, usecases, principal, key, review_id, Level.LEADING_GROUP, run)


@router.post("/{review_id}/approval", summary="批复 and plaque: the base is designated")
async def issue_approval(
    review_id: ReviewId,
    body: ApprovalBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    require_level_role(principal, Level.GENERAL_OFFICE)
    await visible_review(usecases, principal, review_id)
    ctx = command_context(request, principal)
    base_id = new_id()

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result, certificate_no = await usecases.reviews.issue_approval(
            conn,
            ctx,
            review_id,
            approval_no=body.approval_no,
            base_id=base_id,
            by_org=org_of(principal),
            expected_version=version,
        )
        return _answer(result, base_id=base_id, certificate_no=certificate_no)

    return await command_response(request, usecases.executor, principal, key, action)
