"""Commands of the review service: what a reviewer, or a reaction to another service, asks.

Every command carries `at` (aware UTC, from the injected clock) and the acting user `by`.
Commands a reviewer gives also carry `by_org`, their organisation, for the conflict-of-interest
rule. A decision command names the `level` it is meant for, so a decision taken on a stale
screen is refused instead of landing on the wrong level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.review.domain.events import (
    GradeEvidence,
    LeadingGroupOutcome,
    Level,
    Programme,
    Route,
    SubmittedFile,
)
from services.review.domain.policy import DesignationPolicy, WorkstationPolicy

# --- the review of one application -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenReview:
    """From the application service's ApplicationSubmitted."""

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
    by: str
    at: datetime
    call_opened_on: date | None = None


@dataclass(frozen=True, slots=True)
class ReopenReview:
    """From ApplicationResubmitted: the revised version goes back to the first level."""

    review_id: str
    revision: int
    unit_name: str
    form_hash: str
    files: tuple[SubmittedFile, ...]
    by: str
    at: datetime
    call_opened_on: date | None = None


@dataclass(frozen=True, slots=True)
class CloseReview:
    """From ApplicationWithdrawn."""

    review_id: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareNoConflict:
    review_id: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareConflict:
    review_id: str
    reason: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordScore:
    review_id: str
    level: Level
    criterion: str
    score: int
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Forward:
    """Prefecture → province, or national preliminary review → leading group."""

    review_id: str
    level: Level
    by: str
    by_org: str
    at: datetime
    opinion: str = ""


@dataclass(frozen=True, slots=True)
class Accept:
    """Provincial intake and preliminary review passed: on to the recommendation."""

    review_id: str
    level: Level
    by: str
    by_org: str
    at: datetime
    opinion: str = ""


@dataclass(frozen=True, slots=True)
class ReturnToApplicant:
    review_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReturnToPrefecture:
    review_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Reject:
    review_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordRecommended:
    """From the call's RecommendationListSubmitted: this application is ranked `rank`."""

    review_id: str
    level: Level
    ranking_id: str
    rank: int
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordNotRecommended:
    """From the call's RecommendationListSubmitted: not recommended, which is final."""

    review_id: str
    level: Level
    ranking_id: str
    reasons: tuple[str, ...]
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordLeadingGroupDecision:
    review_id: str
    level: Level
    meeting_ref: str
    meeting_date: date
    members_present: tuple[str, ...]
    outcome: LeadingGroupOutcome
    form_hash: str
    file_hashes: tuple[str, ...]
    reasons: tuple[str, ...]
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class IssueApproval:
    """The general office's 批复 and the plaque (Art. 8); the approval date is `at` in CST."""

    review_id: str
    level: Level
    base_id: str
    approval_no: str
    certificate_no: str
    policy: DesignationPolicy
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DesignateWorkstation:
    """The provincial CAST approves a provincial work station (Notice §5(3)).

    `policy` is the province's own in force on the approval day; None when it configures no
    [workstation] certificate series, which the decider refuses (no series, no certificate).
    """

    review_id: str
    level: Level
    station_id: str
    certificate_no: str
    policy: WorkstationPolicy | None
    by: str
    by_org: str
    at: datetime
    opinion: str = ""


# --- the provincial recommendation of one call ------------------------------------------


@dataclass(frozen=True, slots=True)
class NonRecommendation:
    application_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddCandidate:
    """From AcceptedAtProvince: the application competes in its call's recommendation."""

    ranking_id: str
    call_id: str
    province: str
    application_id: str
    review_id: str
    case_id: str
    unit_id: str
    accepted_by: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WithdrawCandidate:
    """From ReviewClosed of a candidate: the application was withdrawn."""

    ranking_id: str
    application_id: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareNoConflictForRanking:
    ranking_id: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareConflictForRanking:
    ranking_id: str
    reason: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SubmitRecommendationList:
    """择优推荐: `ranked` best first; every other candidate in `not_recommended` with reasons.

    `quota` is the call's, or the one the reviewer was given; None means no limit.
    """

    ranking_id: str
    ranked: tuple[str, ...]
    not_recommended: tuple[NonRecommendation, ...]
    quota: int | None
    by: str
    by_org: str
    at: datetime


# --- a renewal request (Art. 14) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenRenewalReview:
    """From the application service's RenewalRequested."""

    renewal_id: str
    case_id: str
    base_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_end: date
    by: str
    at: datetime
    statement: str = ""


@dataclass(frozen=True, slots=True)
class ReopenRenewalReview:
    """From RenewalRequestResubmitted: the unit completed the request the province returned."""

    renewal_id: str
    statement: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CloseRenewalReview:
    """From RenewalRequestWithdrawn."""

    renewal_id: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareNoConflictForRenewal:
    renewal_id: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeclareConflictForRenewal:
    renewal_id: str
    reason: str
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ForwardRenewal:
    renewal_id: str
    level: Level
    by: str
    by_org: str
    at: datetime
    opinion: str = ""


@dataclass(frozen=True, slots=True)
class ReturnRenewal:
    """The province returns the request for completeness, with reasons (it does not refuse)."""

    renewal_id: str
    level: Level
    reasons: tuple[str, ...]
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RequestRenewalAssessment:
    renewal_id: str
    level: Level
    by: str
    by_org: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordRenewalAssessment:
    """From the assessment service's RenewalAssessed."""

    renewal_id: str
    qualified: bool
    reasons: tuple[str, ...]
    policy_version: str
    by: str
    at: datetime
    grades: tuple[GradeEvidence, ...] = ()
    decided_on: date | None = None  # the department's assessment day (CST); else `at`'s


@dataclass(frozen=True, slots=True)
class GrantRenewal:
    renewal_id: str
    level: Level
    certificate_no: str
    policy: DesignationPolicy
    by: str
    by_org: str
    at: datetime


# --- certificates ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueCertificateNumber:
    """The next number of a register of `year`: the national plaques' (HZJD-<year>-<seq:04>),
    or a province's station series (<series>-<year>-<seq:03>); `base_id` is the holder."""

    year: int
    base_id: str
    case_id: str
    by: str
    at: datetime
    series: str = "HZJD"
    width: int = 4


@dataclass(frozen=True, slots=True)
class RecordBaseRevocation:
    """From the assessment service's BaseRevoked."""

    base_id: str
    case_id: str
    revoked_on: date
    policy_version: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordBaseExpiry:
    """From the assessment service's BaseExpired."""

    base_id: str
    case_id: str
    expired_on: date
    policy_version: str
    by: str
    at: datetime


ReviewCommand = (
    OpenReview
    | ReopenReview
    | CloseReview
    | DeclareNoConflict
    | DeclareConflict
    | RecordScore
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
RankingCommand = (
    AddCandidate
    | WithdrawCandidate
    | DeclareNoConflictForRanking
    | DeclareConflictForRanking
    | SubmitRecommendationList
)
RenewalCommand = (
    OpenRenewalReview
    | ReopenRenewalReview
    | CloseRenewalReview
    | DeclareNoConflictForRenewal
    | DeclareConflictForRenewal
    | ForwardRenewal
    | ReturnRenewal
    | RequestRenewalAssessment
    | RecordRenewalAssessment
    | GrantRenewal
)
RegisterCommand = IssueCertificateNumber
StandingCommand = RecordBaseRevocation | RecordBaseExpiry
