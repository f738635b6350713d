"""The stages of an application's review and what each holds: only what decisions need.

The dossier travels with the case from stage to stage; `review.py` moves it (evolve) and
decides on it (decide).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import assert_never

from services.review.domain.events import Level, Programme, Route, SubmittedFile
from services.review.domain.fairness import Fairness


@dataclass(frozen=True, slots=True)
class Dossier:
    """The submitted facts the decisions rely on, and who may still decide."""

    review_id: str
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    route: Route
    revision: int
    form_hash: str
    files: tuple[SubmittedFile, ...]
    call_opened_on: date | None = None
    fairness: Fairness = field(default_factory=Fairness)

    @property
    def ids(self) -> tuple[str, str, str]:
        return self.review_id, self.application_id, self.case_id


@dataclass(frozen=True, slots=True)
class NotOpened:
    pass


@dataclass(frozen=True, slots=True)
class AtPrefecture:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AtProvince:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AwaitingRecommendation:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AwaitingProvincialDecision:
    """A work station passed provincial intake: the provincial CAST decides (Notice §5(3))."""

    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AtNational:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AtLeadingGroup:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class AwaitingApproval:
    """The leading group approved; the general office issues the 批复 and the plaque."""

    dossier: Dossier


@dataclass(frozen=True, slots=True)
class ReturnedToApplicant:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class Rejected:
    dossier: Dossier


@dataclass(frozen=True, slots=True)
class Designated:
    dossier: Dossier
    base_id: str


@dataclass(frozen=True, slots=True)
class WorkstationApproved:
    """The provincial CAST designated the work station: final, like a base's designation."""

    dossier: Dossier
    station_id: str


@dataclass(frozen=True, slots=True)
class Closed:
    dossier: Dossier


InReview = (
    AtPrefecture
    | AtProvince
    | AwaitingRecommendation
    | AwaitingProvincialDecision
    | AtNational
    | AtLeadingGroup
    | AwaitingApproval
)
Concluded = Rejected | Designated | WorkstationApproved
Opened = InReview | ReturnedToApplicant | Concluded | Closed
State = NotOpened | Opened

# Separation of duties: the level whose deciders may not take this level's decision.
PREVIOUS_LEVEL: dict[Level, Level | None] = {
    Level.PREFECTURE: None,
    Level.PROVINCE: Level.PREFECTURE,
    Level.PROVINCE_RECOMMENDATION: Level.PROVINCE,
    Level.PROVINCIAL_DECISION: Level.PROVINCE,  # intake and decision by different officers
    Level.NATIONAL: Level.PROVINCE_RECOMMENDATION,
    Level.LEADING_GROUP: Level.NATIONAL,
    Level.GENERAL_OFFICE: Level.LEADING_GROUP,
}


def level_of(state: InReview) -> Level:
    match state:
        case AtPrefecture():
            return Level.PREFECTURE
        case AtProvince():
            return Level.PROVINCE
        case AwaitingRecommendation():
            return Level.PROVINCE_RECOMMENDATION
        case AwaitingProvincialDecision():
            return Level.PROVINCIAL_DECISION
        case AtNational():
            return Level.NATIONAL
        case AtLeadingGroup():
            return Level.LEADING_GROUP
        case AwaitingApproval():
            return Level.GENERAL_OFFICE
        case _:
            assert_never(state)


def first_level(route: Route) -> Level:
    """Notice §3: units that may not apply directly go through their prefecture CAST."""
    return Level.PREFECTURE if route is Route.VIA_PREFECTURE else Level.PROVINCE
