"""Specifications of a renewal request (Art. 14): province (passes on or returns for
completeness), national, assessment, plaque again."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.review.domain.commands import (
    CloseRenewalReview,
    DeclareConflictForRenewal,
    DeclareNoConflictForRenewal,
    ForwardRenewal,
    GrantRenewal,
    OpenRenewalReview,
    RecordRenewalAssessment,
    ReopenRenewalReview,
    RequestRenewalAssessment,
    ReturnRenewal,
)
from services.review.domain.errors import (
    ConflictDeclarationMissing,
    DecisionNotAllowedAtLevel,
    LevelMismatch,
    ReasonsRequired,
    RenewalAlreadyReturned,
    RenewalConcluded,
    RenewalNotAwaitingAssessment,
    RenewalNotAwaitingResubmission,
    RenewalNotFound,
    RenewalNotInProgress,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
)
from services.review.domain.events import (
    GradeEvidence,
    Level,
    RenewalAssessmentRecorded,
    RenewalAssessmentRequested,
    RenewalConflictDeclared,
    RenewalEvent,
    RenewalForwarded,
    RenewalGranted,
    RenewalNoConflictDeclared,
    RenewalRefused,
    RenewalReturned,
    RenewalReviewClosed,
    RenewalReviewOpened,
    RenewalReviewReopened,
)
from services.review.domain.policy import DesignationPolicy
from services.review.domain.renewal_review import decider
from shared.testkit.spec import spec

AT = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
RENEWAL, CASE, BASE, UNIT = "rn-1", "case-1", "base-1", "org-kunming-park"
TERM_END = date(2027, 5, 9)
POLICY = DesignationPolicy("2027.1", 5, "中国科协海智计划工作基地")
PROV, PROV_ORG = "u-prov", "org-53-cast"
NAT, NAT_ORG = "u-nat", "org-cast-ild"
OFFICE, GO_ORG = "u-office", "org-cast-go"
IDS = (RENEWAL, CASE, BASE)


def declared(who: str, org: str) -> RenewalNoConflictDeclared:
    return RenewalNoConflictDeclared(RENEWAL, CASE, who, org, AT)


OPENED = RenewalReviewOpened(*IDS, UNIT, "昆明高新区", "53", "5301", TERM_END, AT)
AT_PROVINCE: list[RenewalEvent] = [OPENED, declared(PROV, PROV_ORG)]
AT_NATIONAL: list[RenewalEvent] = [
    *AT_PROVINCE,
    RenewalForwarded(*IDS, "同意", PROV, AT),
    declared(NAT, NAT_ORG),
]
AWAITING_ASSESSMENT: list[RenewalEvent] = [
    *AT_NATIONAL,
    RenewalAssessmentRequested(*IDS, NAT, AT),
]
QUALIFIED: list[RenewalEvent] = [
    *AWAITING_ASSESSMENT,
    RenewalAssessmentRecorded(*IDS, True, (), "2027.1", AT),
    declared(OFFICE, GO_ORG),
]


def grant(by: str = OFFICE, org: str = GO_ORG) -> GrantRenewal:
    return GrantRenewal(RENEWAL, Level.GENERAL_OFFICE, "HZ-2027-015", POLICY, by, org, AT)


def test_a_renewal_request_opens_at_the_province() -> None:
    command = OpenRenewalReview(*IDS, UNIT, "昆明高新区", "53", "5301", TERM_END, "system", AT)
    spec(decider).given().when(command).then(OPENED)


def test_the_request_delivered_again_changes_nothing() -> None:
    command = OpenRenewalReview(*IDS, UNIT, "昆明高新区", "53", "5301", TERM_END, "system", AT)
    spec(decider).given(*AT_NATIONAL).when(command).then()


def test_a_decision_on_an_unknown_renewal_is_not_found() -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given().when(command).raises(RenewalNotFound)


def test_the_province_forwards_the_request() -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT, opinion="同意")
    spec(decider).given(*AT_PROVINCE).when(command).then(RenewalForwarded(*IDS, "同意", PROV, AT))


RETURNED: list[RenewalEvent] = [
    *AT_PROVINCE,
    RenewalReturned(*IDS, ("未提交五年建设总结",), PROV, AT),
]


def test_the_province_returns_an_incomplete_request_with_reasons() -> None:
    command = ReturnRenewal(RENEWAL, Level.PROVINCE, (" 未提交五年建设总结 ",), PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).then(
        RenewalReturned(*IDS, ("未提交五年建设总结",), PROV, AT)
    )


def test_a_return_without_reasons_is_refused() -> None:
    command = ReturnRenewal(RENEWAL, Level.PROVINCE, (" ",), PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(ReasonsRequired)


def test_a_returned_request_takes_no_decision_until_the_unit_completes_it() -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*RETURNED).when(command).raises(RenewalNotInProgress)


def test_the_completed_request_waits_at_the_province_again() -> None:
    command = ReopenRenewalReview(RENEWAL, "已补充五年建设总结", "system", AT)
    spec(decider).given(*RETURNED).when(command).then(
        RenewalReviewReopened(*IDS, "已补充五年建设总结", AT)
    )
    reopened = RenewalReviewReopened(*IDS, "已补充五年建设总结", AT)
    forward = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*RETURNED, reopened).when(forward).then(
        RenewalForwarded(*IDS, "", PROV, AT)
    )


def test_the_province_returns_a_request_once_only() -> None:
    reopened = RenewalReviewReopened(*IDS, "已补充", AT)
    command = ReturnRenewal(RENEWAL, Level.PROVINCE, ("仍不完整",), PROV, PROV_ORG, AT)
    spec(decider).given(*RETURNED, reopened).when(command).raises(RenewalAlreadyReturned)


def test_the_completed_request_delivered_again_changes_nothing() -> None:
    reopened = RenewalReviewReopened(*IDS, "已补充", AT)
    command = ReopenRenewalReview(RENEWAL, "已补充", "system", AT)
    spec(decider).given(*RETURNED, reopened).when(command).then()


def test_a_completed_request_the_province_never_returned_is_refused() -> None:
    command = ReopenRenewalReview(RENEWAL, "已补充", "system", AT)
    spec(decider).given(*AT_NATIONAL).when(command).raises(RenewalNotAwaitingResubmission)


def test_a_returned_request_may_be_withdrawn() -> None:
    command = CloseRenewalReview(RENEWAL, "system", AT)
    spec(decider).given(*RETURNED).when(command).then(RenewalReviewClosed(*IDS, AT))


def test_the_national_level_requests_the_renewal_assessment() -> None:
    command = RequestRenewalAssessment(RENEWAL, Level.NATIONAL, NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).then(RenewalAssessmentRequested(*IDS, NAT, AT))


def test_the_national_level_does_not_return_the_request_itself() -> None:
    command = ReturnRenewal(RENEWAL, Level.NATIONAL, ("x",), NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).raises(DecisionNotAllowedAtLevel)


GRADES = tuple(GradeEvidence(y, "qualified") for y in range(2023, 2027))


def test_a_qualified_assessment_awaits_the_plaque_and_keeps_its_evidence() -> None:
    command = RecordRenewalAssessment(RENEWAL, True, (), "2027.1", "system", AT, GRADES)
    spec(decider).given(*AWAITING_ASSESSMENT).when(command).then(
        RenewalAssessmentRecorded(*IDS, True, (), "2027.1", AT, GRADES)
    )


def test_an_unqualified_assessment_refuses_the_renewal_on_the_day_of_the_decision() -> None:
    late_evening = datetime(2027, 5, 20, 17, 30, tzinfo=UTC)  # 01:30 on 21 May in Beijing
    command = RecordRenewalAssessment(
        RENEWAL, False, ("连续两年不合格",), "2027.1", "system", late_evening
    )
    spec(decider).given(*AWAITING_ASSESSMENT).when(command).then(
        RenewalAssessmentRecorded(*IDS, False, ("连续两年不合格",), "2027.1", late_evening),
        RenewalRefused(
            *IDS,
            Level.NATIONAL,
            ("连续两年不合格",),
            "system",
            late_evening,
            refused_on=date(2027, 5, 21),
        ),
    )


@pytest.mark.parametrize("qualified", [True, False])
def test_the_assessment_delivered_again_changes_nothing(qualified: bool) -> None:
    command = RecordRenewalAssessment(RENEWAL, qualified, ("r",), "2027.1", "system", AT)
    history = spec(decider).given(*AWAITING_ASSESSMENT).when(command).decided()
    spec(decider).given(*AWAITING_ASSESSMENT, *history).when(command).then()


def test_an_assessment_nobody_requested_is_refused() -> None:
    command = RecordRenewalAssessment(RENEWAL, True, (), "2027.1", "system", AT)
    spec(decider).given(*AT_NATIONAL).when(command).raises(RenewalNotAwaitingAssessment)


def test_the_general_office_grants_a_new_term_following_the_old_one() -> None:
    spec(decider).given(*QUALIFIED).when(grant()).then(
        RenewalGranted(
            *IDS, "HZ-2027-015", date(2027, 5, 10), date(2032, 5, 9), "2027.1", OFFICE, AT
        )
    )


def test_a_grant_after_the_old_term_ended_still_continues_it_without_a_gap() -> None:
    # The base was renewal pending past 9 May; the grant on 20 June starts on 10 May.
    late = datetime(2027, 6, 20, 2, 0, tzinfo=UTC)
    command = GrantRenewal(
        RENEWAL, Level.GENERAL_OFFICE, "HZ-2027-016", POLICY, OFFICE, GO_ORG, late
    )
    spec(decider).given(*QUALIFIED).when(command).then(
        RenewalGranted(
            *IDS, "HZ-2027-016", date(2027, 5, 10), date(2032, 5, 9), "2027.1", OFFICE, late
        )
    )


@pytest.mark.parametrize(
    "history", [AT_NATIONAL, AWAITING_ASSESSMENT], ids=["not-requested", "not-assessed"]
)
def test_no_renewal_before_a_qualified_assessment(history: list[RenewalEvent]) -> None:
    spec(decider).given(*history, declared(OFFICE, GO_ORG)).when(grant()).raises(LevelMismatch)


def test_a_decision_for_a_level_the_request_has_left_is_refused() -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).raises(LevelMismatch)


def test_the_province_cannot_request_the_assessment() -> None:
    command = RequestRenewalAssessment(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(DecisionNotAllowedAtLevel)


# --- fairness -----------------------------------------------------------------------------


def test_a_reviewer_declares_no_conflict() -> None:
    command = DeclareNoConflictForRenewal(RENEWAL, PROV, PROV_ORG, AT)
    spec(decider).given(OPENED).when(command).then(declared(PROV, PROV_ORG))


def test_a_reviewer_of_the_base_unit_cannot_declare_no_conflict() -> None:
    command = DeclareNoConflictForRenewal(RENEWAL, "u-insider", UNIT, AT)
    spec(decider).given(OPENED).when(command).raises(ReviewerFromApplicantUnit)


def test_an_undeclared_reviewer_cannot_decide() -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, "u-prov-2", PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(ConflictDeclarationMissing)


def test_a_recused_reviewer_cannot_decide() -> None:
    history = [*AT_PROVINCE, RenewalConflictDeclared(RENEWAL, CASE, PROV, PROV_ORG, "亲属", AT)]
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*history).when(command).raises(ReviewerRecused)


def test_a_reviewer_may_recuse() -> None:
    command = DeclareConflictForRenewal(RENEWAL, "亲属", PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).then(
        RenewalConflictDeclared(RENEWAL, CASE, PROV, PROV_ORG, "亲属", AT)
    )


def test_the_province_decider_cannot_take_the_national_decision() -> None:
    history = [*AT_NATIONAL, declared(PROV, NAT_ORG)]
    command = RequestRenewalAssessment(RENEWAL, Level.NATIONAL, PROV, NAT_ORG, AT)
    spec(decider).given(*history).when(command).raises(SeparationOfDutiesViolated)


def test_the_national_decider_cannot_grant_the_renewal() -> None:
    spec(decider).given(*QUALIFIED).when(grant(NAT, NAT_ORG)).raises(SeparationOfDutiesViolated)


# --- withdrawal and the end of a request --------------------------------------------------


def test_a_withdrawn_request_closes_its_review() -> None:
    command = CloseRenewalReview(RENEWAL, "system", AT)
    spec(decider).given(*AWAITING_ASSESSMENT).when(command).then(RenewalReviewClosed(*IDS, AT))


def test_a_withdrawal_delivered_again_changes_nothing() -> None:
    history = [*AT_PROVINCE, RenewalReviewClosed(*IDS, AT)]
    spec(decider).given(*history).when(CloseRenewalReview(RENEWAL, "system", AT)).then()


def test_a_withdrawal_cannot_undo_a_granted_renewal() -> None:
    granted = RenewalGranted(
        *IDS, "HZ-2027-015", date(2027, 5, 10), date(2032, 5, 9), "2027.1", OFFICE, AT
    )
    command = CloseRenewalReview(RENEWAL, "system", AT)
    spec(decider).given(*QUALIFIED, granted).when(command).raises(RenewalConcluded)


@pytest.mark.parametrize(
    "last",
    [
        RenewalReviewClosed(*IDS, AT),
        RenewalRefused(*IDS, Level.NATIONAL, ("x",), "system", AT, date(2027, 3, 1)),
        # a province's refusal, from history before the province only returned requests
        RenewalRefused(*IDS, Level.PROVINCE, ("x",), PROV, AT),
    ],
    ids=["withdrawn", "refused", "refused-by-province-in-older-history"],
)
def test_a_concluded_request_takes_no_more_decisions(last: RenewalEvent) -> None:
    command = ForwardRenewal(RENEWAL, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE, last).when(command).raises(RenewalNotInProgress)


def test_an_assessment_after_withdrawal_is_refused() -> None:
    history = [*AWAITING_ASSESSMENT, RenewalReviewClosed(*IDS, AT)]
    command = RecordRenewalAssessment(RENEWAL, True, (), "2027.1", "system", AT)
    spec(decider).given(*history).when(command).raises(RenewalNotAwaitingAssessment)
