"""The assessment service's events: the life of a designated base and each year's grade list.

Integration events read by other services (docs/contracts.md: `RenewalWindowOpened`,
`GradeFinalised`, `RectificationOrdered`, `RectificationAccepted`, `BaseRevoked`, `BaseExpired`,
`RenewalPendingPastTerm`, `RenewalAssessed`, `TermRenewed`) carry at least the contract's field
names. Dates are China
Standard Time calendar days; each event of a decision that applied the policy names its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.assessment.domain.policy import CriterionScore, Grade
from shared.issuance import DocumentIssued

# --- values carried by events and commands -------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkSummary:
    """Art. 10: the year's results and the difficulties met."""

    talent_introduced: str
    projects_landed: str
    academic_exchanges: str
    technical_innovation: str
    difficulties: str


@dataclass(frozen=True, slots=True)
class ResourceLibrary:
    """Art. 11(3): the state of the HaiZhi resource library at filing."""

    overseas_societies: int
    haizhi_projects: int
    overseas_talents: int
    last_updated_on: date


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class GradeEntry:
    """A base's final grade on an approved list."""

    base_id: str
    grade: Grade


@dataclass(frozen=True, slots=True)
class ProposedGrade:
    """A base on a proposed list: the department's grade, the policy's suggestion, and the
    department's written reason when the two differ ("" when they agree)."""

    base_id: str
    grade: Grade
    suggested_grade: Grade
    reason: str


@dataclass(frozen=True, slots=True)
class GradeAmendment:
    """The leading group's change to one grade of the proposed list, with its reason."""

    base_id: str
    proposed_grade: Grade
    grade: Grade
    reason: str


@dataclass(frozen=True, slots=True)
class TermGrade:
    """One final grade of the term: the renewal assessment's evidence."""

    year: int
    grade: Grade


class ExpiryReason(StrEnum):
    """Why a base's designation ended without renewal (`BaseExpired.reason`)."""

    TERM_ENDED = "term_ended"
    RENEWAL_REFUSED = "renewal_refused"
    RENEWAL_WITHDRAWN = "renewal_withdrawn"


# --- a designated base: stream per base_id -------------------------------------------------


@dataclass(frozen=True, slots=True)
class BaseRegistered:
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_start: date
    term_end: date
    first_report_year: int  # our policy: a late designation first reports the next year
    policy_version: str


@dataclass(frozen=True, slots=True)
class ReportingOpened:
    base_id: str
    case_id: str
    year: int
    opens_on: date
    due_on: date
    reminder_days_before: tuple[int, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class ReportReminded:
    base_id: str
    case_id: str
    year: int
    days_before: int
    due_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class AnnualReportFiled:
    base_id: str
    case_id: str
    year: int
    filed_on: date
    late: bool
    summary: WorkSummary
    next_year_plan: str
    resource_library: ResourceLibrary
    attachments: tuple[Attachment, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class AnnualReportForwarded:
    base_id: str
    case_id: str
    year: int
    via_jurisdiction: str
    forwarded_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class AnnualReportOverdue:
    base_id: str
    case_id: str
    year: int
    due_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class BaseScored:
    base_id: str
    case_id: str
    year: int
    scores: tuple[CriterionScore, ...]
    weighted_total: Decimal
    report_filed: bool
    suggested_grade: Grade  # our policy's weights and thresholds: a suggestion, not a decision
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeProposed:
    """The department's proposed grade (Art. 12): on scoring, the suggestion; later, another
    grade with its written `reason` ("" when the grade is the suggestion)."""

    base_id: str
    case_id: str
    year: int
    grade: Grade
    suggested_grade: Grade
    missing_report: bool
    reason: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeFinalised:
    """The leading group's decision: `grade` is final; `amendment_reason` is not empty when it
    amended the department's `proposed_grade`."""

    base_id: str
    case_id: str
    year: int
    grade: Grade
    proposed_grade: Grade
    amendment_reason: str
    approved_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class BaseCommended:
    base_id: str
    case_id: str
    year: int
    policy_version: str


@dataclass(frozen=True, slots=True)
class RectificationOrdered:
    base_id: str
    case_id: str
    rectification_id: str
    year: int
    ordered_on: date
    deadline: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class RectificationReportFiled:
    base_id: str
    case_id: str
    rectification_id: str
    year: int
    filed_on: date
    late: bool
    summary: str
    attachments: tuple[Attachment, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class RectificationAccepted:
    base_id: str
    case_id: str
    rectification_id: str
    year: int
    accepted_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class RectificationRejected:
    base_id: str
    case_id: str
    rectification_id: str
    year: int
    rejected_on: date
    reasons: tuple[str, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class RectificationOverdue:
    base_id: str
    case_id: str
    rectification_id: str
    year: int
    deadline: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class RevocationProposed:
    base_id: str
    case_id: str
    years: tuple[int, ...]
    proposed_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class BaseRevoked:
    base_id: str
    case_id: str
    revoked_on: date
    years: tuple[int, ...]
    meeting_ref: str
    policy_version: str


@dataclass(frozen=True, slots=True)
class RenewalWindowOpened:
    base_id: str
    case_id: str
    opens_on: date
    closes_on: date
    term_end: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class RenewalRequestRecorded:
    """Application's `RenewalRequested`: the unit asked, in the window, to renew this term."""

    base_id: str
    case_id: str
    renewal_id: str
    term_end: date
    requested_on: date


@dataclass(frozen=True, slots=True)
class RenewalRequestWithdrawalRecorded:
    """The unit withdrew its request before the term ended: the term ends as it would have."""

    base_id: str
    case_id: str
    renewal_id: str
    withdrawn_on: date


@dataclass(frozen=True, slots=True)
class RenewalRefusalRecorded:
    """Review refused the renewal before the term ended: the base lives to its term end."""

    base_id: str
    case_id: str
    renewal_id: str
    refused_on: date


@dataclass(frozen=True, slots=True)
class RenewalPendingPastTerm:
    """The term ended while a request filed in the window awaits review's decision: the base
    stays designated until then."""

    base_id: str
    case_id: str
    renewal_id: str
    term_end: date


@dataclass(frozen=True, slots=True)
class RenewalAssessmentOpened:
    """Review asked for the renewal assessment: it waits for the national department."""

    base_id: str
    case_id: str
    renewal_id: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class RenewalAssessed:
    """The national department's renewal assessment (Art. 14: 经考核合格), with its reasons and
    the term's final grades it had as evidence."""

    base_id: str
    case_id: str
    renewal_id: str
    qualified: bool
    reasons: tuple[str, ...]
    grades: tuple[TermGrade, ...]
    assessed_on: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class TermRenewed:
    base_id: str
    case_id: str
    renewal_id: str
    certificate_no: str
    term_start: date
    term_end: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class BaseExpired:
    base_id: str
    case_id: str
    expired_on: date
    term_end: date
    reason: ExpiryReason
    policy_version: str


BaseEvent = (
    BaseRegistered
    | ReportingOpened
    | ReportReminded
    | AnnualReportFiled
    | AnnualReportForwarded
    | AnnualReportOverdue
    | BaseScored
    | GradeProposed
    | GradeFinalised
    | BaseCommended
    | RectificationOrdered
    | RectificationReportFiled
    | RectificationAccepted
    | RectificationRejected
    | RectificationOverdue
    | RevocationProposed
    | BaseRevoked
    | RenewalWindowOpened
    | RenewalRequestRecorded
    | RenewalRequestWithdrawalRecorded
    | RenewalRefusalRecorded
    | RenewalPendingPastTerm
    | RenewalAssessmentOpened
    | RenewalAssessed
    | TermRenewed
    | BaseExpired
)


# --- a year's grade list: stream per year --------------------------------------------------


@dataclass(frozen=True, slots=True)
class GradeListProposed:
    year: int
    revision: int
    entries: tuple[ProposedGrade, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeListApproved:
    """`entries` are the final grades: the proposal's, or the leading group's `amendments`."""

    year: int
    revision: int
    entries: tuple[GradeEntry, ...]
    amendments: tuple[GradeAmendment, ...]
    meeting_ref: str
    approved_on: date
    policy_version: str


GradeListEvent = GradeListProposed | GradeListApproved


# --- a provincial work station: stream per station_id --------------------------------------


@dataclass(frozen=True, slots=True)
class WorkstationRegistered:
    """A station whose province configures a station policy: its term is tracked."""

    station_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    certificate_no: str
    approved_on: date
    term_start: date
    term_end: date
    policy_version: str  # the province's


@dataclass(frozen=True, slots=True)
class WorkstationNotAssessed:
    """A station (not a national base) whose province configures no station policy: nothing
    is tracked or assessed, and `reason` says why."""

    station_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    certificate_no: str
    approved_on: date
    reason: str


@dataclass(frozen=True, slots=True)
class WorkstationExpired:
    station_id: str
    case_id: str
    expired_on: date
    term_end: date
    policy_version: str


StationEvent = WorkstationRegistered | WorkstationNotAssessed | WorkstationExpired


EVENTS: tuple[type, ...] = (
    BaseRegistered,
    ReportingOpened,
    ReportReminded,
    AnnualReportFiled,
    AnnualReportForwarded,
    AnnualReportOverdue,
    BaseScored,
    GradeProposed,
    GradeFinalised,
    BaseCommended,
    RectificationOrdered,
    RectificationReportFiled,
    RectificationAccepted,
    RectificationRejected,
    RectificationOverdue,
    RevocationProposed,
    BaseRevoked,
    RenewalWindowOpened,
    RenewalRequestRecorded,
    RenewalRequestWithdrawalRecorded,
    RenewalRefusalRecorded,
    RenewalPendingPastTerm,
    RenewalAssessmentOpened,
    RenewalAssessed,
    TermRenewed,
    BaseExpired,
    GradeListProposed,
    GradeListApproved,
    WorkstationRegistered,
    WorkstationNotAssessed,
    WorkstationExpired,
    DocumentIssued,  # rectification notices and grade lists (shared.issuance)
)
