"""Events of the review service: what was decided, in the past tense.

The integration events other services read keep the field names of docs/contracts.md:
`ApplicationReturned`, `ApplicationRejected`, `BaseDesignated`, `WorkstationDesignated`,
`RenewalReturned`, `RenewalAssessmentRequested`, `RenewalGranted`, `RenewalRefused` (they may
carry more, never less). The others are this service's own history: who declared what, who
decided at which level, on which version.

Fields added after events of that shape were first stored have defaults (`None`, `""`, `()`),
so older history still decodes: a review opened before the call's opening day was carried has
`call_opened_on = None`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from shared.issuance import DocumentIssued


class Programme(StrEnum):
    NATIONAL_BASE = "national_base"
    PROVINCIAL_WORKSTATION = "provincial_workstation"  # Notice §5(3)


class Route(StrEnum):
    DIRECT = "direct"  # Notice §3(1): provincial-level and central units
    VIA_PREFECTURE = "via_prefecture"  # Notice §3(2): parks, prefecture institutes, enterprises


class Level(StrEnum):
    """The levels of the review chain, in the order a case climbs them (Art. 7–8)."""

    PREFECTURE = "prefecture"
    PROVINCE = "province"
    PROVINCE_RECOMMENDATION = "province_recommendation"
    # A provincial work station's chain ends at the province (Notice §5(3)): after intake, the
    # provincial CAST decides itself; it never reaches the ranking or the national levels.
    PROVINCIAL_DECISION = "provincial_decision"
    NATIONAL = "national"
    LEADING_GROUP = "leading_group"
    GENERAL_OFFICE = "general_office"


class LeadingGroupOutcome(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    """One attachment of the submitted version, identified by its content hash."""

    slot: str
    name: str
    sha256: str


# --- the review of one application -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewOpened:
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
    level: Level
    at: datetime
    call_opened_on: date | None = None  # the call's opening day (None: not carried then)


@dataclass(frozen=True, slots=True)
class ReviewReopened:
    review_id: str
    application_id: str
    case_id: str
    revision: int
    unit_name: str
    form_hash: str
    files: tuple[SubmittedFile, ...]
    level: Level
    at: datetime
    call_opened_on: date | None = None


@dataclass(frozen=True, slots=True)
class NoConflictDeclared:
    review_id: str
    case_id: str
    reviewer: str
    reviewer_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConflictDeclared:
    review_id: str
    case_id: str
    reviewer: str
    reviewer_org: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ScoreRecorded:
    review_id: str
    case_id: str
    revision: int
    level: Level
    reviewer: str
    criterion: str
    score: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ForwardedToProvince:
    review_id: str
    application_id: str
    case_id: str
    opinion: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReturnedToPrefecture:
    review_id: str
    application_id: str
    case_id: str
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AcceptedAtProvince:
    """Passed provincial intake and preliminary review; a candidate of the call's ranking."""

    review_id: str
    application_id: str
    case_id: str
    call_id: str
    programme: Programme
    province: str
    unit_id: str
    opinion: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Recommended:
    review_id: str
    application_id: str
    case_id: str
    ranking_id: str
    rank: int
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ForwardedToLeadingGroup:
    review_id: str
    application_id: str
    case_id: str
    opinion: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LeadingGroupDecided:
    """The meeting record, with the exact version of the application it relied on."""

    review_id: str
    application_id: str
    case_id: str
    meeting_ref: str
    meeting_date: date
    members_present: tuple[str, ...]
    outcome: LeadingGroupOutcome
    form_hash: str
    file_hashes: tuple[str, ...]
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ApplicationReturned:
    review_id: str
    application_id: str
    case_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ApplicationRejected:
    review_id: str
    application_id: str
    case_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BaseDesignated:
    review_id: str
    application_id: str
    case_id: str
    base_id: str
    programme: Programme
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    approval_no: str
    certificate_no: str
    plaque_name: str
    approved_on: date
    term_start: date
    term_end: date
    policy_version: str
    by: str
    at: datetime
    call_id: str = ""  # "" only in designations stored before the call was carried
    call_opened_on: date | None = None


@dataclass(frozen=True, slots=True)
class WorkstationDesignated:
    """The provincial CAST designates a provincial work station (Notice §5(3)): a certificate
    of the province's own series, under the province's policy; no plaque, no national level."""

    review_id: str
    application_id: str
    case_id: str
    station_id: str
    programme: Programme
    call_id: str
    call_opened_on: date | None
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    certificate_no: str
    approved_on: date
    policy_version: str  # the province's own version
    opinion: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReviewClosed:
    """The application was withdrawn; `level` is where the review stood (None if returned)."""

    review_id: str
    application_id: str
    case_id: str
    level: Level | None
    reason: str
    at: datetime


# --- the provincial recommendation of one call ------------------------------------------


@dataclass(frozen=True, slots=True)
class RankedEntry:
    rank: int
    application_id: str
    review_id: str
    case_id: str


@dataclass(frozen=True, slots=True)
class NotRecommendedEntry:
    application_id: str
    review_id: str
    case_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CandidateAdded:
    ranking_id: str
    call_id: str
    province: str
    application_id: str
    review_id: str
    case_id: str
    unit_id: str
    accepted_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CandidateWithdrawn:
    ranking_id: str
    application_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RankingNoConflictDeclared:
    ranking_id: str
    reviewer: str
    reviewer_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RankingConflictDeclared:
    ranking_id: str
    reviewer: str
    reviewer_org: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecommendationListSubmitted:
    ranking_id: str
    call_id: str
    province: str
    quota: int | None
    ranked: tuple[RankedEntry, ...]
    not_recommended: tuple[NotRecommendedEntry, ...]
    by: str
    at: datetime


# --- a renewal request (Art. 14) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenewalReviewOpened:
    renewal_id: str
    case_id: str
    base_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_end: date
    at: datetime
    statement: str = ""  # the unit's written request


@dataclass(frozen=True, slots=True)
class RenewalReturned:
    """The province returns the request to the unit for completeness (it never refuses one)."""

    renewal_id: str
    case_id: str
    base_id: str
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalReviewReopened:
    """The unit completed the returned request: it waits at the province again."""

    renewal_id: str
    case_id: str
    base_id: str
    statement: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalNoConflictDeclared:
    renewal_id: str
    case_id: str
    reviewer: str
    reviewer_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalConflictDeclared:
    renewal_id: str
    case_id: str
    reviewer: str
    reviewer_org: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalForwarded:
    renewal_id: str
    case_id: str
    base_id: str
    opinion: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalAssessmentRequested:
    renewal_id: str
    case_id: str
    base_id: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GradeEvidence:
    """One year's final grade of the term, as the renewal assessment relied on it."""

    year: int
    grade: str  # excellent | qualified | unqualified


@dataclass(frozen=True, slots=True)
class RenewalAssessmentRecorded:
    renewal_id: str
    case_id: str
    base_id: str
    qualified: bool
    reasons: tuple[str, ...]
    assessment_policy_version: str
    at: datetime
    grades: tuple[GradeEvidence, ...] = ()


@dataclass(frozen=True, slots=True)
class RenewalGranted:
    renewal_id: str
    case_id: str
    base_id: str
    certificate_no: str
    term_start: date
    term_end: date
    policy_version: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RenewalRefused:
    renewal_id: str
    case_id: str
    base_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    at: datetime
    refused_on: date | None = None  # the decision date (CST); None only in older history


@dataclass(frozen=True, slots=True)
class RenewalReviewClosed:
    renewal_id: str
    case_id: str
    base_id: str
    at: datetime


# --- certificates: their numbers, and the standing of the bases they certify -------------


@dataclass(frozen=True, slots=True)
class CertificateNumberIssued:
    """A number of a year's certificate register: for a national plaque (designation or
    renewal; `base_id` is the base's id) or a province's work station (the station's id)."""

    year: int
    sequence: int
    certificate_no: str
    base_id: str
    case_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BaseRevocationRecorded:
    """The assessment service revoked the base (Art. 13): its certificates are no longer valid."""

    base_id: str
    case_id: str
    revoked_on: date
    policy_version: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BaseExpiryRecorded:
    """The base's term ended without a renewal (Art. 14): its certificates have expired."""

    base_id: str
    case_id: str
    expired_on: date
    policy_version: str
    at: datetime


ReviewEvent = (
    ReviewOpened
    | ReviewReopened
    | NoConflictDeclared
    | ConflictDeclared
    | ScoreRecorded
    | ForwardedToProvince
    | ReturnedToPrefecture
    | AcceptedAtProvince
    | Recommended
    | ForwardedToLeadingGroup
    | LeadingGroupDecided
    | ApplicationReturned
    | ApplicationRejected
    | BaseDesignated
    | WorkstationDesignated
    | ReviewClosed
)
RankingEvent = (
    CandidateAdded
    | CandidateWithdrawn
    | RankingNoConflictDeclared
    | RankingConflictDeclared
    | RecommendationListSubmitted
)
RenewalEvent = (
    RenewalReviewOpened
    | RenewalReturned
    | RenewalReviewReopened
    | RenewalNoConflictDeclared
    | RenewalConflictDeclared
    | RenewalForwarded
    | RenewalAssessmentRequested
    | RenewalAssessmentRecorded
    | RenewalGranted
    | RenewalRefused
    | RenewalReviewClosed
)
RegisterEvent = CertificateNumberIssued
StandingEvent = BaseRevocationRecorded | BaseExpiryRecorded

EVENTS: tuple[type, ...] = (
    ReviewOpened,
    ReviewReopened,
    NoConflictDeclared,
    ConflictDeclared,
    ScoreRecorded,
    ForwardedToProvince,
    ReturnedToPrefecture,
    AcceptedAtProvince,
    Recommended,
    ForwardedToLeadingGroup,
    LeadingGroupDecided,
    ApplicationReturned,
    ApplicationRejected,
    BaseDesignated,
    WorkstationDesignated,
    ReviewClosed,
    CandidateAdded,
    CandidateWithdrawn,
    RankingNoConflictDeclared,
    RankingConflictDeclared,
    RecommendationListSubmitted,
    RenewalReviewOpened,
    RenewalReturned,
    RenewalReviewReopened,
    RenewalNoConflictDeclared,
    RenewalConflictDeclared,
    RenewalForwarded,
    RenewalAssessmentRequested,
    RenewalAssessmentRecorded,
    RenewalGranted,
    RenewalRefused,
    RenewalReviewClosed,
    CertificateNumberIssued,
    BaseRevocationRecorded,
    BaseExpiryRecorded,
    DocumentIssued,  # the approval and the plaque certificate (shared.issuance)
)
