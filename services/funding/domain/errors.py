"""Why the funding service refuses a command. Each `detail` names the command and the state."""

from __future__ import annotations

from shared.decider import DomainError, InvalidCommand, NotFound


class PlanNotFoundError(NotFound):
    code = "plan-not-found"
    title = "No subsidy plan"


class InstalmentNotFoundError(NotFound):
    code = "instalment-not-found"
    title = "No such instalment in this plan"


class PlanAlreadyExistsError(DomainError):
    code = "plan-already-exists"
    title = "This plan id already belongs to another base"


class PlanClosedError(DomainError):
    code = "plan-closed"
    title = "The subsidy plan is closed"


class InstalmentNotDueError(DomainError):
    code = "instalment-not-due"
    title = "The instalment is not due yet"


class InstalmentOnHoldError(DomainError):
    code = "instalment-on-hold"
    title = "The instalment is held while the base rectifies"


class InstalmentAlreadyApprovedError(DomainError):
    code = "instalment-already-approved"
    title = "Another approver has already approved the instalment"


class InstalmentNotApprovedError(DomainError):
    code = "instalment-not-approved"
    title = "The instalment must be approved before it is paid"


class InstalmentAlreadyPaidError(DomainError):
    code = "instalment-already-paid"
    title = "The instalment is already paid under another payment reference"


class InstalmentNotPaidError(DomainError):
    code = "instalment-not-paid"
    title = "Only a paid instalment can have its payment returned"


class InstalmentCancelledError(DomainError):
    code = "instalment-cancelled"
    title = "The instalment was cancelled"


class SeparationOfDutiesError(DomainError):
    code = "separation-of-duties"
    title = "Whoever approved an instalment cannot confirm its payment"
    status = 403


class PaymentReferenceInUseError(DomainError):
    code = "payment-reference-in-use"
    title = "The payment reference already paid another instalment"


class PaymentReferenceReturnedError(DomainError):
    code = "payment-reference-returned"
    title = "That payment was returned; a new payment needs a new reference"


class PaymentReferenceMismatchError(DomainError):
    code = "payment-reference-mismatch"
    title = "The instalment was paid under another payment reference"


class ConflictingConfirmationError(DomainError):
    code = "conflicting-payment-confirmation"
    title = "The payment reference was already confirmed with another date or amount"


class PaymentAmountMismatchError(InvalidCommand):
    code = "payment-amount-mismatch"
    title = "The amount paid is not the instalment's amount"


class PaymentDateInFutureError(InvalidCommand):
    code = "payment-date-in-future"
    title = "The payment date is after today (China Standard Time)"


class SubsidyNotPlannedError(NotFound):
    code = "subsidy-not-planned"
    title = "The province funds no subsidy plan for this base"


class ProgrammeNotFundedError(InvalidCommand):
    code = "programme-not-funded"
    title = "Not a programme funding knows (national_base, provincial_workstation)"


class BlankFieldError(InvalidCommand):
    code = "blank-field"
    title = "A required field is blank"


class InvalidTermError(InvalidCommand):
    code = "invalid-term"
    title = "The term ends before it starts"
