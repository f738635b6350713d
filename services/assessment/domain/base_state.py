"""A designated base's state and how each event changes it (the `evolve` half of its decider).

A base is `Unregistered` until review designates it, then `Active` through its terms, years of
reporting and assessment, and rectification orders, until it is `Revoked` (Art. 13) or
`Expired` (Art. 14): both terminal. An `Active` base whose term ended while a renewal request
awaits review's decision is still active: `pending_past_term`. The state keeps only what later
decisions need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from services.assessment.domain.events import (
    AnnualReportFiled,
    AnnualReportForwarded,
    AnnualReportOverdue,
    BaseCommended,
    BaseEvent,
    BaseExpired,
    BaseRegistered,
    BaseRevoked,
    BaseScored,
    GradeFinalised,
    GradeProposed,
    RectificationAccepted,
    RectificationOrdered,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    RenewalAssessed,
    RenewalAssessmentOpened,
    RenewalPendingPastTerm,
    RenewalRefusalRecorded,
    RenewalRequestRecorded,
    RenewalRequestWithdrawalRecorded,
    RenewalWindowOpened,
    ReportingOpened,
    ReportReminded,
    RevocationProposed,
    TermRenewed,
)
from services.assessment.domain.policy import Grade


@dataclass(frozen=True, slots=True)
class Reporting:
    """Reporting for one year (Art. 10), as opened under `policy_version`."""

    due_on: date
    reminder_days: tuple[int, ...]
    policy_version: str
    reminded: frozenset[int] = frozenset()
    filed: bool = False
    forwarded: bool = False
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class YearGrade:
    """A year's grade (Art. 12): suggested by the policy on scoring, proposed by the department
    (the suggestion, or another grade with its `reason`), final once the list is approved."""

    proposed: Grade
    suggested: Grade
    missing_report: bool
    policy_version: str  # the scoring's
    reason: str = ""
    final: Grade | None = None


@dataclass(frozen=True, slots=True)
class RenewalRequest:
    """The unit's open renewal request for the term ending `term_end` (Art. 14)."""

    renewal_id: str
    term_end: date


@dataclass(frozen=True, slots=True)
class RenewalAssessment:
    """A renewal assessment review asked for: pending until the department answers."""

    opened_on: date
    qualified: bool | None = None
    reasons: tuple[str, ...] = ()


class RectificationStage(StrEnum):
    ORDERED = "ordered"  # awaiting the base's report (again, after a rejection)
    REPORTED = "reported"  # awaiting the department's decision
    ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class Rectification:
    year: int
    deadline: date
    policy_version: str
    stage: RectificationStage = RectificationStage.ORDERED
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class RevocationProposal:
    years: tuple[int, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class Unregistered:
    pass


@dataclass(frozen=True, slots=True)
class Active:
    base_id: str
    case_id: str
    unit_id: str
    jurisdiction: str
    first_year: int  # the first year reported and assessed (policy: late designations skip one)
    term_start: date
    term_end: date
    term_policy_version: str
    reporting: Mapping[int, Reporting] = field(default_factory=dict)
    grades: Mapping[int, YearGrade] = field(default_factory=dict)
    rectifications: Mapping[str, Rectification] = field(default_factory=dict)
    revocation: RevocationProposal | None = None
    window_opened_for: date | None = None  # the term_end whose renewal window has opened
    renewal_request: RenewalRequest | None = None
    pending_past_term: bool = False  # the term ended while `renewal_request` awaits review
    renewal_assessments: Mapping[str, RenewalAssessment] = field(default_factory=dict)
    renewals_granted: frozenset[str] = frozenset()

    @property
    def renewals_assessed(self) -> frozenset[str]:
        return frozenset(self.renewal_assessments)


@dataclass(frozen=True, slots=True)
class Revoked:
    base_id: str
    case_id: str
    renewals_assessed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Expired:
    base_id: str
    case_id: str
    renewals_assessed: frozenset[str] = frozenset()


State = Unregistered | Active | Revoked | Expired


def initial_state() -> State:
    return Unregistered()


def _with_reporting(base: Active, year: int, reporting: Reporting) -> Active:
    return replace(base, reporting={**base.reporting, year: reporting})


def _with_grade(base: Active, year: int, grade: YearGrade) -> Active:
    return replace(base, grades={**base.grades, year: grade})


def _with_rectification(base: Active, rectification_id: str, r: Rectification) -> Active:
    return replace(base, rectifications={**base.rectifications, rectification_id: r})


def _with_assessment(base: Active, renewal_id: str, assessment: RenewalAssessment) -> Active:
    return replace(base, renewal_assessments={**base.renewal_assessments, renewal_id: assessment})


def evolve(state: State, event: BaseEvent) -> State:
    match state, event:
        case _, BaseRegistered():
            return Active(
                base_id=event.base_id,
                case_id=event.case_id,
                unit_id=event.unit_id,
                jurisdiction=event.jurisdiction,
                first_year=event.first_report_year,
                term_start=event.term_start,
                term_end=event.term_end,
                term_policy_version=event.policy_version,
            )
        case Active(), ReportingOpened():
            opened = Reporting(event.due_on, event.reminder_days_before, event.policy_version)
            return _with_reporting(state, event.year, opened)
        case Active(), ReportReminded():
            r = state.reporting[event.year]
            return _with_reporting(
                state, event.year, replace(r, reminded=r.reminded | {event.days_before})
            )
        case Active(), AnnualReportFiled():
            r = state.reporting[event.year]
            return _with_reporting(state, event.year, replace(r, filed=True))
        case Active(), AnnualReportForwarded():
            r = state.reporting[event.year]
            return _with_reporting(state, event.year, replace(r, forwarded=True))
        case Active(), AnnualReportOverdue():
            r = state.reporting[event.year]
            return _with_reporting(state, event.year, replace(r, overdue=True))
        case Active(), BaseScored():
            return state  # the proposal that follows is what later decisions need
        case Active(), GradeProposed():
            proposal = YearGrade(
                proposed=event.grade,
                suggested=event.suggested_grade,
                missing_report=event.missing_report,
                policy_version=event.policy_version,
                reason=event.reason,
            )
            return _with_grade(state, event.year, proposal)
        case Active(), GradeFinalised():
            g = state.grades[event.year]
            return _with_grade(state, event.year, replace(g, final=event.grade))
        case Active(), BaseCommended():
            return state
        case Active(), RectificationOrdered():
            ordered = Rectification(event.year, event.deadline, event.policy_version)
            return _with_rectification(state, event.rectification_id, ordered)
        case Active(), RectificationReportFiled():
            order = state.rectifications[event.rectification_id]
            reported = replace(order, stage=RectificationStage.REPORTED)
            return _with_rectification(state, event.rectification_id, reported)
        case Active(), RectificationAccepted():
            order = state.rectifications[event.rectification_id]
            accepted = replace(order, stage=RectificationStage.ACCEPTED)
            return _with_rectification(state, event.rectification_id, accepted)
        case Active(), RectificationRejected():
            order = state.rectifications[event.rectification_id]
            reopened = replace(order, stage=RectificationStage.ORDERED)
            return _with_rectification(state, event.rectification_id, reopened)
        case Active(), RectificationOverdue():
            order = state.rectifications[event.rectification_id]
            return _with_rectification(state, event.rectification_id, replace(order, overdue=True))
        case Active(), RevocationProposed():
            return replace(state, revocation=RevocationProposal(event.years, event.policy_version))
        case Active(), BaseRevoked():
            return Revoked(state.base_id, state.case_id, state.renewals_assessed)
        case Active(), RenewalWindowOpened():
            return replace(state, window_opened_for=event.term_end)
        case Active(), RenewalRequestRecorded():
            return replace(state, renewal_request=RenewalRequest(event.renewal_id, event.term_end))
        case Active(), RenewalRequestWithdrawalRecorded() | RenewalRefusalRecorded():
            return replace(state, renewal_request=None, pending_past_term=False)
        case Active(), RenewalPendingPastTerm():
            return replace(state, pending_past_term=True)
        case Active(), RenewalAssessmentOpened():
            asked = RenewalAssessment(event.opened_on)
            return _with_assessment(state, event.renewal_id, asked)
        case Active(), RenewalAssessed():
            pending = state.renewal_assessments.get(event.renewal_id)
            done = replace(
                pending or RenewalAssessment(event.assessed_on),
                qualified=event.qualified,
                reasons=event.reasons,
            )
            return _with_assessment(state, event.renewal_id, done)
        case Revoked() | Expired(), RenewalAssessed():
            return replace(state, renewals_assessed=state.renewals_assessed | {event.renewal_id})
        case Active(), TermRenewed():
            return replace(
                state,
                term_start=event.term_start,
                term_end=event.term_end,
                term_policy_version=event.policy_version,
                renewal_request=None,
                pending_past_term=False,
                renewals_granted=state.renewals_granted | {event.renewal_id},
            )
        case Active(), BaseExpired():
            return Expired(state.base_id, state.case_id, state.renewals_assessed)
        case _:
            return state
