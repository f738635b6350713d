"""Every command the assessment service decides, in one visible place.

Each carries `at` (aware UTC, from the injected clock) and `by` (the acting user); the use case
supplies new ids and, where a decision applies the policy, the `AssessmentPolicy` in force.
Commands marked *scheduler* are issued by the service's clock-driven scheduler; those marked
*use case* answer another service's event or follow a decision of another aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.assessment.domain.events import (
    Attachment,
    ProposedGrade,
    ResourceLibrary,
    WorkSummary,
)
from services.assessment.domain.policy import (
    AssessmentPolicy,
    CriterionScore,
    Grade,
    StationPolicy,
)

# --- a designated base ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterBase:
    """Use case: answers review's `BaseDesignated`."""

    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_start: date
    term_end: date
    policy_version: str
    first_report_year: int  # the use case applies the policy the designation named
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class OpenReporting:
    """Scheduler: on or after the policy's opening day of `year`."""

    base_id: str
    year: int
    policy: AssessmentPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RemindReport:
    """Scheduler: `days_before` the due day, for each of the policy's reminder days."""

    base_id: str
    year: int
    days_before: int
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class FileAnnualReport:
    """The base's own unit files its annual work summary and next year's plan (Art. 10)."""

    base_id: str
    year: int
    by_unit: str
    summary: WorkSummary
    next_year_plan: str
    resource_library: ResourceLibrary
    attachments: tuple[Attachment, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ForwardReport:
    """The base's local CAST forwards the report to the national department (Art. 10)."""

    base_id: str
    year: int
    by_jurisdiction: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class MarkReportOverdue:
    """Scheduler: after the due day (CST)."""

    base_id: str
    year: int
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ScoreBase:
    """The national department scores the year on the criteria of Art. 11."""

    base_id: str
    year: int
    scores: tuple[CriterionScore, ...]
    policy: AssessmentPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ProposeGrade:
    """The national department proposes a grade for a scored year (Art. 12); a grade other
    than the policy's suggestion needs a written reason."""

    base_id: str
    year: int
    grade: Grade
    reason: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class FinaliseGrade:
    """Use case: after `GradeListApproved`, one per entry of the list; `approved_on` is its date.

    `proposed` is the grade the approved list proposed (the base refuses if its proposal has
    changed since); `amendment_reason` is the leading group's when it amended it.
    `rectification_id` is the new id of the rectification order an unqualified grade opens.
    """

    base_id: str
    year: int
    grade: Grade
    proposed: Grade
    amendment_reason: str
    approved_on: date
    policy: AssessmentPolicy
    at: datetime
    by: str
    rectification_id: str | None = None


@dataclass(frozen=True, slots=True)
class FileRectificationReport:
    base_id: str
    rectification_id: str
    by_unit: str
    summary: str
    attachments: tuple[Attachment, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class AcceptRectification:
    base_id: str
    rectification_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RejectRectification:
    base_id: str
    rectification_id: str
    reasons: tuple[str, ...]
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class MarkRectificationOverdue:
    """Scheduler: after the rectification deadline (CST)."""

    base_id: str
    rectification_id: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ConfirmRevocation:
    """The leading group confirms a proposed revocation (Art. 13)."""

    base_id: str
    meeting_ref: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class OpenRenewalWindow:
    """Scheduler: on or after the first day of the renewal window (Art. 14)."""

    base_id: str
    policy: AssessmentPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RecordRenewalRequest:
    """Use case: answers application's `RenewalRequested` (filed in the window, Art. 14)."""

    base_id: str
    renewal_id: str
    term_end: date
    requested_on: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class WithdrawRenewalRequest:
    """Use case: answers application's `RenewalRequestWithdrawn`."""

    base_id: str
    renewal_id: str
    withdrawn_on: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RefuseRenewal:
    """Use case: answers review's `RenewalRefused`."""

    base_id: str
    renewal_id: str
    refused_on: date
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class OpenRenewalAssessment:
    """Use case: answers review's `RenewalAssessmentRequested`. A closed base is answered at
    once (not qualified); an active one waits for the national department."""

    base_id: str
    renewal_id: str
    policy: AssessmentPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class AssessRenewal:
    """The national department assesses a renewal: qualified or not, with its reasons."""

    base_id: str
    renewal_id: str
    qualified: bool
    reasons: tuple[str, ...]
    policy: AssessmentPolicy
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class RenewTerm:
    """Use case: answers review's `RenewalGranted`."""

    base_id: str
    renewal_id: str
    certificate_no: str
    term_start: date
    term_end: date
    policy_version: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ExpireBase:
    """Scheduler: after the last day of the term (CST)."""

    base_id: str
    at: datetime
    by: str


BaseCommand = (
    RegisterBase
    | OpenReporting
    | RemindReport
    | FileAnnualReport
    | ForwardReport
    | MarkReportOverdue
    | ScoreBase
    | ProposeGrade
    | FinaliseGrade
    | FileRectificationReport
    | AcceptRectification
    | RejectRectification
    | MarkRectificationOverdue
    | ConfirmRevocation
    | OpenRenewalWindow
    | RecordRenewalRequest
    | WithdrawRenewalRequest
    | RefuseRenewal
    | OpenRenewalAssessment
    | AssessRenewal
    | RenewTerm
    | ExpireBase
)


# --- a year's grade list -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposeGradeList:
    """The national department proposes the year's grades (Art. 12)."""

    year: int
    entries: tuple[ProposedGrade, ...]
    policy_version: str
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class Amendment:
    """The leading group sets another grade for one base of the list, and says why."""

    base_id: str
    grade: Grade
    reason: str


@dataclass(frozen=True, slots=True)
class ApproveGradeList:
    """The leading group approves the proposed list at a meeting (Art. 12)."""

    year: int
    meeting_ref: str
    meeting_date: date
    at: datetime
    by: str
    amendments: tuple[Amendment, ...] = ()


GradeListCommand = ProposeGradeList | ApproveGradeList


# --- a provincial work station -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordWorkstation:
    """Use case: answers review's `WorkstationDesignated`. `policy` is the province's station
    policy in force for the call, or None when the province configures none."""

    station_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    certificate_no: str
    approved_on: date
    policy: StationPolicy | None
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ExpireWorkstation:
    """Scheduler: after the last day of a tracked station's term (CST)."""

    station_id: str
    at: datetime
    by: str


StationCommand = RecordWorkstation | ExpireWorkstation
