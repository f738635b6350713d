"""Specifications of a provincial work station's review (Notice §5(3)): its own chain, ending
with the provincial CAST's decision and a certificate of the province's series."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.review.domain.commands import (
    Accept,
    CloseReview,
    DesignateWorkstation,
    Forward,
    IssueApproval,
    RecordRecommended,
    Reject,
    ReturnToApplicant,
    ReviewCommand,
)
from services.review.domain.errors import (
    ConflictDeclarationMissing,
    DecisionNotAllowedAtLevel,
    LevelMismatch,
    ReviewConcluded,
    ReviewNotInProgress,
    SeparationOfDutiesViolated,
    WorkstationSeriesMissing,
)
from services.review.domain.events import (
    AcceptedAtProvince,
    ApplicationRejected,
    ApplicationReturned,
    ForwardedToProvince,
    Level,
    NoConflictDeclared,
    Programme,
    ReviewClosed,
    ReviewEvent,
    ReviewOpened,
    Route,
    SubmittedFile,
    WorkstationDesignated,
)
from services.review.domain.policy import DesignationPolicy, WorkstationPolicy
from services.review.domain.review import decider
from services.review.domain.review_stages import (
    AwaitingProvincialDecision,
    WorkstationApproved,
)
from shared.testkit.spec import spec

AT = datetime(2022, 9, 1, 2, 0, tzinfo=UTC)
REVIEW, APP, CASE, CALL = "rv-ws", "app-ws", "case-ws", "call-53-2022"
UNIT, OPENED_ON = "unit-kmu", date(2022, 4, 1)
FILES = (SubmittedFile("support_letter", "支持函.pdf", "a" * 64),)
YUNNAN = WorkstationPolicy("53-2022.1", "云海智站")
PREF, PREF_ORG = "u-pref", "cast-km"
PROV, PROV_ORG = "u-prov", "cast-yn"  # provincial intake
HEAD = "u-prov-head"  # the provincial CAST's decision: another officer


def opened(route: Route = Route.VIA_PREFECTURE) -> ReviewOpened:
    first = Level.PREFECTURE if route is Route.VIA_PREFECTURE else Level.PROVINCE
    return ReviewOpened(
        REVIEW,
        APP,
        CASE,
        CALL,
        Programme.PROVINCIAL_WORKSTATION,
        UNIT,
        "昆明学院",
        "53",
        "530100",
        route,
        1,
        "f" * 64,
        FILES,
        first,
        AT,
        OPENED_ON,
    )


def declared(who: str, org: str = PROV_ORG) -> NoConflictDeclared:
    return NoConflictDeclared(REVIEW, CASE, who, org, AT)


AT_PROVINCE: list[ReviewEvent] = [
    opened(),
    declared(PREF, PREF_ORG),
    ForwardedToProvince(REVIEW, APP, CASE, "同意", PREF, AT),
    declared(PROV),
]
ACCEPTED = AcceptedAtProvince(
    REVIEW, APP, CASE, CALL, Programme.PROVINCIAL_WORKSTATION, "53", UNIT, "材料齐全", PROV, AT
)
AWAITING_DECISION: list[ReviewEvent] = [*AT_PROVINCE, ACCEPTED, declared(HEAD)]


def designate(
    policy: WorkstationPolicy | None = YUNNAN, by: str = HEAD, at: datetime = AT
) -> DesignateWorkstation:
    return DesignateWorkstation(
        REVIEW,
        Level.PROVINCIAL_DECISION,
        "st-1",
        "云海智站-2022-001" if policy else "",
        policy,
        by,
        PROV_ORG,
        at,
        opinion="同意设立",
    )


def test_provincial_intake_sends_a_station_to_the_provincial_decision_not_the_ranking() -> None:
    command = Accept(REVIEW, Level.PROVINCE, PROV, PROV_ORG, AT, "材料齐全")
    spec(decider).given(*AT_PROVINCE).when(command).then(ACCEPTED)
    state = decider.fold([ACCEPTED], decider.fold(AT_PROVINCE, decider.initial_state()))
    assert isinstance(state, AwaitingProvincialDecision)


def test_the_provincial_cast_designates_the_station_under_its_own_series() -> None:
    spec(decider).given(*AWAITING_DECISION).when(designate()).then(
        WorkstationDesignated(
            review_id=REVIEW,
            application_id=APP,
            case_id=CASE,
            station_id="st-1",
            programme=Programme.PROVINCIAL_WORKSTATION,
            call_id=CALL,
            call_opened_on=OPENED_ON,
            unit_id=UNIT,
            unit_name="昆明学院",
            province="53",
            jurisdiction="530100",
            certificate_no="云海智站-2022-001",
            approved_on=date(2022, 9, 1),
            policy_version="53-2022.1",
            opinion="同意设立",
            by=HEAD,
            at=AT,
        )
    )


def test_the_approval_date_of_a_station_is_the_day_in_beijing() -> None:
    late = datetime(2022, 12, 31, 17, 0, tzinfo=UTC)
    (event,) = spec(decider).given(*AWAITING_DECISION).when(designate(at=late)).decided()
    assert isinstance(event, WorkstationDesignated)
    assert event.approved_on == date(2023, 1, 1)


def test_a_province_without_a_station_series_cannot_designate_one() -> None:
    spec(decider).given(*AWAITING_DECISION).when(designate(None)).raises(WorkstationSeriesMissing)


def test_the_provincial_cast_returns_a_station_to_the_applicant() -> None:
    command = ReturnToApplicant(
        REVIEW, Level.PROVINCIAL_DECISION, ("补充海外合作协议",), HEAD, PROV_ORG, AT
    )
    spec(decider).given(*AWAITING_DECISION).when(command).then(
        ApplicationReturned(
            REVIEW, APP, CASE, Level.PROVINCIAL_DECISION, ("补充海外合作协议",), HEAD, AT
        )
    )


def test_the_provincial_cast_rejects_a_station() -> None:
    command = Reject(REVIEW, Level.PROVINCIAL_DECISION, ("无海外渠道",), HEAD, PROV_ORG, AT)
    spec(decider).given(*AWAITING_DECISION).when(command).then(
        ApplicationRejected(REVIEW, APP, CASE, Level.PROVINCIAL_DECISION, ("无海外渠道",), HEAD, AT)
    )


def test_the_intake_officer_cannot_also_decide_the_station() -> None:
    spec(decider).given(*AWAITING_DECISION).when(designate(by=PROV)).raises(
        SeparationOfDutiesViolated
    )


def test_an_undeclared_officer_cannot_decide_the_station() -> None:
    spec(decider).given(*AT_PROVINCE, ACCEPTED).when(designate()).raises(ConflictDeclarationMissing)


@pytest.mark.parametrize(
    "command",
    [
        RecordRecommended(REVIEW, Level.PROVINCE_RECOMMENDATION, "rk", 1, "u-ranker", AT),
        Forward(REVIEW, Level.NATIONAL, "u-nat", "cast-ild", AT),
        IssueApproval(
            REVIEW,
            Level.GENERAL_OFFICE,
            "base-1",
            "科协办函",
            "HZJD-2022-0001",
            DesignationPolicy("2022.1", 5, "中国科协海智计划工作基地"),
            "u-office",
            "cast-go",
            AT,
        ),
    ],
    ids=["ranking", "national", "national-plaque"],
)
def test_a_station_never_reaches_the_ranking_or_a_national_level(command: ReviewCommand) -> None:
    spec(decider).given(*AWAITING_DECISION).when(command).raises(LevelMismatch)


def test_a_national_base_cannot_be_designated_as_a_station() -> None:
    national = AcceptedAtProvince(
        REVIEW, APP, CASE, CALL, Programme.NATIONAL_BASE, "53", UNIT, "", PROV, AT
    )
    history = [*AT_PROVINCE, national, declared(HEAD)]
    spec(decider).given(*history).when(designate()).raises(LevelMismatch)


def test_the_station_decision_is_not_taken_at_intake() -> None:
    command = DesignateWorkstation(
        REVIEW, Level.PROVINCE, "st-1", "云海智站-2022-001", YUNNAN, PROV, PROV_ORG, AT
    )
    spec(decider).given(*AT_PROVINCE).when(command).raises(DecisionNotAllowedAtLevel)


def test_a_designated_station_is_final() -> None:
    (event,) = spec(decider).given(*AWAITING_DECISION).when(designate()).decided()
    state = decider.fold([event], decider.fold(AWAITING_DECISION, decider.initial_state()))
    assert isinstance(state, WorkstationApproved)
    assert state.station_id == "st-1"
    spec(decider).given(*AWAITING_DECISION, event).when(designate()).raises(ReviewNotInProgress)
    withdraw = CloseReview(REVIEW, "withdrawn", "system", AT)
    spec(decider).given(*AWAITING_DECISION, event).when(withdraw).raises(ReviewConcluded)


def test_a_station_withdrawn_while_awaiting_the_decision_closes_there() -> None:
    withdraw = CloseReview(REVIEW, "withdrawn", "system", AT)
    spec(decider).given(*AWAITING_DECISION).when(withdraw).then(
        ReviewClosed(REVIEW, APP, CASE, Level.PROVINCIAL_DECISION, "withdrawn", AT)
    )
