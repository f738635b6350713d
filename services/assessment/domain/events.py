"""The assessment service's events: the life of a designated base and each year's grade list.

Integration events read by other services (docs/contracts.md: `RenewalWindowOpened`,
`GradeFinalised`, `RectificationOrdered`, `RectificationAccepted`, `BaseRevoked`, `BaseExpired`,
`RenewalAssessed`, `TermRenewed`) carry at least the contract's field names. Dates are China
Standard Time calendar days; each event of a decision that applied the policy names its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.assessment.domain.policy import CriterionScore, Grade

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
    base_id: str
    grade: Grade


class RenewalObstacle(StrEnum):
    """Why a renewal assessment is not qualified (`RenewalAssessed.reasons`)."""

    BASE_REVOKED = "base-revoked"
    BASE_EXPIRED = "base-expired"
    REVOCATION_PROPOSED = "revocation-proposed"
    RECTIFICATION_OUTSTANDING = "rectification-outstanding"


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
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeProposed:
    base_id: str
    case_id: str
    year: int
    grade: Grade
    missing_report: bool
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeFinalised:
    base_id: str
    case_id: str
    year: int
    grade: Grade
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
class RenewalAssessed:
    base_id: str
    case_id: str
    renewal_id: str
    qualified: bool
    reasons: tuple[RenewalObstacle, ...]
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
    | RenewalAssessed
    | TermRenewed
    | BaseExpired
)


# --- a year's grade list: stream per year --------------------------------------------------


@dataclass(frozen=True, slots=True)
class GradeListProposed:
    year: int
    revision: int
    entries: tuple[GradeEntry, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class GradeListApproved:
    year: int
    revision: int
    entries: tuple[GradeEntry, ...]
    meeting_ref: str
    approved_on: date
    policy_version: str


GradeListEvent = GradeListProposed | GradeListApproved


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
    RenewalAssessed,
    TermRenewed,
    BaseExpired,
    GradeListProposed,
    GradeListApproved,
)
