"""HTTP: the review of one application — declarations, scores and each level's decisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    IfMatch,
    Page,
    PageParams,
    command_context,
    command_response,
)
from shared.auth import Principal
from shared.decider import ConcurrencyConflict
from shared.envelope import new_id
from shared.usecase import CommandContext

from ..domain.errors import (
    ConflictDeclarationMissing,
    DecisionNotAllowedAtLevel,
    LevelMismatch,
    ReasonsRequired,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    ReviewNotFound,
    ReviewNotInProgress,
    SeparationOfDutiesViolated,
    WorkstationSeriesMissing,
)
from ..domain.events import LeadingGroupOutcome, Level, Programme, ScoreRecorded
from ..domain.review_stages import NotOpened
from ..domain.scores import score_sheet
from ..projections.reviews import reviews
from ..usecases.reviews import ReviewResult
from ..usecases.streams import review_stream
from .dependencies import (
    Reader,
    Reviewer,
    UseCases,
    covered,
    org_of,
    require_declared,
    require_level_role,
    visible_review,
)
from .problems import ROLE_REQUIRED, VALIDATION, problems

router = APIRouter(prefix="/reviews", tags=["reviews 评审"])

ReviewId = Annotated[str, Path(min_length=1, max_length=64)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Opinion = Annotated[str, Field(max_length=2000)]
Run = Callable[[AsyncConnection, CommandContext], Awaitable[ReviewResult]]

#: Reading an application's content: the reviewer must have declared no conflict first.
CONTENT_REFUSALS = problems(s403=[ROLE_REQUIRED, ConflictDeclarationMissing], s404=[ReviewNotFound])
#: Any decision: the level's role, the declaration, fairness, and the level the case is at.
DECISION_REFUSALS = problems(
    s403=[
        ROLE_REQUIRED,
        ConflictDeclarationMissing,
        ReviewerFromApplicantUnit,
        ReviewerRecused,
        SeparationOfDutiesViolated,
    ],
    s404=[ReviewNotFound],
    s409=[LevelMismatch, ReviewNotInProgress, ConcurrencyConflict],
    s422=[VALIDATION, DecisionNotAllowedAtLevel, ReasonsRequired],
)
DECISION_NOTE = (
    "Preconditions: the caller holds the role of the level, the case is at that level, and the"
    " caller declared no conflict of interest on this review; whoever decided at the previous"
    " level cannot decide at this one. Send the `ETag` of `GET /reviews/{review_id}` as"
    " `If-Match` (optional; a stale one is refused with 409 `concurrency-conflict`) and an"
    " `Idempotency-Key` to retry safely."
)
DECLARATION_NOTE = (
    " Precondition: the caller declared no conflict of interest on this review"
    " (`POST /reviews/{review_id}/declarations` with `{}`); otherwise 403"
    " `conflict-declaration-missing`."
)


class DeclarationBody(Body):
    conflict: bool = Field(
        False,
        description="false (the default): no conflict of interest with the applicant unit;"
        " true: a conflict, and the reviewer is recused from this review",
    )
    reason: Opinion = Field("", description="required when `conflict` is true; default empty")

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
    level: Literal[Level.PREFECTURE, Level.NATIONAL] = Field(
        description="the level the case is at: prefecture (to the province) or national"
        " (to the leading group)"
    )
    opinion: Opinion = Field("", description="the level's written opinion; default empty")


class AcceptBody(Body):
    opinion: Opinion = Field("", description="the written opinion; default empty")


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


class WorkstationOutcome(StrEnum):
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"


class WorkstationDecisionBody(Body):
    """The provincial CAST's decision on a provincial work station (Notice §5(3))."""

    outcome: WorkstationOutcome
    reasons: list[Reason] = Field(
        default_factory=list,
        max_length=50,
        description="required for return and reject; default none",
    )
    opinion: Opinion = Field("", description="the written opinion; default empty")

    @model_validator(mode="after")
    def _refusals_have_reasons(self) -> WorkstationDecisionBody:
        if self.outcome is not WorkstationOutcome.APPROVE and not self.reasons:
            raise ValueError("a return or a rejection needs its reasons")
        return self


class ReviewSummary(BaseModel):
    """Where a review stands (never its content)."""

    review_id: str
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    route: str
    revision: int
    status: str = Field(
        description="in_review | returned | rejected | designated | closed",
    )
    level: Level | None = Field(description="the level it waits at; null once out of review")
    rank: int | None
    base_id: str | None = Field(description="the designated national base")
    station_id: str | None = Field(description="the designated provincial work station")
    certificate_no: str | None
    updated_at: str
    version: int


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


@router.get(
    "",
    summary="Find reviews by application or case id, within your jurisdiction",
    description="Filters combine; without any, every review in your jurisdiction, oldest id"
    " first. Reviews outside your jurisdiction are not listed (no 403)." + PAGING,
)
async def find_reviews(
    principal: Reader,
    usecases: UseCases,
    page: PageParams,
    application_id: Annotated[str | None, Query(max_length=64)] = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    programme: Programme | None = None,
) -> Page[ReviewSummary]:
    limit, cursor = page
    query = select(reviews).where(covered(reviews.c.jurisdiction, principal))
    if application_id is not None:
        query = query.where(reviews.c.application_id == application_id)
    if case_id is not None:
        query = query.where(reviews.c.case_id == case_id)
    if programme is not None:
        query = query.where(reviews.c.programme == programme.value)
    if cursor:
        query = query.where(reviews.c.review_id > cursor)
    query = query.order_by(reviews.c.review_id).limit(limit + 1)
    async with usecases.executor.db.read_engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    items = [ReviewSummary.model_validate(dict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(items=items, next_cursor=items[-1].review_id if more else None)


@router.get(
    "/{review_id}",
    summary="Where a review stands (no content)",
    description="No declaration needed: the summary names no content. The `ETag` is the"
    " review's stream version, to send as `If-Match` with a decision.",
    responses=problems(s403=[ROLE_REQUIRED], s404=[ReviewNotFound]),
)
async def get_review(review_id: ReviewId, principal: Reader, usecases: UseCases) -> JSONResponse:
    row = await visible_review(usecases, principal, review_id)
    return JSONResponse(dict(row), headers={"ETag": f'"{row["version"]}"'})


@router.get(
    "/{review_id}/dossier",
    summary="The submitted version under review (content)",
    description="The revision under review: form hash, files and their hashes."
    + DECLARATION_NOTE
    + " An auditor reads without declaring (they decide nothing).",
    responses=CONTENT_REFUSALS,
)
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


@router.get(
    "/{review_id}/scores",
    summary="Scores of the current revision: totals, averages",
    description="Per level: each reviewer's total, the average total and each criterion's"
    " average (decimal strings)." + DECLARATION_NOTE,
    responses=CONTENT_REFUSALS,
)
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


@router.post(
    "/{review_id}/declarations",
    summary="Declare no conflict of interest, or one",
    description="The first step of every reviewer on a review: before reading its content or"
    ' deciding. `{}` declares no conflict (the default); `{"conflict": true, "reason":'
    " ...}` recuses the caller. Repeating a declaration changes nothing.",
    responses=problems(
        s403=[ROLE_REQUIRED, ReviewerFromApplicantUnit, ReviewerRecused],
        s404=[ReviewNotFound],
        s409=[ReviewNotInProgress],
        s422=[VALIDATION],
    ),
)
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


@router.post(
    "/{review_id}/scores",
    summary="Score criteria at the level the case is at",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/forward",
    summary="Forward: prefecture → province, national → group",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/accept",
    summary="Provincial intake passed: a base joins the ranking, a station awaits the decision",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/return",
    summary="Return to the applicant for revision",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/return-to-prefecture",
    summary="Province: back to the prefecture",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/reject",
    summary="Reject (final), with reasons",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/leading-group-decision",
    summary="The leading group's decision",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/approval",
    summary="批复 and plaque: the base is designated",
    description=DECISION_NOTE,
    responses=DECISION_REFUSALS,
)
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


@router.post(
    "/{review_id}/workstation-decision",
    summary="Province: approve, return or reject a provincial work station (Notice §5(3))",
    description="The provincial CAST's own decision on a work station that passed provincial"
    " intake (level `provincial_decision`; another officer than the one who accepted it). An"
    " approval designates the station (`WorkstationDesignated`) with the next certificate of"
    " the province's own series (its policy's `[workstation] certificate_series`, e.g."
    " 云海智站-2022-001); a province that configures none gets 409"
    " `workstation-series-missing`. Stations are never ranked and never reach a national"
    " level or the national plaque. " + DECISION_NOTE,
    responses=problems(
        s403=[
            ROLE_REQUIRED,
            ConflictDeclarationMissing,
            ReviewerFromApplicantUnit,
            ReviewerRecused,
            SeparationOfDutiesViolated,
        ],
        s404=[ReviewNotFound],
        s409=[LevelMismatch, ReviewNotInProgress, WorkstationSeriesMissing, ConcurrencyConflict],
        s422=[VALIDATION, ReasonsRequired],
    ),
)
async def workstation_decision(
    review_id: ReviewId,
    body: WorkstationDecisionBody,
    request: Request,
    principal: Reviewer,
    key: IdempotencyKey,
    version: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    level = Level.PROVINCIAL_DECISION
    require_level_role(principal, level)
    await visible_review(usecases, principal, review_id)
    ctx = command_context(request, principal)
    station_id = new_id()
    reviews_ = usecases.reviews

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        by_org, reasons = org_of(principal), tuple(body.reasons)
        match body.outcome:
            case WorkstationOutcome.APPROVE:
                result, certificate_no = await reviews_.designate_workstation(
                    conn,
                    ctx,
                    review_id,
                    station_id=station_id,
                    opinion=body.opinion,
                    by_org=by_org,
                    expected_version=version,
                )
                return _answer(result, station_id=station_id, certificate_no=certificate_no)
            case WorkstationOutcome.RETURN:
                result = await reviews_.return_to_applicant(
                    conn,
                    ctx,
                    review_id,
                    level=level,
                    reasons=reasons,
                    by_org=by_org,
                    expected_version=version,
                )
            case WorkstationOutcome.REJECT:
                result = await reviews_.reject(
                    conn,
                    ctx,
                    review_id,
                    level=level,
                    reasons=reasons,
                    by_org=by_org,
                    expected_version=version,
                )
        return _answer(result)

    return await command_response(request, usecases.executor, principal, key, action)
