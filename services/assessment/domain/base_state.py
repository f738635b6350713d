"""A designated base's state and how each event changes it (the `evolve` half of its decider).

A base is `Unregistered` until review designates it, then `Active` through its terms, years of
reporting and assessment, and rectification orders, until it is `Revoked` (Art. 13) or
`Expired` (Art. 14): both terminal. The state keeps only what later decisions need.
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
    """A year's grade: proposed on scoring, final once the year's list is approved (Art. 12)."""

    proposed: Grade
    final: Grade | None = None


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
    first_year: int  # the year of designation: the first year reported and assessed
    term_start: date
    term_end: date
    term_policy_version: str
    reporting: Mapping[int, Reporting] = field(default_factory=dict)
    grades: Mapping[int, YearGrade] = field(default_factory=dict)
    rectifications: Mapping[str, Rectification] = field(default_factory=dict)
    revocation: RevocationProposal | None = None
    window_opened_for: date | None = None  # the term_end whose renewal window has opened
    renewals_assessed: frozenset[str] = frozenset()
    renewals_granted: frozenset[str] = frozenset()


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


def evolve(state: State, event: BaseEvent) -> State:
    match state, event:
        case _, BaseRegistered():
            return Active(
                base_id=event.base_id,
                case_id=event.case_id,
                unit_id=event.unit_id,
                jurisdiction=event.jurisdiction,
                first_year=event.term_start.year,
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
            return _with_grade(state, event.year, YearGrade(proposed=event.grade))
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
        case Active() | Revoked() | Expired(), RenewalAssessed():
            return replace(state, renewals_assessed=state.renewals_assessed | {event.renewal_id})
        case Active(), TermRenewed():
            return replace(
                state,
                term_start=event.term_start,
                term_end=event.term_end,
                term_policy_version=event.policy_version,
                renewals_granted=state.renewals_granted | {event.renewal_id},
            )
        case Active(), BaseExpired():
            return Expired(state.base_id, state.case_id, state.renewals_assessed)
        case _:
            return state
