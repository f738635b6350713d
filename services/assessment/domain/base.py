"""A designated base (stream per `base_id`): its whole life as one decider.

`decide` below is the table of every legal transition; each arm hands the detailed checks to
the module for that part of the rules — `base_term` (Art. 14), `base_reporting` (Art. 10),
`base_assessment` (Art. 11–13). `base_state` holds the state and `evolve`. A revoked or expired
base refuses everything but idempotent repeats; it still answers a renewal assessment (not
qualified), and the other services' renewal facts that reach it late change nothing.
"""

from __future__ import annotations

from services.assessment.domain import base_assessment as assessment
from services.assessment.domain import base_reporting as reporting
from services.assessment.domain import base_term as term
from services.assessment.domain.base_state import (
    Active,
    Expired,
    Revoked,
    State,
    Unregistered,
    evolve,
    initial_state,
)
from services.assessment.domain.commands import (
    AcceptRectification,
    AssessRenewal,
    BaseCommand,
    ConfirmRevocation,
    ExpireBase,
    FileAnnualReport,
    FileRectificationReport,
    FinaliseGrade,
    ForwardReport,
    MarkRectificationOverdue,
    MarkReportOverdue,
    OpenRenewalAssessment,
    OpenRenewalWindow,
    OpenReporting,
    ProposeGrade,
    RecordRenewalRequest,
    RefuseRenewal,
    RegisterBase,
    RejectRectification,
    RemindReport,
    RenewTerm,
    ScoreBase,
    WithdrawRenewalRequest,
)
from services.assessment.domain.errors import BaseNotActive, BaseNotFound, refused
from services.assessment.domain.events import BaseEvent
from shared.decider import Decider

__all__ = ["State", "decide", "decider", "evolve", "initial_state"]


def decide(command: BaseCommand, state: State) -> list[BaseEvent]:
    match command, state:
        # Designation and any state: a repeat decides nothing.
        case RegisterBase(), Unregistered():
            return term.register(command, state)
        case RegisterBase(), Active() | Revoked() | Expired():
            return term.register_again(command, state)
        case OpenRenewalAssessment(), Revoked() | Expired():
            return term.answer_closed(command, state)
        case (
            RecordRenewalRequest() | WithdrawRenewalRequest() | RefuseRenewal() | RenewTerm(),
            Revoked() | Expired(),
        ):
            # A harmless race: the base closed before the renewal fact arrived, and review
            # and application have had BaseRevoked / BaseExpired.
            return []
        case _, Unregistered():
            raise refused(BaseNotFound, command, state, f"no base {command.base_id}")
        # Terminal: only a repeat of what ended the base is accepted.
        case ConfirmRevocation(), Revoked():
            return []
        case ExpireBase(), Expired():
            return []
        case _, Revoked() | Expired():
            raise refused(BaseNotActive, command, state, "revoked and expired bases are closed")
        # Annual reports (Art. 10).
        case OpenReporting(), Active():
            return reporting.open_reporting(command, state)
        case RemindReport(), Active():
            return reporting.remind(command, state)
        case FileAnnualReport(), Active():
            return reporting.file_report(command, state)
        case ForwardReport(), Active():
            return reporting.forward_report(command, state)
        case MarkReportOverdue(), Active():
            return reporting.mark_overdue(command, state)
        # Annual assessment and the year's grade (Art. 11–12).
        case ScoreBase(), Active():
            return assessment.score(command, state)
        case ProposeGrade(), Active():
            return assessment.propose_grade(command, state)
        case FinaliseGrade(), Active():
            return assessment.finalise(command, state)
        # Rectification of an unqualified year (Art. 12).
        case FileRectificationReport(), Active():
            return assessment.file_rectification(command, state)
        case AcceptRectification(), Active():
            return assessment.accept_rectification(command, state)
        case RejectRectification(), Active():
            return assessment.reject_rectification(command, state)
        case MarkRectificationOverdue(), Active():
            return assessment.mark_rectification_overdue(command, state)
        # Revocation (Art. 13).
        case ConfirmRevocation(), Active():
            return assessment.confirm_revocation(command, state)
        # Renewal and expiry (Art. 14).
        case OpenRenewalWindow(), Active():
            return term.open_window(command, state)
        case RecordRenewalRequest(), Active():
            return term.record_request(command, state)
        case WithdrawRenewalRequest(), Active():
            return term.withdraw_request(command, state)
        case OpenRenewalAssessment(), Active():
            return term.open_assessment(command, state)
        case AssessRenewal(), Active():
            return term.assess(command, state)
        case RefuseRenewal(), Active():
            return term.refuse(command, state)
        case RenewTerm(), Active():
            return term.renew(command, state)
        case ExpireBase(), Active():
            return term.expire(command, state)
        case _:
            raise refused(BaseNotActive, command, state, "no such transition")


decider: Decider[BaseCommand, State, BaseEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
