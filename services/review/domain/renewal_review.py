"""A renewal request (Art. 14): province → national → renewal assessment → the plaque again.

One stream per renewal_id. The provincial CAST passes the written request on, or returns it to
the unit for completeness with reasons, once (it never refuses one: the decision is the
nation's); the unit's completed request waits at the province again, to be passed on. The
national department asks the assessment service for the renewal assessment, which a national
officer makes on the term's grades; a qualified result lets the general office award the plaque
again for a new term that follows the old one without a gap — even when the decision comes
after the old term ended (the base stays "renewal pending" meanwhile) — and an unqualified one
refuses the renewal on the day of that decision. A withdrawn request closes the review. The
fairness rules of the application review apply: declarations of interest, and province and
national deciders apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import assert_never

from services.review.domain.commands import (
    CloseRenewalReview,
    DeclareConflictForRenewal,
    DeclareNoConflictForRenewal,
    ForwardRenewal,
    GrantRenewal,
    OpenRenewalReview,
    RecordRenewalAssessment,
    RenewalCommand,
    ReopenRenewalReview,
    RequestRenewalAssessment,
    ReturnRenewal,
)
from services.review.domain.errors import (
    DecisionNotAllowedAtLevel,
    LevelMismatch,
    ReasonsRequired,
    RenewalAlreadyReturned,
    RenewalConcluded,
    RenewalNotAwaitingAssessment,
    RenewalNotAwaitingResubmission,
    RenewalNotFound,
    RenewalNotInProgress,
)
from services.review.domain.events import (
    Level,
    RenewalAssessmentRecorded,
    RenewalAssessmentRequested,
    RenewalConflictDeclared,
    RenewalEvent,
    RenewalForwarded,
    RenewalGranted,
    RenewalNoConflictDeclared,
    RenewalRefused,
    RenewalReturned,
    RenewalReviewClosed,
    RenewalReviewOpened,
    RenewalReviewReopened,
)
from services.review.domain.fairness import (
    Fairness,
    check_may_act,
    check_may_declare_no_conflict,
)
from shared.cst import cst_date
from shared.cst import term_end as last_day_of_term
from shared.decider import Decider


@dataclass(frozen=True, slots=True)
class Request:
    renewal_id: str
    case_id: str
    base_id: str
    unit_id: str
    term_end: date
    fairness: Fairness = field(default_factory=Fairness)
    returned: bool = False  # the province used its one return for completeness


@dataclass(frozen=True, slots=True)
class NotRequested:
    pass


@dataclass(frozen=True, slots=True)
class AtProvince:
    request: Request


@dataclass(frozen=True, slots=True)
class ReturnedToUnit:
    """Returned for completeness: waits for the unit's completed request (or its withdrawal)."""

    request: Request


@dataclass(frozen=True, slots=True)
class AtNational:
    request: Request


@dataclass(frozen=True, slots=True)
class AwaitingAssessment:
    request: Request


@dataclass(frozen=True, slots=True)
class Qualified:
    """The renewal assessment was qualified: the general office awards the plaque again."""

    request: Request


@dataclass(frozen=True, slots=True)
class Granted:
    request: Request


@dataclass(frozen=True, slots=True)
class Refused:
    request: Request
    level: Level


@dataclass(frozen=True, slots=True)
class Withdrawn:
    request: Request


InProgress = AtProvince | AtNational | AwaitingAssessment | Qualified
State = NotRequested | InProgress | ReturnedToUnit | Granted | Refused | Withdrawn

LevelDecision = ForwardRenewal | ReturnRenewal | RequestRenewalAssessment | GrantRenewal

# Separation of duties: the level whose deciders may not take this level's decision.
PREVIOUS_LEVEL: dict[Level, Level | None] = {
    Level.PROVINCE: None,
    Level.NATIONAL: Level.PROVINCE,
    Level.GENERAL_OFFICE: Level.NATIONAL,
}


def level_of(state: InProgress) -> Level | None:
    """The level whose decision is awaited; None while the assessment service works."""
    match state:
        case AtProvince():
            return Level.PROVINCE
        case AtNational():
            return Level.NATIONAL
        case AwaitingAssessment():
            return None
        case Qualified():
            return Level.GENERAL_OFFICE
        case _:
            assert_never(state)


def initial_state() -> State:
    return NotRequested()


def evolve(state: State, event: RenewalEvent) -> State:
    match event:
        case RenewalReviewOpened():
            e = event
            return AtProvince(Request(e.renewal_id, e.case_id, e.base_id, e.unit_id, e.term_end))
        case RenewalNoConflictDeclared():
            return _with_fairness(state, _request(state).fairness.clear(event.reviewer))
        case RenewalConflictDeclared():
            return _with_fairness(state, _request(state).fairness.recuse(event.reviewer))
        case RenewalReturned():
            decided = replace(_decided(state, Level.PROVINCE, event.by), returned=True)
            return ReturnedToUnit(decided)
        case RenewalReviewReopened():
            return AtProvince(_request(state))
        case RenewalForwarded():
            return AtNational(_decided(state, Level.PROVINCE, event.by))
        case RenewalAssessmentRequested():
            return AwaitingAssessment(_decided(state, Level.NATIONAL, event.by))
        case RenewalAssessmentRecorded(qualified=True):
            return Qualified(_request(state))
        case RenewalAssessmentRecorded():
            return state  # the RenewalRefused recorded with it ends the request
        case RenewalGranted():
            return Granted(_decided(state, Level.GENERAL_OFFICE, event.by))
        case RenewalRefused():
            return Refused(_decided(state, event.level, event.by), event.level)
        case RenewalReviewClosed():
            return Withdrawn(_request(state))
        case _:
            assert_never(event)


def decide(command: RenewalCommand, state: State) -> list[RenewalEvent]:
    name = type(command).__name__
    match command, state:
        case OpenRenewalReview(), NotRequested():
            return [_opened(command)]
        case _, NotRequested():
            raise RenewalNotFound(f"{name}: no renewal request {command.renewal_id}")
        case OpenRenewalReview(), _:
            return []  # the request, delivered again
        case ReopenRenewalReview(), ReturnedToUnit():
            r = state.request
            reopened = RenewalReviewReopened(
                r.renewal_id, r.case_id, r.base_id, command.statement, command.at
            )
            return [reopened]
        case ReopenRenewalReview(), AtProvince():
            return []  # the completed request, delivered again
        case ReopenRenewalReview(), _:
            raise RenewalNotAwaitingResubmission(f"{name}: refused in {type(state).__name__}")
        case CloseRenewalReview(), Withdrawn():
            return []
        case CloseRenewalReview(), Granted() | Refused():
            raise RenewalConcluded(f"{name}: refused in {type(state).__name__}")
        case CloseRenewalReview(), _:
            r = state.request
            return [RenewalReviewClosed(r.renewal_id, r.case_id, r.base_id, command.at)]
        case RecordRenewalAssessment(), AwaitingAssessment():
            return _assessment_recorded(command, state.request)
        case RecordRenewalAssessment(), Qualified() | Granted() | Refused(level=Level.NATIONAL):
            return []  # the assessment, delivered again
        case RecordRenewalAssessment(), _:
            raise RenewalNotAwaitingAssessment(f"{name}: refused in {type(state).__name__}")
        case _, ReturnedToUnit() | Granted() | Refused() | Withdrawn():
            raise RenewalNotInProgress(f"{name}: refused in {type(state).__name__}")
        case DeclareNoConflictForRenewal(), _ if command.by in state.request.fairness.cleared:
            return []
        case DeclareNoConflictForRenewal(), _:
            r = state.request
            check_may_declare_no_conflict(r.fairness, command.by, command.by_org, {r.unit_id})
            ids = (r.renewal_id, r.case_id)
            return [RenewalNoConflictDeclared(*ids, command.by, command.by_org, command.at)]
        case DeclareConflictForRenewal(), _ if command.by in state.request.fairness.recused:
            return []
        case DeclareConflictForRenewal(), _:
            r = state.request
            ids = (r.renewal_id, r.case_id)
            by, org = command.by, command.by_org
            return [RenewalConflictDeclared(*ids, by, org, command.reason, command.at)]
        case _:
            return _decide_at_level(command, state)


def _decide_at_level(command: LevelDecision, state: InProgress) -> list[RenewalEvent]:
    name, level, r = type(command).__name__, level_of(state), state.request
    if command.level is not level:
        raise LevelMismatch(
            f"{name} for {command.level}: the renewal is at {level or 'assessment'}",
            meant_for=command.level,
            current=level,
        )
    check_may_act(r.fairness, command.by, command.by_org, {r.unit_id}, PREVIOUS_LEVEL[level])
    ids = (r.renewal_id, r.case_id, r.base_id)
    match command, state:
        case ForwardRenewal(), AtProvince():
            return [RenewalForwarded(*ids, command.opinion, command.by, command.at)]
        case ReturnRenewal(), AtProvince() if r.returned:
            # Returned once already: the province passes the completed request on as it is.
            raise RenewalAlreadyReturned(f"{name}: {r.renewal_id} was returned once already")
        case ReturnRenewal(), AtProvince():
            # The province checks completeness; it passes requests on, it does not refuse them.
            reasons = tuple(x.strip() for x in command.reasons if x.strip())
            if not reasons:
                raise ReasonsRequired(f"{name}: give the reasons")
            return [RenewalReturned(*ids, reasons, command.by, command.at)]
        case RequestRenewalAssessment(), AtNational():
            # Art. 14: renewed only if the renewal assessment is qualified.
            return [RenewalAssessmentRequested(*ids, command.by, command.at)]
        case GrantRenewal(), Qualified():
            return [_granted(command, r)]
        case _:
            raise DecisionNotAllowedAtLevel(f"{name}: not a decision taken at {level}")


def _assessment_recorded(c: RecordRenewalAssessment, r: Request) -> list[RenewalEvent]:
    ids = (r.renewal_id, r.case_id, r.base_id)
    recorded = RenewalAssessmentRecorded(
        *ids, c.qualified, c.reasons, c.policy_version, c.at, c.grades
    )
    if c.qualified:
        return [recorded]
    # Art. 14: unqualified, not renewed; the base ends on the day of this decision.
    refused_on = c.decided_on or cst_date(c.at)
    refused = RenewalRefused(*ids, Level.NATIONAL, c.reasons, c.by, c.at, refused_on)
    return [recorded, refused]


def _granted(c: GrantRenewal, r: Request) -> RenewalGranted:
    # Art. 14: a new term follows the old one without a gap, even when granted after the old
    # term ended (the base was renewal pending meanwhile); term_end is its last day.
    term_start = r.term_end + timedelta(days=1)
    term_end = last_day_of_term(term_start, c.policy.term_years)
    return RenewalGranted(
        renewal_id=r.renewal_id,
        case_id=r.case_id,
        base_id=r.base_id,
        certificate_no=c.certificate_no,
        term_start=term_start,
        term_end=term_end,
        policy_version=c.policy.version,
        by=c.by,
        at=c.at,
    )


def _opened(c: OpenRenewalReview) -> RenewalReviewOpened:
    return RenewalReviewOpened(
        c.renewal_id,
        c.case_id,
        c.base_id,
        c.unit_id,
        c.unit_name,
        c.province,
        c.jurisdiction,
        c.term_end,
        c.at,
        c.statement,
    )


def _request(state: State) -> Request:
    assert not isinstance(state, NotRequested), "history of a renewal starts with its opening"
    return state.request


def _decided(state: State, level: Level, by: str) -> Request:
    r = _request(state)
    return replace(r, fairness=r.fairness.decided(level, by))


def _with_fairness(state: State, fairness: Fairness) -> State:
    assert not isinstance(state, NotRequested), "history of a renewal starts with its opening"
    return replace(state, request=replace(state.request, fairness=fairness))


decider: Decider[RenewalCommand, State, RenewalEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
