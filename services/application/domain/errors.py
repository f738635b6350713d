"""The refusals of the application service, each with a stable code for problem details.

`refused(Error, command, state, why, **context)` builds one whose detail names the refused
command and the state it met; the context (JSON-friendly values) travels into the problem.
Refusals are grouped by their HTTP meaning: `Conflict` (409), `Forbidden` (403), and shared's
`NotFound` (404) and `InvalidCommand` (422).
"""

from __future__ import annotations

from typing import TypeVar

from shared.decider import DomainError, InvalidCommand, NotFound

_E = TypeVar("_E", bound=DomainError)


def refused(error: type[_E], command: object, state: object, why: str, **context: object) -> _E:
    command_name, state_name = type(command).__name__, type(state).__name__
    return error(
        f"{command_name} refused in state {state_name}: {why}",
        command=command_name,
        state=state_name,
        **context,
    )


class Conflict(DomainError):
    """The command does not fit the aggregate's current state (HTTP 409)."""

    code = "conflict"
    title = "Command refused in the current state"
    status = 409


class Forbidden(DomainError):
    """The actor may not act on this aggregate (HTTP 403; the API may answer 404 instead)."""

    code = "forbidden"
    title = "Not yours to do"
    status = 403


# --- organisation registry --------------------------------------------------------------------


class UnitNotFound(NotFound):
    code = "unit-not-found"
    title = "No such registered unit"


class UnitAlreadyRegistered(Conflict):
    code = "unit-already-registered"
    title = "The unit is already registered: amend its registration instead"


class CreditCodeRegistered(Conflict):
    code = "credit-code-registered"
    title = "Another unit is registered under this unified social credit code"


class InvalidRegistration(InvalidCommand):
    code = "invalid-registration"
    title = "The unit's registration is invalid"


class InvalidCreditCode(InvalidCommand):
    code = "invalid-credit-code"
    title = "Not a valid unified social credit code (统一社会信用代码, GB 32100-2015)"


class UnitNotPending(Conflict):
    code = "unit-not-pending"
    title = "The registration does not await verification"


class UnitNotRegistered(Conflict):
    code = "unit-not-registered"
    title = "The unit has not registered (POST /units)"


class UnitNotVerified(Conflict):
    code = "unit-not-verified"
    title = "The unit's registration is not verified yet"


class SetByRegistration(InvalidCommand):
    code = "set-by-registration"
    title = "These fields come from the unit's verified registration"


# --- calls ------------------------------------------------------------------------------------


class CallNotFound(NotFound):
    code = "call-not-found"
    title = "No such call for applications"


class CallAlreadyOpened(Conflict):
    code = "call-already-opened"
    title = "The call is already open with other terms"


class InvalidCall(InvalidCommand):
    code = "invalid-call"
    title = "The call's terms are invalid"


class OutsideJurisdiction(Forbidden):
    code = "outside-jurisdiction"
    title = "Outside the officer's jurisdiction"


class DeadlineNotReached(Conflict):
    code = "deadline-not-reached"
    title = "The call's deadline has not come yet"


# --- applications -----------------------------------------------------------------------------


class ApplicationNotFound(NotFound):
    code = "application-not-found"
    title = "No such application"


class ApplicationAlreadyExists(Conflict):
    code = "application-already-exists"
    title = "The application already exists"


class NotApplicantUnit(Forbidden):
    code = "not-applicant-unit"
    title = "Only the applicant unit may do this"


class InvalidApplicant(InvalidCommand):
    code = "invalid-applicant"
    title = "The applicant unit is described wrongly"


class CallClosed(Conflict):
    code = "call-closed"
    title = "The call is closed"


class ApplicationAlreadyActive(Conflict):
    code = "application-already-active"
    title = "The unit already has an active application under this call and programme"


class ActiveBaseHeld(Conflict):
    code = "active-base-held"
    title = "The unit holds an active base: renewal, not a new application, is the way"


class WrongCall(InvalidCommand):
    code = "wrong-call"
    title = "The call given is not the application's call"


class OutsideCallProvince(InvalidCommand):
    code = "outside-call-province"
    title = "The unit is not in the call's province"


class WorkstationNotOffered(Conflict):
    code = "workstation-not-offered"
    title = "The call does not offer the provincial work station"


class WorkstationNeedsNationalApplication(InvalidCommand):
    code = "workstation-needs-national-application"
    title = "A work station application goes with a national base application"


class WorkstationAlreadyRequested(Conflict):
    code = "workstation-already-requested"
    title = "The work station application was already requested"


class UnknownFormFields(InvalidCommand):
    code = "unknown-form-fields"
    title = "Unknown form fields"


class InvalidFormValues(InvalidCommand):
    code = "invalid-form-values"
    title = "Invalid form values"


class InvalidAttachment(InvalidCommand):
    code = "invalid-attachment"
    title = "The attachment is described wrongly"


class SlotAlreadyFilled(Conflict):
    code = "slot-already-filled"
    title = "The material slot already holds a file"


class AttachmentAlreadyExists(Conflict):
    code = "attachment-already-exists"
    title = "An attachment with this id already exists"


class AttachmentNotFound(NotFound):
    code = "attachment-not-found"
    title = "No such attachment"


class SubmissionIncomplete(InvalidCommand):
    code = "submission-incomplete"
    title = "Required fields or materials are missing"


class ApplicationFrozen(Conflict):
    code = "application-frozen"
    title = "The submitted application cannot be changed"


class ApplicationClosed(Conflict):
    code = "application-closed"
    title = "The application was withdrawn or decided"


class NotSubmitted(Conflict):
    code = "not-submitted"
    title = "The application has not been submitted"


class InvalidReceipt(InvalidCommand):
    code = "invalid-receipt"
    title = "The receipt record is invalid"


class NotUnderReview(Conflict):
    code = "not-under-review"
    title = "The application is not under review"


# --- renewal ----------------------------------------------------------------------------------


class BaseNotFound(NotFound):
    code = "base-not-found"
    title = "No such designated base"


class BaseAlreadyRecorded(Conflict):
    code = "base-already-recorded"
    title = "The base was already recorded with other facts"


class BaseNoLongerDesignated(Conflict):
    code = "base-no-longer-designated"
    title = "The base expired or was revoked"


class NotBaseUnit(Forbidden):
    code = "not-base-unit"
    title = "Only the base's own unit may do this"


class RenewalWindowNotOpen(Conflict):
    code = "renewal-window-not-open"
    title = "The renewal window has not opened yet"


class RenewalWindowClosed(Conflict):
    code = "renewal-window-closed"
    title = "The renewal window has closed"


class RenewalAlreadyPending(Conflict):
    code = "renewal-already-pending"
    title = "A renewal request is already in flight"


class NoRenewalPending(Conflict):
    code = "no-renewal-pending"
    title = "No such renewal request in flight"


class EmptyStatement(InvalidCommand):
    code = "empty-statement"
    title = "The written renewal request is empty"


class RenewalNotReturned(Conflict):
    code = "renewal-not-returned"
    title = "The renewal request was not returned for completion"


class NotTheUnitsCast(Forbidden):
    code = "not-the-units-cast"
    title = "Only the unit's own CAST verifies its registration"
