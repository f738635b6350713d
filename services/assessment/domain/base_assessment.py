"""Annual assessment (Art. 11–12), rectification orders (Art. 12) and revocation (Art. 13).

Scoring suggests a grade (our policy's weights and thresholds) and proposes it; the national
department may propose another with a written reason (Art. 12: the grade is decided, not
computed). It becomes final only when the year's grade list is approved — as proposed, or as
the leading group amended it — and the use case issues `FinaliseGrade`. Only a report the
base's local CAST forwarded is scored (Art. 10); a missing report, once due, is scored too.
A final unqualified grade orders a rectification; a run of
`revoke_after_consecutive_unqualified` final unqualified grades in consecutive assessment years
proposes revocation. An accepted rectification does not erase the grade it answered.
"""

from __future__ import annotations

from services.assessment.domain.base_reporting import valid_attachments
from services.assessment.domain.base_state import Active, Rectification, RectificationStage
from services.assessment.domain.commands import (
    AcceptRectification,
    ConfirmRevocation,
    FileRectificationReport,
    FinaliseGrade,
    MarkRectificationOverdue,
    ProposeGrade,
    RejectRectification,
    ScoreBase,
)
from services.assessment.domain.errors import (
    AssessmentTooEarly,
    GradeAlreadyFinal,
    GradeNotProposed,
    GradeProposalChanged,
    GradeReasonRequired,
    InvalidRectificationReport,
    InvalidScores,
    NoRectificationReport,
    NotTheBaseUnit,
    ReasonsRequired,
    RectificationAlreadyAccepted,
    RectificationIdRequired,
    RectificationNotFound,
    RectificationNotYetOverdue,
    RectificationReportPending,
    ReportNotForwarded,
    RevocationNotProposed,
    YearBeforeDesignation,
    refused,
)
from services.assessment.domain.events import (
    BaseCommended,
    BaseEvent,
    BaseRevoked,
    BaseScored,
    GradeFinalised,
    GradeProposed,
    RectificationAccepted,
    RectificationOrdered,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    RevocationProposed,
)
from services.assessment.domain.policy import Grade, grade_for, invalid_scores, weighted_total
from shared.cst import cst_date


def score(c: ScoreBase, base: Active) -> list[BaseEvent]:
    if c.year < base.first_year:
        raise refused(YearBeforeDesignation, c, base, f"designated in {base.first_year}")
    graded = base.grades.get(c.year)
    if graded is not None and graded.final is not None:
        raise refused(GradeAlreadyFinal, c, base, f"{c.year} is final: {graded.final}")
    problem = invalid_scores(c.policy, c.scores)
    if problem:
        raise refused(InvalidScores, c, base, problem)
    reporting = base.reporting.get(c.year)
    filed = reporting is not None and reporting.filed
    due_on = reporting.due_on if reporting else c.policy.reporting_due_on(c.year)
    if not filed and cst_date(c.at) <= due_on:
        # A missing report is only missing once its due day has passed.
        raise refused(AssessmentTooEarly, c, base, f"no report yet, due {due_on}")
    if reporting is not None and reporting.filed and not reporting.forwarded:
        # Art. 10: reports reach the national department through the local CAST.
        raise refused(ReportNotForwarded, c, base, f"the report for {c.year} awaits its CAST")
    total = weighted_total(c.policy, c.scores)
    missing = not filed and c.policy.missing_report_is_unqualified
    suggested = Grade.UNQUALIFIED if missing else grade_for(c.policy, total)
    return [
        BaseScored(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            scores=c.scores,
            weighted_total=total,
            report_filed=filed,
            suggested_grade=suggested,
            policy_version=c.policy.version,
        ),
        GradeProposed(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            grade=suggested,
            suggested_grade=suggested,
            missing_report=not filed,
            reason="",
            policy_version=c.policy.version,
        ),
    ]


def propose_grade(c: ProposeGrade, base: Active) -> list[BaseEvent]:
    """Art. 12: the department proposes the grade; another than the suggestion, with a reason.

    Back to the suggestion needs no reason. The proposal keeps the scoring's policy version.
    """
    graded = base.grades.get(c.year)
    if graded is None:
        raise refused(GradeNotProposed, c, base, f"{c.year} has not been scored")
    if graded.final is not None:
        raise refused(GradeAlreadyFinal, c, base, f"{c.year} is final: {graded.final}")
    reason = c.reason.strip() if c.grade is not graded.suggested else ""
    if c.grade is not graded.suggested and not reason:
        why = f"the policy suggests {graded.suggested}, not {c.grade}"
        raise refused(GradeReasonRequired, c, base, why)
    if (graded.proposed, graded.reason) == (c.grade, reason):
        return []
    return [
        GradeProposed(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            grade=c.grade,
            suggested_grade=graded.suggested,
            missing_report=graded.missing_report,
            reason=reason,
            policy_version=graded.policy_version,
        )
    ]


def finalise(c: FinaliseGrade, base: Active) -> list[BaseEvent]:
    graded = base.grades.get(c.year)
    if graded is None:
        raise refused(GradeNotProposed, c, base, f"{c.year} has not been scored")
    if graded.final == c.grade:
        return []
    if graded.final is not None:
        raise refused(GradeAlreadyFinal, c, base, f"{c.year} is final: {graded.final}")
    if graded.proposed is not c.proposed:
        why = f"the list proposed {c.proposed}, the department now {graded.proposed}"
        raise refused(GradeProposalChanged, c, base, why)
    if c.grade is Grade.UNQUALIFIED and not c.rectification_id:
        raise refused(RectificationIdRequired, c, base, "an unqualified grade orders rectification")
    p, base_id, case_id = c.policy, base.base_id, base.case_id
    events: list[BaseEvent] = [
        GradeFinalised(
            base_id=base_id,
            case_id=case_id,
            year=c.year,
            grade=c.grade,
            proposed_grade=c.proposed,
            amendment_reason=c.amendment_reason,
            approved_on=c.approved_on,
            policy_version=p.version,
        )
    ]
    if c.grade is Grade.EXCELLENT:  # Art. 12: commended
        events.append(
            BaseCommended(base_id=base_id, case_id=case_id, year=c.year, policy_version=p.version)
        )
    if c.grade is Grade.UNQUALIFIED and c.rectification_id:  # Art. 12: rectify by a deadline
        deadline = p.rectification_deadline(c.approved_on)
        events.append(
            RectificationOrdered(
                base_id=base_id,
                case_id=case_id,
                rectification_id=c.rectification_id,
                year=c.year,
                ordered_on=c.approved_on,
                deadline=deadline,
                policy_version=p.version,
            )
        )
        run = _unqualified_run(base, c.year)
        if len(run) >= p.revoke_after_consecutive_unqualified and base.revocation is None:
            # Art. 13: consecutive assessment years, whatever the rectifications in between.
            events.append(
                RevocationProposed(
                    base_id=base_id,
                    case_id=case_id,
                    years=run,
                    proposed_on=c.approved_on,
                    policy_version=p.version,
                )
            )
    return events


def file_rectification(c: FileRectificationReport, base: Active) -> list[BaseEvent]:
    order = _order(c, base, c.rectification_id)
    if c.by_unit != base.unit_id:
        raise refused(NotTheBaseUnit, c, base, f"{c.by_unit} is not the base's unit")
    if order.stage is RectificationStage.REPORTED:
        raise refused(RectificationReportPending, c, base, "a report awaits a decision")
    if order.stage is RectificationStage.ACCEPTED:
        raise refused(RectificationAlreadyAccepted, c, base, "nothing left to rectify")
    if not c.summary.strip() or not valid_attachments(c.attachments):
        raise refused(InvalidRectificationReport, c, base, "a summary and valid attachments")
    filed_on = cst_date(c.at)
    return [
        RectificationReportFiled(
            base_id=base.base_id,
            case_id=base.case_id,
            rectification_id=c.rectification_id,
            year=order.year,
            filed_on=filed_on,
            late=filed_on > order.deadline,
            summary=c.summary,
            attachments=c.attachments,
            policy_version=order.policy_version,
        )
    ]


def accept_rectification(c: AcceptRectification, base: Active) -> list[BaseEvent]:
    order = _order(c, base, c.rectification_id)
    if order.stage is RectificationStage.ACCEPTED:
        return []
    if order.stage is RectificationStage.ORDERED:
        raise refused(NoRectificationReport, c, base, "no report awaits a decision")
    return [
        RectificationAccepted(
            base_id=base.base_id,
            case_id=base.case_id,
            rectification_id=c.rectification_id,
            year=order.year,
            accepted_on=cst_date(c.at),
            policy_version=order.policy_version,
        )
    ]


def reject_rectification(c: RejectRectification, base: Active) -> list[BaseEvent]:
    order = _order(c, base, c.rectification_id)
    if order.stage is RectificationStage.ACCEPTED:
        raise refused(RectificationAlreadyAccepted, c, base, "it was accepted")
    if order.stage is RectificationStage.ORDERED:
        raise refused(NoRectificationReport, c, base, "no report awaits a decision")
    if not c.reasons or not all(r.strip() for r in c.reasons):
        raise refused(ReasonsRequired, c, base, "give the reasons for the rejection")
    return [
        RectificationRejected(
            base_id=base.base_id,
            case_id=base.case_id,
            rectification_id=c.rectification_id,
            year=order.year,
            rejected_on=cst_date(c.at),
            reasons=c.reasons,
            policy_version=order.policy_version,
        )
    ]


def mark_rectification_overdue(c: MarkRectificationOverdue, base: Active) -> list[BaseEvent]:
    order = _order(c, base, c.rectification_id)
    # Only a base that owes a report is overdue: not one whose report awaits the department.
    if order.overdue or order.stage is not RectificationStage.ORDERED:
        return []
    if cst_date(c.at) <= order.deadline:
        raise refused(RectificationNotYetOverdue, c, base, f"deadline {order.deadline}")
    return [
        RectificationOverdue(
            base_id=base.base_id,
            case_id=base.case_id,
            rectification_id=c.rectification_id,
            year=order.year,
            deadline=order.deadline,
            policy_version=order.policy_version,
        )
    ]


def confirm_revocation(c: ConfirmRevocation, base: Active) -> list[BaseEvent]:
    proposal = base.revocation
    if proposal is None:
        raise refused(RevocationNotProposed, c, base, "no run of unqualified years")
    return [
        BaseRevoked(
            base_id=base.base_id,
            case_id=base.case_id,
            revoked_on=cst_date(c.at),
            years=proposal.years,
            meeting_ref=c.meeting_ref,
            policy_version=proposal.policy_version,
        )
    ]


def _unqualified_run(base: Active, year: int) -> tuple[int, ...]:
    """The consecutive years around `year` (taken as unqualified) with final unqualified grades."""

    def unqualified(y: int) -> bool:
        graded = base.grades.get(y)
        return y == year or (graded is not None and graded.final is Grade.UNQUALIFIED)

    first, last = year, year
    while unqualified(first - 1):
        first -= 1
    while unqualified(last + 1):
        last += 1
    return tuple(range(first, last + 1))


def _order(c: object, base: Active, rectification_id: str) -> Rectification:
    order = base.rectifications.get(rectification_id)
    if order is None:
        raise refused(RectificationNotFound, c, base, f"no rectification {rectification_id}")
    return order
