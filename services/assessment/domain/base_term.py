"""The base's term (Art. 14): registration, the renewal window, renewal requests, the renewal
assessment, renewal, refusal and expiry.

A term runs from `term_start` to `term_end`, both days included (China Standard Time). The
renewal window is its last `renewal_window_days` days. Review owns the renewal decision; this
service records the unit's request, has the national department assess the renewal, and
keeps the base's designation in step with review's decision (our decisions, docs/domain.md):

- a request filed in the window keeps the base designated past its term end until review
  decides (`RenewalPendingPastTerm` instead of `BaseExpired`);
- a grant continues the term without a gap: the new term starts the day after the old end,
  even when the grant comes after that end;
- a refusal, or a withdrawal, after the term end ends the base on that day (`BaseExpired` with
  its reason); before the term end, the base lives to its term end and then expires.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.assessment.domain.base_state import Active, Expired, Revoked
from services.assessment.domain.commands import (
    AssessRenewal,
    ExpireBase,
    OpenRenewalAssessment,
    OpenRenewalWindow,
    RecordRenewalRequest,
    RefuseRenewal,
    RegisterBase,
    RenewTerm,
    WithdrawRenewalRequest,
)
from services.assessment.domain.errors import (
    BaseAlreadyRegistered,
    InvalidTerm,
    RenewalAlreadyAssessed,
    RenewalAlreadyRequested,
    RenewalAssessmentNotRequested,
    RenewalForAnotherTerm,
    RenewalReasonsRequired,
    RenewalRequestedAfterTerm,
    RenewalWindowNotYetOpen,
    TermNotEnded,
    refused,
)
from services.assessment.domain.events import (
    BaseEvent,
    BaseExpired,
    BaseRegistered,
    ExpiryReason,
    RenewalAssessed,
    RenewalAssessmentOpened,
    RenewalPendingPastTerm,
    RenewalRefusalRecorded,
    RenewalRequestRecorded,
    RenewalRequestWithdrawalRecorded,
    RenewalWindowOpened,
    TermGrade,
    TermRenewed,
)
from shared.cst import cst_date

_DAY = timedelta(days=1)

#: The answer to a renewal assessment review asks of a base that is already closed.
REVOKED_REASON = "基地已被撤销 / the base has been revoked"
EXPIRED_REASON = "基地已终止 / the base's designation has ended"


def register(c: RegisterBase, state: object) -> list[BaseEvent]:
    if c.term_end < c.term_start:
        raise refused(InvalidTerm, c, state, f"{c.term_start}..{c.term_end}")
    return [
        BaseRegistered(
            base_id=c.base_id,
            case_id=c.case_id,
            unit_id=c.unit_id,
            unit_name=c.unit_name,
            province=c.province,
            jurisdiction=c.jurisdiction,
            term_start=c.term_start,
            term_end=c.term_end,
            first_report_year=c.first_report_year,
            policy_version=c.policy_version,
        )
    ]


def register_again(c: RegisterBase, base: Active | Revoked | Expired) -> list[BaseEvent]:
    """A redelivered designation decides nothing; another designation on this stream is a bug."""
    if (c.base_id, c.case_id) == (base.base_id, base.case_id):
        return []
    raise refused(BaseAlreadyRegistered, c, base, f"{base.base_id} is case {base.case_id}")


def open_window(c: OpenRenewalWindow, base: Active) -> list[BaseEvent]:
    if base.window_opened_for == base.term_end:
        return []
    opens_on = c.policy.renewal_window_opens_on(base.term_end)
    if cst_date(c.at) < opens_on:  # Art. 14: within the 90 days before expiry
        raise refused(RenewalWindowNotYetOpen, c, base, f"the window opens {opens_on}")
    return [
        RenewalWindowOpened(
            base_id=base.base_id,
            case_id=base.case_id,
            opens_on=opens_on,
            closes_on=base.term_end,
            term_end=base.term_end,
            policy_version=c.policy.version,
        )
    ]


# --- the unit's request and review's decision ----------------------------------------------


def record_request(c: RecordRenewalRequest, base: Active) -> list[BaseEvent]:
    """Application checked the window; a request for another term or after this one's end
    is an inconsistency for an operator."""
    open_request = base.renewal_request
    if open_request is not None and open_request.renewal_id == c.renewal_id:
        return []
    if c.renewal_id in base.renewals_granted:
        return []  # redelivered after its grant
    if c.term_end != base.term_end:
        raise refused(RenewalForAnotherTerm, c, base, f"the term ends {base.term_end}")
    if c.requested_on > base.term_end:
        raise refused(RenewalRequestedAfterTerm, c, base, f"the term ended {base.term_end}")
    if open_request is not None:
        raise refused(RenewalAlreadyRequested, c, base, f"{open_request.renewal_id} is open")
    return [
        RenewalRequestRecorded(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            term_end=c.term_end,
            requested_on=c.requested_on,
        )
    ]


def withdraw_request(c: WithdrawRenewalRequest, base: Active) -> list[BaseEvent]:
    if base.renewal_request is None or base.renewal_request.renewal_id != c.renewal_id:
        return []  # nothing of ours held the base: its term runs as it would have
    if base.pending_past_term or c.withdrawn_on > base.term_end:
        # The request kept the base past its term: withdrawing it ends the base that day.
        return [_expired(base, max(c.withdrawn_on, base.term_end + _DAY), "withdrawn")]
    return [
        RenewalRequestWithdrawalRecorded(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            withdrawn_on=c.withdrawn_on,
        )
    ]


def refuse(c: RefuseRenewal, base: Active) -> list[BaseEvent]:
    """Review refused the renewal (after an unqualified renewal assessment)."""
    if base.renewal_request is None or base.renewal_request.renewal_id != c.renewal_id:
        return []  # no request of ours held the base: its term runs as it would have
    if base.pending_past_term or c.refused_on > base.term_end:
        return [_expired(base, max(c.refused_on, base.term_end + _DAY), "refused")]
    return [
        RenewalRefusalRecorded(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            refused_on=c.refused_on,
        )
    ]


def renew(c: RenewTerm, base: Active) -> list[BaseEvent]:
    """Terms are continuous: the new one starts the day after the old one ended, even when the
    grant comes later (the base was renewal pending in between)."""
    if c.renewal_id in base.renewals_granted:
        return []
    continuous = base.term_end + _DAY
    if c.term_start != continuous or c.term_end < c.term_start:
        why = f"{c.term_start}..{c.term_end}: the new term starts {continuous}"
        raise refused(InvalidTerm, c, base, why)
    return [
        TermRenewed(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            certificate_no=c.certificate_no,
            term_start=c.term_start,
            term_end=c.term_end,
            policy_version=c.policy_version,
        )
    ]


def expire(c: ExpireBase, base: Active) -> list[BaseEvent]:
    if cst_date(c.at) <= base.term_end:  # Art. 14: valid through the last day of the term
        raise refused(TermNotEnded, c, base, f"the term ends {base.term_end}")
    if base.pending_past_term:
        return []  # review's decision ends it, or renews it
    if base.renewal_request is not None:
        return [
            RenewalPendingPastTerm(
                base_id=base.base_id,
                case_id=base.case_id,
                renewal_id=base.renewal_request.renewal_id,
                term_end=base.term_end,
            )
        ]
    return [_expired(base, base.term_end + _DAY, "term")]


def _expired(base: Active, on: date, why: str) -> BaseExpired:
    reason = {
        "term": ExpiryReason.TERM_ENDED,
        "refused": ExpiryReason.RENEWAL_REFUSED,
        "withdrawn": ExpiryReason.RENEWAL_WITHDRAWN,
    }[why]
    return BaseExpired(
        base_id=base.base_id,
        case_id=base.case_id,
        expired_on=on,
        term_end=base.term_end,
        reason=reason,
        policy_version=base.term_policy_version,
    )


# --- the renewal assessment (Art. 14: 经考核合格) -------------------------------------------


def open_assessment(c: OpenRenewalAssessment, base: Active) -> list[BaseEvent]:
    """Review asks: the assessment waits for the national department."""
    if c.renewal_id in base.renewal_assessments:
        return []
    return [
        RenewalAssessmentOpened(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            opened_on=cst_date(c.at),
        )
    ]


def answer_closed(c: OpenRenewalAssessment, base: Revoked | Expired) -> list[BaseEvent]:
    """A revoked or ended base cannot be renewed: answered at once, so review never waits."""
    if c.renewal_id in base.renewals_assessed:
        return []
    reason = REVOKED_REASON if isinstance(base, Revoked) else EXPIRED_REASON
    return [
        RenewalAssessed(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            qualified=False,
            reasons=(reason,),
            grades=(),
            assessed_on=cst_date(c.at),
            policy_version=c.policy.version,
        )
    ]


def assess(c: AssessRenewal, base: Active) -> list[BaseEvent]:
    """The national department's answer, with its reasons; the term's final grades are its
    evidence and travel with the answer."""
    pending = base.renewal_assessments.get(c.renewal_id)
    if pending is None:
        raise refused(RenewalAssessmentNotRequested, c, base, f"no request {c.renewal_id}")
    reasons = tuple(r.strip() for r in c.reasons)
    if pending.qualified is not None:
        if (pending.qualified, pending.reasons) == (c.qualified, reasons):
            return []
        raise refused(RenewalAlreadyAssessed, c, base, f"qualified={pending.qualified}")
    if not reasons or not all(reasons):
        raise refused(RenewalReasonsRequired, c, base, "state the assessment's reasons")
    return [
        RenewalAssessed(
            base_id=base.base_id,
            case_id=base.case_id,
            renewal_id=c.renewal_id,
            qualified=c.qualified,
            reasons=reasons,
            grades=term_grades(base),
            assessed_on=cst_date(c.at),
            policy_version=c.policy.version,
        )
    ]


def term_grades(base: Active) -> tuple[TermGrade, ...]:
    """The final grades of the current term's years, in year order."""
    first, last = base.term_start.year, base.term_end.year
    return tuple(
        TermGrade(year, g.final)
        for year, g in sorted(base.grades.items())
        if g.final is not None and first <= year <= last
    )
