"""The review of one application, from its first level to the plaque (Art. 7–8, Notice §3).

One stream per review_id, spanning every revision of the application. The route fixes the first
level: via_prefecture starts at the prefecture CAST, direct at the provincial CAST. A return
sends the case to the applicant (or, from the province, back to the prefecture that forwarded
it); a resubmission reopens it at the first level; a rejection, a non-recommendation and the
designation are final. The recommendation is decided on the call's ranking (`ranking.py`) and
only recorded here, so its fairness is checked there.

The programme picks the chain after provincial intake. A national base is ranked, reviewed
nationally, decided by the leading group and designated by the general office. A provincial
work station (Notice §5(3)) is the province's own: after intake another provincial officer
approves, returns or rejects it, and an approval designates the station under the province's
certificate series. It is never ranked (the province decides each on its merits) and never
reaches a national level.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from services.review.domain.commands import (
    Accept,
    CloseReview,
    DeclareConflict,
    DeclareNoConflict,
    DesignateWorkstation,
    Forward,
    IssueApproval,
    OpenReview,
    RecordLeadingGroupDecision,
    RecordNotRecommended,
    RecordRecommended,
    RecordScore,
    Reject,
    ReopenReview,
    ReturnToApplicant,
    ReturnToPrefecture,
    ReviewCommand,
)
from services.review.domain.errors import (
    DecisionNotAllowedAtLevel,
    InvalidRank,
    InvalidScore,
    LevelMismatch,
    MeetingRecordIncomplete,
    NoPrefectureOnRoute,
    NotAwaitingResubmission,
    NotThisProgramme,
    ReasonsRequired,
    ReliedOnStaleVersion,
    ReviewAlreadyOpened,
    ReviewConcluded,
    ReviewNotFound,
    ReviewNotInProgress,
    WorkstationSeriesMissing,
)
from services.review.domain.events import (
    AcceptedAtProvince,
    ApplicationRejected,
    ApplicationReturned,
    BaseDesignated,
    ConflictDeclared,
    ForwardedToLeadingGroup,
    ForwardedToProvince,
    LeadingGroupDecided,
    LeadingGroupOutcome,
    Level,
    NoConflictDeclared,
    Programme,
    Recommended,
    ReturnedToPrefecture,
    ReviewClosed,
    ReviewEvent,
    ReviewOpened,
    ReviewReopened,
    Route,
    ScoreRecorded,
    WorkstationDesignated,
)
from services.review.domain.fairness import (
    Fairness,
    check_may_act,
    check_may_declare_no_conflict,
)
from services.review.domain.review_stages import (
    PREVIOUS_LEVEL,
    AtLeadingGroup,
    AtNational,
    AtPrefecture,
    AtProvince,
    AwaitingApproval,
    AwaitingProvincialDecision,
    AwaitingRecommendation,
    Closed,
    Designated,
    Dossier,
    InReview,
    NotOpened,
    Opened,
    Rejected,
    ReturnedToApplicant,
    State,
    WorkstationApproved,
    first_level,
    level_of,
)
from shared.cst import cst_date
from shared.cst import term_end as last_day_of_term
from shared.decider import Decider

LevelDecision = (
    RecordScore
    | Forward
    | Accept
    | ReturnToApplicant
    | ReturnToPrefecture
    | Reject
    | RecordRecommended
    | RecordNotRecommended
    | RecordLeadingGroupDecision
    | IssueApproval
    | DesignateWorkstation
)


def initial_state() -> State:
    return NotOpened()


def evolve(state: State, event: ReviewEvent) -> State:
    match event:
        case ReviewOpened():
            return _at_first_level(
                Dossier(
                    event.review_id,
                    event.application_id,
                    event.case_id,
                    event.call_id,
                    event.programme,
                    event.unit_id,
                    event.unit_name,
                    event.province,
                    event.jurisdiction,
                    event.route,
                    event.revision,
                    event.form_hash,
                    event.files,
                    event.call_opened_on,
                )
            )
        case ReviewReopened():
            d = _dossier(state)
            revised = replace(
                d,
                revision=event.revision,
                unit_name=event.unit_name,
                form_hash=event.form_hash,
                files=event.files,
                call_opened_on=event.call_opened_on or d.call_opened_on,
            )
            return _at_first_level(revised)
        case NoConflictDeclared():
            return _with_fairness(state, _dossier(state).fairness.clear(event.reviewer))
        case ConflictDeclared():
            return _with_fairness(state, _dossier(state).fairness.recuse(event.reviewer))
        case ScoreRecorded():
            return state
        case ForwardedToProvince():
            return AtProvince(_decided(state, Level.PREFECTURE, event.by))
        case ReturnedToPrefecture():
            return AtPrefecture(_decided(state, Level.PROVINCE, event.by))
        case AcceptedAtProvince(programme=Programme.PROVINCIAL_WORKSTATION):
            return AwaitingProvincialDecision(_decided(state, Level.PROVINCE, event.by))
        case AcceptedAtProvince():
            return AwaitingRecommendation(_decided(state, Level.PROVINCE, event.by))
        case Recommended():
            return AtNational(_decided(state, Level.PROVINCE_RECOMMENDATION, event.by))
        case ForwardedToLeadingGroup():
            return AtLeadingGroup(_decided(state, Level.NATIONAL, event.by))
        case LeadingGroupDecided(outcome=LeadingGroupOutcome.APPROVE):
            return AwaitingApproval(_decided(state, Level.LEADING_GROUP, event.by))
        case LeadingGroupDecided():
            # A return or a rejection: the ApplicationReturned / -Rejected after it moves the case.
            return _with_fairness(state, _decided(state, Level.LEADING_GROUP, event.by).fairness)
        case ApplicationReturned():
            return ReturnedToApplicant(_decided(state, event.level, event.by))
        case ApplicationRejected():
            return Rejected(_decided(state, event.level, event.by))
        case BaseDesignated():
            return Designated(_decided(state, Level.GENERAL_OFFICE, event.by), event.base_id)
        case WorkstationDesignated():
            decided = _decided(state, Level.PROVINCIAL_DECISION, event.by)
            return WorkstationApproved(decided, event.station_id)
        case ReviewClosed():
            return Closed(_dossier(state))
        case _:
            assert_never(event)


def decide(command: ReviewCommand, state: State) -> list[ReviewEvent]:
    name = type(command).__name__
    match command, state:
        case OpenReview(), NotOpened():
            return [_opened(command)]
        case _, NotOpened():
            raise ReviewNotFound(f"{name}: no review {command.review_id}")
        case OpenReview(), _ if command.application_id == state.dossier.application_id:
            return []  # the same submission, delivered again
        case OpenReview(), _:
            raise ReviewAlreadyOpened(f"{name}: review {command.review_id} is another one's")
        case ReopenReview(), _ if command.revision <= state.dossier.revision:
            return []  # a resubmission already taken into account
        case ReopenReview(), ReturnedToApplicant():
            return [_reopened(command, state.dossier)]
        case ReopenReview(), _:
            raise NotAwaitingResubmission(f"{name}: refused in {_stage(state)}")
        case CloseReview(), _:
            return _closed(command, state)
        case (
            _,
            ReturnedToApplicant() | Rejected() | Designated() | WorkstationApproved() | Closed(),
        ):
            raise ReviewNotInProgress(f"{name}: refused in {_stage(state)}")
        case DeclareNoConflict(), _ if command.by in state.dossier.fairness.cleared:
            return []
        case DeclareNoConflict(), _:
            d = state.dossier
            check_may_declare_no_conflict(d.fairness, command.by, command.by_org, {d.unit_id})
            return [
                NoConflictDeclared(d.review_id, d.case_id, command.by, command.by_org, command.at)
            ]
        case DeclareConflict(), _ if command.by in state.dossier.fairness.recused:
            return []
        case DeclareConflict(), _:
            d = state.dossier
            return [
                ConflictDeclared(
                    d.review_id, d.case_id, command.by, command.by_org, command.reason, command.at
                )
            ]
        case _:
            return _decide_at_level(command, state)


def _closed(command: CloseReview, state: Opened) -> list[ReviewEvent]:
    """Withdrawal closes the review wherever it stands, but cannot undo a final outcome."""
    ids = state.dossier.ids
    match state:
        case Closed():
            return []
        case Rejected() | Designated() | WorkstationApproved():
            raise ReviewConcluded(f"{type(command).__name__}: refused in {_stage(state)}")
        case ReturnedToApplicant():
            return [ReviewClosed(*ids, None, command.reason, command.at)]
        case _:
            return [ReviewClosed(*ids, level_of(state), command.reason, command.at)]


def _decide_at_level(command: LevelDecision, state: InReview) -> list[ReviewEvent]:
    name, level, d = type(command).__name__, level_of(state), state.dossier
    if command.level is not level:
        raise LevelMismatch(
            f"{name} for {command.level}: the review is at {level}",
            meant_for=command.level,
            current=level,
        )
    if not isinstance(command, RecordRecommended | RecordNotRecommended):
        # Scores are not decisions: separation of duties does not apply to them.
        previous = None if isinstance(command, RecordScore) else PREVIOUS_LEVEL[level]
        check_may_act(d.fairness, command.by, command.by_org, {d.unit_id}, previous)
    match command, state:
        case RecordScore(), _:
            return [_scored(command, d, level)]
        case Forward(), AtPrefecture():
            return [ForwardedToProvince(*d.ids, command.opinion, command.by, command.at)]
        case Forward(), AtNational():
            return [ForwardedToLeadingGroup(*d.ids, command.opinion, command.by, command.at)]
        case Accept(), AtProvince():
            return [_accepted(command, d)]
        case (
            ReturnToApplicant(),
            AtPrefecture() | AtProvince() | AwaitingProvincialDecision() | AtNational(),
        ):
            reasons = _reasons(command.reasons, name)
            return [ApplicationReturned(*d.ids, level, reasons, command.by, command.at)]
        case ReturnToPrefecture(), AtProvince() if d.route is Route.VIA_PREFECTURE:
            reasons = _reasons(command.reasons, name)
            return [ReturnedToPrefecture(*d.ids, reasons, command.by, command.at)]
        case ReturnToPrefecture(), AtProvince():
            raise NoPrefectureOnRoute(f"{name}: {d.application_id} came directly to the province")
        case Reject(), AtPrefecture() | AtProvince() | AwaitingProvincialDecision() | AtNational():
            reasons = _reasons(command.reasons, name)
            return [ApplicationRejected(*d.ids, level, reasons, command.by, command.at)]
        case RecordRecommended(), AwaitingRecommendation():
            if command.rank < 1:
                raise InvalidRank(f"{name}: rank {command.rank}")
            return [Recommended(*d.ids, command.ranking_id, command.rank, command.by, command.at)]
        case RecordNotRecommended(), AwaitingRecommendation():
            # Not recommended is final: published as a rejection at this level.
            reasons = _reasons(command.reasons, name)
            return [ApplicationRejected(*d.ids, level, reasons, command.by, command.at)]
        case RecordLeadingGroupDecision(), AtLeadingGroup():
            return _leading_group_decided(command, d)
        case IssueApproval(), AwaitingApproval():
            if d.programme is not Programme.NATIONAL_BASE:
                raise NotThisProgramme(f"{name}: {d.programme} gets no national plaque")
            return [_designated(command, d)]
        case DesignateWorkstation(), AwaitingProvincialDecision():
            return [_workstation_designated(command, d)]
        case _:
            raise DecisionNotAllowedAtLevel(f"{name}: not a decision taken at {level}")


def _leading_group_decided(command: RecordLeadingGroupDecision, d: Dossier) -> list[ReviewEvent]:
    name = type(command).__name__
    if not command.meeting_ref.strip() or not command.members_present:
        raise MeetingRecordIncomplete(f"{name}: meeting reference and members present required")
    if command.meeting_date > cst_date(command.at):
        raise MeetingRecordIncomplete(f"{name}: the meeting of {command.meeting_date} is ahead")
    submitted = sorted(f.sha256 for f in d.files)
    if command.form_hash != d.form_hash or sorted(command.file_hashes) != submitted:
        raise ReliedOnStaleVersion(
            f"{name}: relied on another version than revision {d.revision}", revision=d.revision
        )
    reasons = command.reasons
    if command.outcome is not LeadingGroupOutcome.APPROVE:
        reasons = _reasons(reasons, name)
    decided = LeadingGroupDecided(
        *d.ids,
        command.meeting_ref,
        command.meeting_date,
        command.members_present,
        command.outcome,
        command.form_hash,
        command.file_hashes,
        reasons,
        command.by,
        command.at,
    )
    by, at = command.by, command.at
    match command.outcome:
        case LeadingGroupOutcome.APPROVE:
            return [decided]
        case LeadingGroupOutcome.RETURN:
            return [decided, ApplicationReturned(*d.ids, Level.LEADING_GROUP, reasons, by, at)]
        case LeadingGroupOutcome.REJECT:
            return [decided, ApplicationRejected(*d.ids, Level.LEADING_GROUP, reasons, by, at)]
        case _:
            assert_never(command.outcome)


def _designated(command: IssueApproval, d: Dossier) -> BaseDesignated:
    approved_on = cst_date(command.at)
    # Art. 14: valid 5 (policy) years from the approval date; term_end is the last day.
    term_end = last_day_of_term(approved_on, command.policy.term_years)
    return BaseDesignated(
        review_id=d.review_id,
        application_id=d.application_id,
        case_id=d.case_id,
        base_id=command.base_id,
        programme=d.programme,
        unit_id=d.unit_id,
        unit_name=d.unit_name,
        province=d.province,
        jurisdiction=d.jurisdiction,
        approval_no=command.approval_no,
        certificate_no=command.certificate_no,
        plaque_name=command.policy.plaque_name,  # Art. 8: one name for every plaque
        approved_on=approved_on,
        term_start=approved_on,
        term_end=term_end,
        policy_version=command.policy.version,
        by=command.by,
        at=command.at,
        call_id=d.call_id,
        call_opened_on=d.call_opened_on,
    )


def _workstation_designated(c: DesignateWorkstation, d: Dossier) -> WorkstationDesignated:
    name = type(c).__name__
    if c.policy is None:
        raise WorkstationSeriesMissing(
            f"{name}: province {d.province} has no [workstation] certificate_series in force;"
            " a station is designated under its province's own series"
        )
    return WorkstationDesignated(
        review_id=d.review_id,
        application_id=d.application_id,
        case_id=d.case_id,
        station_id=c.station_id,
        programme=d.programme,
        call_id=d.call_id,
        call_opened_on=d.call_opened_on,
        unit_id=d.unit_id,
        unit_name=d.unit_name,
        province=d.province,
        jurisdiction=d.jurisdiction,
        certificate_no=c.certificate_no,
        approved_on=cst_date(c.at),
        policy_version=c.policy.version,
        opinion=c.opinion,
        by=c.by,
        at=c.at,
    )


def _opened(c: OpenReview) -> ReviewOpened:
    return ReviewOpened(
        c.review_id,
        c.application_id,
        c.case_id,
        c.call_id,
        c.programme,
        c.unit_id,
        c.unit_name,
        c.province,
        c.jurisdiction,
        c.route,
        c.revision,
        c.form_hash,
        c.files,
        first_level(c.route),
        c.at,
        c.call_opened_on,
    )


def _reopened(c: ReopenReview, d: Dossier) -> ReviewReopened:
    return ReviewReopened(
        *d.ids,
        c.revision,
        c.unit_name,
        c.form_hash,
        c.files,
        first_level(d.route),
        c.at,
        c.call_opened_on,
    )


def _scored(c: RecordScore, d: Dossier, level: Level) -> ScoreRecorded:
    if isinstance(c.score, bool) or not 0 <= c.score <= 100 or not c.criterion.strip():
        raise InvalidScore(f"{type(c).__name__}: {c.criterion!r} = {c.score!r}")
    return ScoreRecorded(
        d.review_id, d.case_id, d.revision, level, c.by, c.criterion, c.score, c.at
    )


def _accepted(c: Accept, d: Dossier) -> AcceptedAtProvince:
    return AcceptedAtProvince(
        *d.ids,
        d.call_id,
        d.programme,
        d.province,
        d.unit_id,
        c.opinion,
        c.by,
        c.at,
    )


def _reasons(reasons: tuple[str, ...], name: str) -> tuple[str, ...]:
    given = tuple(r.strip() for r in reasons if r.strip())
    if not given:
        raise ReasonsRequired(f"{name}: give the reasons")
    return given


def _stage(state: State) -> str:
    return type(state).__name__


def _dossier(state: State) -> Dossier:
    assert not isinstance(state, NotOpened), "history of a review starts with ReviewOpened"
    return state.dossier


def _decided(state: State, level: Level, by: str) -> Dossier:
    d = _dossier(state)
    return replace(d, fairness=d.fairness.decided(level, by))


def _with_fairness(state: State, fairness: Fairness) -> State:
    assert not isinstance(state, NotOpened), "history of a review starts with ReviewOpened"
    return replace(state, dossier=replace(state.dossier, fairness=fairness))


def _at_first_level(dossier: Dossier) -> InReview:
    return AtPrefecture(dossier) if dossier.route is Route.VIA_PREFECTURE else AtProvince(dossier)


decider: Decider[ReviewCommand, State, ReviewEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
