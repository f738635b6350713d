"""Specifications of the review of one application: levels, routes, refusals and fairness."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.review.domain import events as ev
from services.review.domain.commands import (
    Accept,
    CloseReview,
    DeclareConflict,
    DeclareNoConflict,
    Forward,
    IssueApproval,
    OpenReview,
    RecordLeadingGroupDecision,
    RecordNotRecommended,
    RecordRecommended,
    RecordScore,
    Reject,
    ReopenReview,
    ReturnToApplicant,
    ReturnToPrefecture,
)
from services.review.domain.errors import (
    ConflictDeclarationMissing,
    DecisionNotAllowedAtLevel,
    InvalidRank,
    InvalidScore,
    LevelMismatch,
    MeetingRecordIncomplete,
    NoPrefectureOnRoute,
    NotAwaitingResubmission,
    ReasonsRequired,
    ReliedOnStaleVersion,
    ReviewAlreadyOpened,
    ReviewConcluded,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    ReviewNotFound,
    ReviewNotInProgress,
    SeparationOfDutiesViolated,
)
from services.review.domain.events import (
    AcceptedAtProvince,
    ApplicationRejected,
    ApplicationReturned,
    BaseDesignated,
    ConflictDeclared,
    ForwardedToLeadingGroup,
    ForwardedToProvince,
    LeadingGroupDecided,
    LeadingGroupOutcome,
    Level,
    NoConflictDeclared,
    Programme,
    Recommended,
    ReturnedToPrefecture,
    ReviewClosed,
    ReviewEvent,
    ReviewOpened,
    ReviewReopened,
    Route,
    ScoreRecorded,
    SubmittedFile,
)
from services.review.domain.policy import DesignationPolicy
from services.review.domain.review import decider
from services.review.domain.review_stages import Designated
from services.review.domain.scores import LevelScores, score_sheet
from shared.issuance import DocumentIssued
from shared.testkit.spec import spec

AT = datetime(2022, 5, 10, 2, 0, tzinfo=UTC)
REVIEW, APP, CASE, CALL = "rv-1", "app-1", "case-1", "call-53-2022"
UNIT = "org-kunming-park"
FILES = (
    SubmittedFile("support_letter", "支持函.pdf", "a" * 64),
    SubmittedFile("construction_plan", "建设方案.pdf", "b" * 64),
)
FORM = "f" * 64
POLICY = DesignationPolicy("2022.1", 5, "中国科协海智计划工作基地")
OPENED_ON = date(2022, 4, 1)  # the call's opening day

# reviewers and their organisations, one per level
PREF, PREF_ORG = "u-pref", "org-5301-cast"
PREF2 = "u-pref-2"
PROV, PROV_ORG = "u-prov", "org-53-cast"
PROV2 = "u-prov-2"
RANKER = "u-ranker"
NAT, NAT_ORG = "u-nat", "org-cast-ild"
NAT2 = "u-nat-2"
SEC, LG_ORG = "u-lg-secretary", "org-cast-lg"
OFFICE, GO_ORG = "u-office", "org-cast-go"


def opened(route: Route = Route.VIA_PREFECTURE) -> ReviewOpened:
    first = Level.PREFECTURE if route is Route.VIA_PREFECTURE else Level.PROVINCE
    return ReviewOpened(
        REVIEW,
        APP,
        CASE,
        CALL,
        Programme.NATIONAL_BASE,
        UNIT,
        "昆明高新区",
        "53",
        "5301",
        route,
        1,
        FORM,
        FILES,
        first,
        AT,
        OPENED_ON,
    )


def open_review(route: Route = Route.VIA_PREFECTURE, application_id: str = APP) -> OpenReview:
    o = opened(route)
    return OpenReview(
        REVIEW,
        application_id,
        CASE,
        CALL,
        o.programme,
        UNIT,
        o.unit_name,
        "53",
        "5301",
        route,
        1,
        FORM,
        FILES,
        "system",
        AT,
        OPENED_ON,
    )


def declared(who: str, org: str) -> NoConflictDeclared:
    return NoConflictDeclared(REVIEW, CASE, who, org, AT)


def returned(level: Level, by: str, reasons: tuple[str, ...] = ("缺少支持函",)) -> ReviewEvent:
    return ApplicationReturned(REVIEW, APP, CASE, level, reasons, by, AT)


def rejected(level: Level, by: str, reasons: tuple[str, ...] = ("不符合条件",)) -> ReviewEvent:
    return ApplicationRejected(REVIEW, APP, CASE, level, reasons, by, AT)


def meeting(
    outcome: LeadingGroupOutcome = LeadingGroupOutcome.APPROVE,
    reasons: tuple[str, ...] = (),
    **changes: Any,
) -> RecordLeadingGroupDecision:
    command = RecordLeadingGroupDecision(
        REVIEW,
        Level.LEADING_GROUP,
        "海智领导小组〔2022〕3次",
        date(2022, 5, 9),
        ("张三", "李四", "王五"),
        outcome,
        FORM,
        tuple(f.sha256 for f in FILES),
        reasons,
        SEC,
        LG_ORG,
        AT,
    )
    return dataclasses.replace(command, **changes)


def decided_by_meeting(
    outcome: LeadingGroupOutcome = LeadingGroupOutcome.APPROVE, reasons: tuple[str, ...] = ()
) -> LeadingGroupDecided:
    m = meeting(outcome, reasons)
    return LeadingGroupDecided(
        REVIEW,
        APP,
        CASE,
        m.meeting_ref,
        m.meeting_date,
        m.members_present,
        outcome,
        FORM,
        m.file_hashes,
        reasons,
        SEC,
        AT,
    )


AT_PREFECTURE: list[ReviewEvent] = [opened(), declared(PREF, PREF_ORG)]
AT_PROVINCE: list[ReviewEvent] = [
    *AT_PREFECTURE,
    ForwardedToProvince(REVIEW, APP, CASE, "同意上报", PREF, AT),
    declared(PROV, PROV_ORG),
]
AT_PROVINCE_DIRECT: list[ReviewEvent] = [opened(Route.DIRECT), declared(PROV, PROV_ORG)]
AWAITING_RECOMMENDATION: list[ReviewEvent] = [
    *AT_PROVINCE,
    AcceptedAtProvince(REVIEW, APP, CASE, CALL, Programme.NATIONAL_BASE, "53", UNIT, "", PROV, AT),
]
AT_NATIONAL: list[ReviewEvent] = [
    *AWAITING_RECOMMENDATION,
    Recommended(REVIEW, APP, CASE, "rk-53", 1, RANKER, AT),
    declared(NAT, NAT_ORG),
]
AT_LEADING_GROUP: list[ReviewEvent] = [
    *AT_NATIONAL,
    ForwardedToLeadingGroup(REVIEW, APP, CASE, "", NAT, AT),
    declared(SEC, LG_ORG),
]
AWAITING_APPROVAL: list[ReviewEvent] = [
    *AT_LEADING_GROUP,
    decided_by_meeting(),
    declared(OFFICE, GO_ORG),
]


# --- opening ------------------------------------------------------------------------------


def test_an_application_via_its_prefecture_opens_at_the_prefecture() -> None:
    spec(decider).given().when(open_review()).then(opened())


def test_a_direct_application_opens_at_the_province() -> None:
    spec(decider).given().when(open_review(Route.DIRECT)).then(opened(Route.DIRECT))


def test_the_same_submission_delivered_again_changes_nothing() -> None:
    spec(decider).given(*AT_PROVINCE).when(open_review()).then()


def test_a_review_id_already_used_by_another_application_is_refused() -> None:
    spec(decider).given(opened()).when(open_review(application_id="app-2")).raises(
        ReviewAlreadyOpened
    )


def test_a_decision_on_a_review_never_opened_is_not_found() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    spec(decider).given().when(command).raises(ReviewNotFound)


# --- the prefecture (Notice §3(2)) --------------------------------------------------------


def test_the_prefecture_forwards_to_the_province() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT, opinion="同意上报")
    spec(decider).given(*AT_PREFECTURE).when(command).then(
        ForwardedToProvince(REVIEW, APP, CASE, "同意上报", PREF, AT)
    )


def test_the_prefecture_returns_the_application_for_revision() -> None:
    command = ReturnToApplicant(REVIEW, Level.PREFECTURE, ("缺少支持函",), PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).then(returned(Level.PREFECTURE, PREF))


def test_the_prefecture_rejects_with_reasons() -> None:
    command = Reject(REVIEW, Level.PREFECTURE, ("不符合条件",), PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).then(rejected(Level.PREFECTURE, PREF))


@pytest.mark.parametrize("reasons", [(), ("  ",)])
def test_a_return_without_reasons_is_refused(reasons: tuple[str, ...]) -> None:
    command = ReturnToApplicant(REVIEW, Level.PREFECTURE, reasons, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(ReasonsRequired)


def test_a_rejection_without_reasons_is_refused() -> None:
    command = Reject(REVIEW, Level.PREFECTURE, (), PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(ReasonsRequired)


def test_the_prefecture_cannot_accept_for_the_province() -> None:
    command = Accept(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(DecisionNotAllowedAtLevel)


# --- provincial intake and preliminary review (Notice §3(3)) -----------------------------


@pytest.mark.parametrize("history", [AT_PROVINCE, AT_PROVINCE_DIRECT], ids=["via", "direct"])
def test_the_province_accepts_into_the_recommendation(history: list[ReviewEvent]) -> None:
    command = Accept(REVIEW, Level.PROVINCE, PROV, PROV_ORG, AT, opinion="材料齐全")
    spec(decider).given(*history).when(command).then(
        AcceptedAtProvince(
            REVIEW, APP, CASE, CALL, Programme.NATIONAL_BASE, "53", UNIT, "材料齐全", PROV, AT
        )
    )


@pytest.mark.parametrize("history", [AT_PROVINCE, AT_PROVINCE_DIRECT], ids=["via", "direct"])
def test_the_province_returns_to_the_applicant(history: list[ReviewEvent]) -> None:
    command = ReturnToApplicant(REVIEW, Level.PROVINCE, ("缺少支持函",), PROV, PROV_ORG, AT)
    spec(decider).given(*history).when(command).then(returned(Level.PROVINCE, PROV))


@pytest.mark.parametrize("history", [AT_PROVINCE, AT_PROVINCE_DIRECT], ids=["via", "direct"])
def test_the_province_rejects(history: list[ReviewEvent]) -> None:
    command = Reject(REVIEW, Level.PROVINCE, ("不符合条件",), PROV, PROV_ORG, AT)
    spec(decider).given(*history).when(command).then(rejected(Level.PROVINCE, PROV))


def test_the_province_returns_to_the_prefecture_that_forwarded_it() -> None:
    command = ReturnToPrefecture(REVIEW, Level.PROVINCE, ("请州市复核",), PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).then(
        ReturnedToPrefecture(REVIEW, APP, CASE, ("请州市复核",), PROV, AT)
    )


def test_returned_to_the_prefecture_it_is_decided_there_again_without_the_applicant() -> None:
    history = [*AT_PROVINCE, ReturnedToPrefecture(REVIEW, APP, CASE, ("复核",), PROV, AT)]
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    spec(decider).given(*history).when(command).then(
        ForwardedToProvince(REVIEW, APP, CASE, "", PREF, AT)
    )


def test_a_direct_application_cannot_be_returned_to_a_prefecture() -> None:
    command = ReturnToPrefecture(REVIEW, Level.PROVINCE, ("复核",), PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE_DIRECT).when(command).raises(NoPrefectureOnRoute)


def test_the_province_does_not_forward_past_its_recommendation() -> None:
    command = Forward(REVIEW, Level.PROVINCE, PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(DecisionNotAllowedAtLevel)


# --- the recommendation, decided on the call's ranking ------------------------------------


def test_a_recommendation_records_the_rank_and_goes_to_the_national_review() -> None:
    command = RecordRecommended(REVIEW, Level.PROVINCE_RECOMMENDATION, "rk-53", 2, RANKER, AT)
    spec(decider).given(*AWAITING_RECOMMENDATION).when(command).then(
        Recommended(REVIEW, APP, CASE, "rk-53", 2, RANKER, AT)
    )


def test_not_recommended_is_a_final_rejection_at_the_recommendation_level() -> None:
    command = RecordNotRecommended(
        REVIEW, Level.PROVINCE_RECOMMENDATION, "rk-53", ("名额有限",), RANKER, AT
    )
    spec(decider).given(*AWAITING_RECOMMENDATION).when(command).then(
        rejected(Level.PROVINCE_RECOMMENDATION, RANKER, ("名额有限",))
    )


def test_a_rank_below_one_is_refused() -> None:
    command = RecordRecommended(REVIEW, Level.PROVINCE_RECOMMENDATION, "rk-53", 0, RANKER, AT)
    spec(decider).given(*AWAITING_RECOMMENDATION).when(command).raises(InvalidRank)


def test_a_recommendation_is_not_taken_by_a_single_reviewer_on_the_review() -> None:
    command = Accept(REVIEW, Level.PROVINCE_RECOMMENDATION, PROV2, PROV_ORG, AT)
    history = [*AWAITING_RECOMMENDATION, declared(PROV2, PROV_ORG)]
    spec(decider).given(*history).when(command).raises(DecisionNotAllowedAtLevel)


# --- national preliminary review (Art. 7(3)) ----------------------------------------------


def test_the_national_review_forwards_to_the_leading_group() -> None:
    command = Forward(REVIEW, Level.NATIONAL, NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).then(
        ForwardedToLeadingGroup(REVIEW, APP, CASE, "", NAT, AT)
    )


def test_the_national_review_returns_to_the_applicant() -> None:
    command = ReturnToApplicant(REVIEW, Level.NATIONAL, ("缺少支持函",), NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).then(returned(Level.NATIONAL, NAT))


def test_the_national_review_rejects() -> None:
    command = Reject(REVIEW, Level.NATIONAL, ("不符合条件",), NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).then(rejected(Level.NATIONAL, NAT))


def test_only_the_province_returns_to_a_prefecture() -> None:
    command = ReturnToPrefecture(REVIEW, Level.NATIONAL, ("复核",), NAT, NAT_ORG, AT)
    spec(decider).given(*AT_NATIONAL).when(command).raises(DecisionNotAllowedAtLevel)


# --- the leading group's decision (Art. 7(3), Art. 8) -------------------------------------


def test_the_leading_group_approval_records_the_meeting_and_the_version_it_relied_on() -> None:
    spec(decider).given(*AT_LEADING_GROUP).when(meeting()).then(decided_by_meeting())


def test_a_leading_group_return_is_published_as_returned() -> None:
    outcome, why = LeadingGroupOutcome.RETURN, ("补充合作证明",)
    spec(decider).given(*AT_LEADING_GROUP).when(meeting(outcome, why)).then(
        decided_by_meeting(outcome, why), returned(Level.LEADING_GROUP, SEC, why)
    )


def test_a_leading_group_rejection_is_published_as_rejected() -> None:
    outcome, why = LeadingGroupOutcome.REJECT, ("不予批准",)
    spec(decider).given(*AT_LEADING_GROUP).when(meeting(outcome, why)).then(
        decided_by_meeting(outcome, why), rejected(Level.LEADING_GROUP, SEC, why)
    )


def test_a_leading_group_rejection_without_reasons_is_refused() -> None:
    command = meeting(LeadingGroupOutcome.REJECT)
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(ReasonsRequired)


def test_a_decision_relying_on_another_form_version_is_refused() -> None:
    command = meeting(form_hash="0" * 64)
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(ReliedOnStaleVersion)


@pytest.mark.parametrize(
    "file_hashes", [("a" * 64,), ("a" * 64, "c" * 64), ("a" * 64, "b" * 64, "c" * 64)]
)
def test_a_decision_relying_on_other_files_is_refused(file_hashes: tuple[str, ...]) -> None:
    command = meeting(file_hashes=file_hashes)
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(ReliedOnStaleVersion)


def test_the_files_relied_on_may_be_listed_in_any_order() -> None:
    command = meeting(file_hashes=("b" * 64, "a" * 64))
    produced = spec(decider).given(*AT_LEADING_GROUP).when(command).decided()
    assert [type(e) for e in produced] == [LeadingGroupDecided]


@pytest.mark.parametrize("changes", [{"members_present": ()}, {"meeting_ref": " "}])
def test_a_meeting_record_without_reference_or_members_is_refused(changes: Any) -> None:
    command = meeting(**changes)
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(MeetingRecordIncomplete)


def test_a_meeting_dated_after_its_record_is_refused() -> None:
    command = meeting(meeting_date=date(2022, 5, 11))
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(MeetingRecordIncomplete)


# --- approval issued and plaque awarded (Art. 8, Art. 14) ---------------------------------


def issue(at: datetime = AT, by: str = OFFICE) -> IssueApproval:
    return IssueApproval(
        REVIEW,
        Level.GENERAL_OFFICE,
        "base-1",
        "科协办函〔2022〕88号",
        "HZ-2022-001",
        POLICY,
        by,
        GO_ORG,
        at,
    )


def designated(approved_on: date, term_end: date, at: datetime = AT) -> BaseDesignated:
    return BaseDesignated(
        review_id=REVIEW,
        application_id=APP,
        case_id=CASE,
        base_id="base-1",
        programme=Programme.NATIONAL_BASE,
        unit_id=UNIT,
        unit_name="昆明高新区",
        province="53",
        jurisdiction="5301",
        approval_no="科协办函〔2022〕88号",
        certificate_no="HZ-2022-001",
        plaque_name="中国科协海智计划工作基地",
        approved_on=approved_on,
        term_start=approved_on,
        term_end=term_end,
        policy_version="2022.1",
        by=OFFICE,
        at=at,
        call_id=CALL,
        call_opened_on=OPENED_ON,
    )


def test_the_approval_designates_the_base_for_five_years_under_the_fixed_plaque_name() -> None:
    spec(decider).given(*AWAITING_APPROVAL).when(issue()).then(
        designated(date(2022, 5, 10), date(2027, 5, 9))
    )


def test_a_review_opened_before_the_call_opening_day_was_carried_designates_without_it() -> None:
    older = [dataclasses.replace(opened(), call_opened_on=None), *AWAITING_APPROVAL[1:]]
    expected = dataclasses.replace(
        designated(date(2022, 5, 10), date(2027, 5, 9)), call_opened_on=None
    )
    spec(decider).given(*older).when(issue()).then(expected)


def test_a_resubmission_carries_the_call_opening_day_a_review_lacked() -> None:
    returned = ApplicationReturned(REVIEW, APP, CASE, Level.PREFECTURE, ("补充",), PREF, AT)
    older = dataclasses.replace(opened(), call_opened_on=None)
    resubmit = ReopenReview(REVIEW, 2, "昆明高新区", FORM, FILES, "system", AT, OPENED_ON)
    spec(decider).given(older, returned).when(resubmit).then(
        ReviewReopened(
            REVIEW, APP, CASE, 2, "昆明高新区", FORM, FILES, Level.PREFECTURE, AT, OPENED_ON
        )
    )


def test_the_approval_date_is_the_day_in_beijing() -> None:
    late = datetime(2022, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 January in Beijing
    spec(decider).given(*AWAITING_APPROVAL).when(issue(late)).then(
        designated(date(2023, 1, 1), date(2027, 12, 31), late)
    )


def test_no_approval_before_the_leading_group_approves() -> None:
    spec(decider).given(*AT_LEADING_GROUP).when(issue()).raises(LevelMismatch)


# --- a decision for a level the case is not at ---------------------------------------------


def test_a_decision_for_a_level_the_case_has_left_is_refused_as_stale() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    error = spec(decider).given(*AT_PROVINCE).when(command).raises(LevelMismatch)
    assert error.context == {"meant_for": Level.PREFECTURE, "current": Level.PROVINCE}


def test_a_decision_for_a_level_not_reached_yet_is_refused() -> None:
    command = Forward(REVIEW, Level.NATIONAL, NAT, NAT_ORG, AT)
    spec(decider).given(*AT_PROVINCE, declared(NAT, NAT_ORG)).when(command).raises(LevelMismatch)


def test_a_direct_application_has_no_prefecture_level() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    history = [*AT_PROVINCE_DIRECT, declared(PREF, PREF_ORG)]
    spec(decider).given(*history).when(command).raises(LevelMismatch)


# --- conflict of interest -----------------------------------------------------------------


def test_a_reviewer_declares_no_conflict_of_interest() -> None:
    command = DeclareNoConflict(REVIEW, PREF, PREF_ORG, AT)
    spec(decider).given(opened()).when(command).then(declared(PREF, PREF_ORG))


def test_declaring_no_conflict_again_changes_nothing() -> None:
    command = DeclareNoConflict(REVIEW, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).then()


def test_a_reviewer_of_the_applicant_unit_cannot_declare_no_conflict() -> None:
    command = DeclareNoConflict(REVIEW, "u-insider", UNIT, AT)
    spec(decider).given(opened()).when(command).raises(ReviewerFromApplicantUnit)


def test_a_reviewer_of_the_applicant_unit_cannot_decide() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, "u-insider", UNIT, AT)
    spec(decider).given(opened()).when(command).raises(ReviewerFromApplicantUnit)


def test_a_decision_before_declaring_no_conflict_is_refused() -> None:
    command = Forward(REVIEW, Level.PREFECTURE, PREF2, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(ConflictDeclarationMissing)


def test_a_score_before_declaring_no_conflict_is_refused() -> None:
    command = RecordScore(REVIEW, Level.PREFECTURE, "channels", 80, PREF2, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(ConflictDeclarationMissing)


def test_a_reviewer_who_declares_a_conflict_is_recused() -> None:
    command = DeclareConflict(REVIEW, "亲属任职", PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).then(
        ConflictDeclared(REVIEW, CASE, PREF, PREF_ORG, "亲属任职", AT)
    )


def test_a_recused_reviewer_cannot_decide() -> None:
    history = [*AT_PREFECTURE, ConflictDeclared(REVIEW, CASE, PREF, PREF_ORG, "亲属任职", AT)]
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    spec(decider).given(*history).when(command).raises(ReviewerRecused)


def test_a_recused_reviewer_cannot_declare_no_conflict_afterwards() -> None:
    history = [opened(), ConflictDeclared(REVIEW, CASE, PREF, PREF_ORG, "亲属任职", AT)]
    command = DeclareNoConflict(REVIEW, PREF, PREF_ORG, AT)
    spec(decider).given(*history).when(command).raises(ReviewerRecused)


def test_declaring_the_same_conflict_again_changes_nothing() -> None:
    history = [opened(), ConflictDeclared(REVIEW, CASE, PREF, PREF_ORG, "亲属任职", AT)]
    command = DeclareConflict(REVIEW, "亲属任职", PREF, PREF_ORG, AT)
    spec(decider).given(*history).when(command).then()


# --- separation of duties -----------------------------------------------------------------


def test_the_prefecture_decider_cannot_take_the_provincial_decision() -> None:
    command = Accept(REVIEW, Level.PROVINCE, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(SeparationOfDutiesViolated)


def test_the_ranker_cannot_take_the_national_decision() -> None:
    history = [*AT_NATIONAL, declared(RANKER, NAT_ORG)]
    command = Forward(REVIEW, Level.NATIONAL, RANKER, NAT_ORG, AT)
    spec(decider).given(*history).when(command).raises(SeparationOfDutiesViolated)


def test_the_national_decider_cannot_record_the_leading_group_decision() -> None:
    command = meeting(by=NAT, by_org=NAT_ORG)
    spec(decider).given(*AT_LEADING_GROUP).when(command).raises(SeparationOfDutiesViolated)


def test_whoever_recorded_the_leading_group_decision_cannot_issue_the_approval() -> None:
    spec(decider).given(*AWAITING_APPROVAL).when(issue(by=SEC)).raises(SeparationOfDutiesViolated)


def test_a_decider_two_levels_down_may_decide_again() -> None:
    history = [*AT_NATIONAL, declared(PROV, PROV_ORG)]
    command = Forward(REVIEW, Level.NATIONAL, PROV, PROV_ORG, AT)
    spec(decider).given(*history).when(command).then(
        ForwardedToLeadingGroup(REVIEW, APP, CASE, "", PROV, AT)
    )


def test_the_provincial_decider_may_decide_again_after_a_return_to_the_prefecture() -> None:
    history = [
        *AT_PROVINCE,
        ReturnedToPrefecture(REVIEW, APP, CASE, ("复核",), PROV, AT),
        ForwardedToProvince(REVIEW, APP, CASE, "", PREF2, AT),
    ]
    command = Accept(REVIEW, Level.PROVINCE, PROV, PROV_ORG, AT)
    produced = spec(decider).given(*history).when(command).decided()
    assert [type(e) for e in produced] == [AcceptedAtProvince]


# --- scores -------------------------------------------------------------------------------


def test_a_score_is_recorded_at_the_current_level() -> None:
    command = RecordScore(REVIEW, Level.PROVINCE, "overseas_channels", 85, PROV, PROV_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).then(
        ScoreRecorded(REVIEW, CASE, 1, Level.PROVINCE, PROV, "overseas_channels", 85, AT)
    )


def test_the_previous_level_decider_may_still_score() -> None:
    command = RecordScore(REVIEW, Level.PROVINCE, "support", 70, PREF, PREF_ORG, AT)
    produced = spec(decider).given(*AT_PROVINCE).when(command).decided()
    assert [type(e) for e in produced] == [ScoreRecorded]


@pytest.mark.parametrize(("criterion", "score"), [("c", -1), ("c", 101), ("c", True), (" ", 50)])
def test_a_score_outside_0_to_100_or_without_criterion_is_refused(
    criterion: str, score: int
) -> None:
    command = RecordScore(REVIEW, Level.PREFECTURE, criterion, score, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE).when(command).raises(InvalidScore)


def test_a_score_for_another_level_is_refused() -> None:
    command = RecordScore(REVIEW, Level.PREFECTURE, "c", 50, PREF, PREF_ORG, AT)
    spec(decider).given(*AT_PROVINCE).when(command).raises(LevelMismatch)


def test_the_score_sheet_totals_and_averages_the_latest_scores_of_a_revision() -> None:
    def scored(level: Level, who: str, what: str, n: int, revision: int = 2) -> ScoreRecorded:
        return ScoreRecorded(REVIEW, CASE, revision, level, who, what, n, AT)

    sheet = score_sheet(
        [
            scored(Level.PROVINCE, PROV, "plan", 90, revision=1),  # an earlier revision
            scored(Level.PROVINCE, PROV, "plan", 60),
            scored(Level.PROVINCE, PROV, "plan", 70),  # corrected: the latest counts
            scored(Level.PROVINCE, PROV, "channels", 81),
            scored(Level.PROVINCE, PROV2, "plan", 80),
            scored(Level.PREFECTURE, PREF, "plan", 50),
        ],
        revision=2,
    )
    assert sheet == (
        LevelScores(
            Level.PREFECTURE, ((PREF, 50),), Decimal("50.00"), (("plan", Decimal("50.00")),)
        ),
        LevelScores(
            Level.PROVINCE,
            ((PROV, 151), (PROV2, 80)),
            Decimal("115.50"),
            (("channels", Decimal("81.00")), ("plan", Decimal("75.00"))),
        ),
    )


# --- return, resubmission, withdrawal -----------------------------------------------------

NEW_FILES = (SubmittedFile("support_letter", "支持函v2.pdf", "c" * 64),)


def reopen(revision: int = 2) -> ReopenReview:
    return ReopenReview(REVIEW, revision, "昆明高新区", "e" * 64, NEW_FILES, "system", AT)


def test_a_resubmission_reopens_at_the_prefecture_with_the_new_version() -> None:
    history = [*AT_PROVINCE, returned(Level.PROVINCE, PROV)]
    spec(decider).given(*history).when(reopen()).then(
        ReviewReopened(
            REVIEW, APP, CASE, 2, "昆明高新区", "e" * 64, NEW_FILES, Level.PREFECTURE, AT
        )
    )


def test_a_resubmission_of_a_direct_application_reopens_at_the_province() -> None:
    history = [*AT_PROVINCE_DIRECT, returned(Level.PROVINCE, PROV)]
    spec(decider).given(*history).when(reopen()).then(
        ReviewReopened(REVIEW, APP, CASE, 2, "昆明高新区", "e" * 64, NEW_FILES, Level.PROVINCE, AT)
    )


def test_a_resubmission_delivered_again_changes_nothing() -> None:
    history = [
        *AT_PROVINCE,
        returned(Level.PROVINCE, PROV),
        ReviewReopened(
            REVIEW, APP, CASE, 2, "昆明高新区", "e" * 64, NEW_FILES, Level.PREFECTURE, AT
        ),
    ]
    spec(decider).given(*history).when(reopen()).then()


def test_a_resubmission_of_an_application_not_returned_is_refused() -> None:
    spec(decider).given(*AT_PROVINCE).when(reopen()).raises(NotAwaitingResubmission)


def test_a_returned_application_awaits_its_applicant() -> None:
    history = [*AT_PREFECTURE, returned(Level.PREFECTURE, PREF)]
    command = Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT)
    spec(decider).given(*history).when(command).raises(ReviewNotInProgress)


def test_the_leading_group_must_rely_on_the_resubmitted_version() -> None:
    history = [
        *AT_LEADING_GROUP,
        returned(Level.LEADING_GROUP, SEC),
        ReviewReopened(
            REVIEW, APP, CASE, 2, "昆明高新区", "e" * 64, NEW_FILES, Level.PREFECTURE, AT
        ),
        ForwardedToProvince(REVIEW, APP, CASE, "", PREF, AT),
        AcceptedAtProvince(
            REVIEW, APP, CASE, CALL, Programme.NATIONAL_BASE, "53", UNIT, "", PROV, AT
        ),
        Recommended(REVIEW, APP, CASE, "rk-53", 1, RANKER, AT),
        ForwardedToLeadingGroup(REVIEW, APP, CASE, "", NAT, AT),
    ]
    spec(decider).given(*history).when(meeting()).raises(ReliedOnStaleVersion)
    current = meeting(form_hash="e" * 64, file_hashes=("c" * 64,))
    produced = spec(decider).given(*history).when(current).decided()
    assert [type(e) for e in produced] == [LeadingGroupDecided]


def test_withdrawal_closes_the_review_where_it_stands() -> None:
    command = CloseReview(REVIEW, "单位撤回", "system", AT)
    spec(decider).given(*AWAITING_RECOMMENDATION).when(command).then(
        ReviewClosed(REVIEW, APP, CASE, Level.PROVINCE_RECOMMENDATION, "单位撤回", AT)
    )


def test_withdrawal_of_a_returned_application_closes_its_review() -> None:
    history = [*AT_PREFECTURE, returned(Level.PREFECTURE, PREF)]
    command = CloseReview(REVIEW, "单位撤回", "system", AT)
    spec(decider).given(*history).when(command).then(
        ReviewClosed(REVIEW, APP, CASE, None, "单位撤回", AT)
    )


def test_withdrawal_delivered_again_changes_nothing() -> None:
    history = [*AT_PREFECTURE, ReviewClosed(REVIEW, APP, CASE, Level.PREFECTURE, "撤回", AT)]
    spec(decider).given(*history).when(CloseReview(REVIEW, "撤回", "system", AT)).then()


@pytest.mark.parametrize(
    "outcome",
    [rejected(Level.PREFECTURE, PREF), designated(date(2022, 5, 10), date(2027, 5, 9))],
    ids=["rejected", "designated"],
)
def test_withdrawal_cannot_undo_a_final_outcome(outcome: ReviewEvent) -> None:
    history = [*AWAITING_APPROVAL, outcome]
    spec(decider).given(*history).when(CloseReview(REVIEW, "撤回", "system", AT)).raises(
        ReviewConcluded
    )


@pytest.mark.parametrize(
    "last",
    [
        ReviewClosed(REVIEW, APP, CASE, Level.PREFECTURE, "撤回", AT),
        rejected(Level.PREFECTURE, PREF),
    ],
    ids=["closed", "rejected"],
)
def test_a_concluded_review_takes_no_more_decisions(last: ReviewEvent) -> None:
    command = DeclareNoConflict(REVIEW, PREF2, PREF_ORG, AT)
    spec(decider).given(*AT_PREFECTURE, last).when(command).raises(ReviewNotInProgress)


# --- whole journeys -----------------------------------------------------------------------


def climb(route: Route) -> object:
    """Run every decision of a successful case through decide and evolve."""
    steps: list[Any] = [open_review(route)]
    if route is Route.VIA_PREFECTURE:
        steps += [
            DeclareNoConflict(REVIEW, PREF, PREF_ORG, AT),
            Forward(REVIEW, Level.PREFECTURE, PREF, PREF_ORG, AT),
        ]
    steps += [
        DeclareNoConflict(REVIEW, PROV, PROV_ORG, AT),
        RecordScore(REVIEW, Level.PROVINCE, "overseas_channels", 88, PROV, PROV_ORG, AT),
        Accept(REVIEW, Level.PROVINCE, PROV, PROV_ORG, AT),
        RecordRecommended(REVIEW, Level.PROVINCE_RECOMMENDATION, "rk", 1, RANKER, AT),
        DeclareNoConflict(REVIEW, NAT, NAT_ORG, AT),
        Forward(REVIEW, Level.NATIONAL, NAT, NAT_ORG, AT),
        DeclareNoConflict(REVIEW, SEC, LG_ORG, AT),
        meeting(),
        DeclareNoConflict(REVIEW, OFFICE, GO_ORG, AT),
        issue(),
    ]
    state = decider.initial_state()
    for step in steps:
        state = decider.fold(decider.decide(step, state), state)
    return state


@pytest.mark.parametrize("route", list(Route))
def test_both_routes_climb_every_level_to_the_plaque(route: Route) -> None:
    state = climb(route)
    assert isinstance(state, Designated)
    assert state.base_id == "base-1"
    assert state.dossier.route is route


# --- the published contracts (docs/contracts.md) ------------------------------------------

CONTRACT_FIELDS = {
    ApplicationReturned: {"review_id", "application_id", "case_id", "level", "reasons"},
    ApplicationRejected: {"review_id", "application_id", "case_id", "level", "reasons"},
    BaseDesignated: {
        "review_id",
        "application_id",
        "case_id",
        "base_id",
        "programme",
        "call_id",
        "call_opened_on",
        "unit_id",
        "unit_name",
        "province",
        "jurisdiction",
        "approval_no",
        "certificate_no",
        "plaque_name",
        "approved_on",
        "term_start",
        "term_end",
        "policy_version",
    },
    ev.RenewalAssessmentRequested: {"renewal_id", "case_id", "base_id"},
    ev.RenewalGranted: {
        "renewal_id",
        "case_id",
        "base_id",
        "certificate_no",
        "term_start",
        "term_end",
        "policy_version",
    },
    ev.RenewalRefused: {"renewal_id", "case_id", "base_id", "reasons", "refused_on"},
    ev.RenewalReturned: {"renewal_id", "case_id", "base_id", "reasons"},
    ev.WorkstationDesignated: {
        "review_id",
        "application_id",
        "case_id",
        "station_id",
        "programme",
        "call_id",
        "call_opened_on",
        "unit_id",
        "unit_name",
        "province",
        "jurisdiction",
        "certificate_no",
        "approved_on",
        "policy_version",
    },
}


@pytest.mark.parametrize("event", list(CONTRACT_FIELDS), ids=lambda e: e.__name__)
def test_integration_events_carry_the_contract_fields(event: type) -> None:
    fields = {f.name for f in dataclasses.fields(event)}
    assert CONTRACT_FIELDS[event] <= fields


def test_every_event_of_every_aggregate_is_registered() -> None:
    unions = (ev.ReviewEvent, ev.RankingEvent, ev.RenewalEvent, ev.RegisterEvent, ev.StandingEvent)
    every = {member for union in unions for member in typing.get_args(union) or (union,)}
    every.add(DocumentIssued)  # the documents' aggregate (shared.issuance)
    assert every == set(ev.EVENTS)
    assert len(ev.EVENTS) == len(set(ev.EVENTS))
