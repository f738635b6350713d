"""Named refusals of the assessment service; `code` is stable and appears in problem details.

Refusals are named for the rule they enforce (`BaseNotActive`, as in `shared.testkit.spec`),
not suffixed `Error`: hence the file-wide N818 exemption.
"""

from __future__ import annotations

from typing import TypeVar

from shared.decider import DomainError, InvalidCommand, NotFound

_E = TypeVar("_E", bound=DomainError)


def refused(error: type[_E], command: object, state: object, why: str) -> _E:
    """The error for `command` refused in `state`, naming both."""
    command_name, state_name = type(command).__name__, type(state).__name__
    return error(
        f"{command_name} refused while {state_name}: {why}",
        command=command_name,
        state=state_name,
    )


# --- a designated base ---------------------------------------------------------------------


class BaseNotFound(NotFound):
    code = "base-not-found"
    title = "No such base"


class BaseAlreadyRegistered(DomainError):
    code = "base-already-registered"
    title = "Base already registered"


class InvalidTerm(InvalidCommand):
    code = "invalid-term"
    title = "A term must end after it starts, and a renewed term after the current one"


class BaseNotActive(DomainError):
    code = "base-not-active"
    title = "The base has been revoked or has expired"


class NotTheBaseUnit(DomainError):
    code = "not-the-base-unit"
    title = "Only the base's own unit may file its reports"
    status = 403


class NotLocalCast(DomainError):
    code = "not-local-cast"
    title = "Only the base's local CAST may forward its report"
    status = 403


class YearBeforeDesignation(InvalidCommand):
    code = "year-before-designation"
    title = "The base does not report for that year: designated after it, or late in it (policy)"


class ReportingNotYetOpen(DomainError):
    code = "reporting-not-yet-open"
    title = "Reporting for that year has not reached its opening day"


class ReportingNotOpen(DomainError):
    code = "reporting-not-open"
    title = "Reporting for that year has not been opened"


class ReportingClosed(DomainError):
    code = "reporting-closed"
    title = "The year has been assessed; reporting for it is closed"


class UnknownReminder(InvalidCommand):
    code = "unknown-reminder"
    title = "The policy has no reminder that many days before the due day"


class ReminderNotYetDue(DomainError):
    code = "reminder-not-yet-due"
    title = "The reminder day has not come"


class ReportAlreadyFiled(DomainError):
    code = "report-already-filed"
    title = "The annual report has already been filed"


class InvalidReport(InvalidCommand):
    code = "invalid-report"
    title = "The report is incomplete or malformed"


class ReportNotFiled(DomainError):
    code = "report-not-filed"
    title = "No annual report has been filed for that year"


class ReportNotYetOverdue(DomainError):
    code = "report-not-yet-overdue"
    title = "The report's due day has not passed"


class ReportNotForwarded(DomainError):
    code = "report-not-forwarded"
    title = "Art. 10: the base's local CAST has not forwarded its report; it cannot be scored yet"


class InvalidScores(InvalidCommand):
    code = "invalid-scores"
    title = "Scores must cover each criterion once, each in 0..100"


class AssessmentTooEarly(DomainError):
    code = "assessment-too-early"
    title = "The year cannot be scored before its report is filed or due"


class GradeAlreadyFinal(DomainError):
    code = "grade-already-final"
    title = "The year's grade is already final"


class GradeNotProposed(DomainError):
    code = "grade-not-proposed"
    title = "The base has not been scored for that year"


class GradeReasonRequired(InvalidCommand):
    code = "grade-reason-required"
    title = "A grade other than the policy's suggestion needs a written reason"


class GradeProposalChanged(DomainError):
    code = "grade-proposal-changed"
    title = "The department changed the base's proposed grade after the list: propose it again"


class RectificationIdRequired(InvalidCommand):
    code = "rectification-id-required"
    title = "An unqualified grade needs the id of its rectification order"


class RectificationNotFound(NotFound):
    code = "rectification-not-found"
    title = "No such rectification order"


class RectificationReportPending(DomainError):
    code = "rectification-report-pending"
    title = "A rectification report awaits the department's decision"


class RectificationAlreadyAccepted(DomainError):
    code = "rectification-already-accepted"
    title = "The rectification has been accepted"


class NoRectificationReport(DomainError):
    code = "no-rectification-report"
    title = "No rectification report awaits a decision"


class InvalidRectificationReport(InvalidCommand):
    code = "invalid-rectification-report"
    title = "The rectification report is incomplete or malformed"


class ReasonsRequired(InvalidCommand):
    code = "reasons-required"
    title = "A rejection must give its reasons"


class RectificationNotYetOverdue(DomainError):
    code = "rectification-not-yet-overdue"
    title = "The rectification deadline has not passed"


class RevocationNotProposed(DomainError):
    code = "revocation-not-proposed"
    title = "No revocation has been proposed for this base"


class RenewalWindowNotYetOpen(DomainError):
    code = "renewal-window-not-yet-open"
    title = "The renewal window has not reached its first day"


class TermNotEnded(DomainError):
    code = "term-not-ended"
    title = "The base's term has not ended"


class RenewalForAnotherTerm(DomainError):
    code = "renewal-for-another-term"
    title = "The renewal request names a term end other than the base's"


class RenewalRequestedAfterTerm(DomainError):
    code = "renewal-requested-after-term"
    title = "A renewal request must be filed in the window, by the term's last day"


class RenewalAlreadyRequested(DomainError):
    code = "renewal-already-requested"
    title = "Another renewal request for this term is open"


class RenewalAssessmentNotRequested(NotFound):
    code = "renewal-assessment-not-requested"
    title = "Review has not asked for that renewal assessment"


class RenewalAlreadyAssessed(DomainError):
    code = "renewal-already-assessed"
    title = "The renewal has been assessed; its assessment is final"


class RenewalReasonsRequired(InvalidCommand):
    code = "renewal-reasons-required"
    title = "A renewal assessment gives its reasons"


# --- a year's grade list -------------------------------------------------------------------


class InvalidGradeList(InvalidCommand):
    code = "invalid-grade-list"
    title = "A grade list names each base once, for its own year"


class GradeListNotProposed(DomainError):
    code = "grade-list-not-proposed"
    title = "No grade list has been proposed for that year"


class GradeListAlreadyApproved(DomainError):
    code = "grade-list-already-approved"
    title = "The year's grade list is approved and final"


class InvalidApproval(InvalidCommand):
    code = "invalid-approval"
    title = "An approval names its meeting, held no later than today"


class GradeListIncomplete(DomainError):
    code = "grade-list-incomplete"
    title = "Every base due an assessment that year must be scored and on the list"


class BaseNotGradable(DomainError):
    code = "base-not-gradable"
    title = "Only an active base with a proposed, not yet final grade can be on the list"


class GradeListNotFound(NotFound):
    code = "grade-list-not-found"
    title = "No grade list has been proposed for that year"


class InvalidAmendment(InvalidCommand):
    code = "invalid-amendment"
    title = "An amendment names a base on the list once, another grade, and its reason"


# --- a provincial work station -------------------------------------------------------------


class WorkstationNotFound(NotFound):
    code = "workstation-not-found"
    title = "No such work station"


class WorkstationAlreadyRecorded(DomainError):
    code = "workstation-already-recorded"
    title = "Work station already recorded"


class WorkstationNotTracked(DomainError):
    code = "workstation-not-tracked"
    title = "The work station has no term here: its province configures no station policy"
