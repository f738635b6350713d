"""Renewal (Art. 14 and our decisions): a request filed in the window keeps the base designated
past its term end until review decides; a grant continues the term; a refusal or a withdrawal
after the term end ends the base that day; the national department assesses the renewal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    AssessRenewal,
    ExpireBase,
    OpenRenewalAssessment,
    RecordRenewalRequest,
    RefuseRenewal,
    RenewTerm,
    WithdrawRenewalRequest,
)
from services.assessment.domain.errors import (
    RenewalAlreadyAssessed,
    RenewalAlreadyRequested,
    RenewalAssessmentNotRequested,
    RenewalForAnotherTerm,
    RenewalReasonsRequired,
    RenewalRequestedAfterTerm,
)
from services.assessment.domain.events import (
    BaseExpired,
    BaseRevoked,
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
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    TERM_END,
    USER,
    cst,
    final_year,
)
from shared.testkit.spec import spec

R = "renewal-1"
WINDOW = RenewalWindowOpened(BASE_ID, CASE_ID, date(2027, 3, 17), TERM_END, TERM_END, "2022.1")
REQUESTED = RenewalRequestRecorded(BASE_ID, CASE_ID, R, TERM_END, date(2027, 4, 2))
PENDING = RenewalPendingPastTerm(BASE_ID, CASE_ID, R, TERM_END)
IN_THE_WINDOW = (REGISTERED, WINDOW, REQUESTED)
PAST_THE_TERM = (*IN_THE_WINDOW, PENDING)


def request(renewal_id: str = R, on: date = date(2027, 4, 2)) -> RecordRenewalRequest:
    return RecordRenewalRequest(BASE_ID, renewal_id, TERM_END, on, cst(2027, 4, 2), USER)


def expired(on: date, reason: ExpiryReason) -> BaseExpired:
    return BaseExpired(BASE_ID, CASE_ID, on, TERM_END, reason, "2022.1")


def refuse(on: date) -> RefuseRenewal:
    return RefuseRenewal(BASE_ID, R, on, cst(on.year, on.month, on.day), USER)


def withdraw(on: date) -> WithdrawRenewalRequest:
    return WithdrawRenewalRequest(BASE_ID, R, on, cst(on.year, on.month, on.day), USER)


def grant(on: date) -> RenewTerm:
    at = cst(on.year, on.month, on.day)
    return RenewTerm(
        BASE_ID, R, "HZJD-2027-9", date(2027, 6, 15), date(2032, 6, 14), "2022.1", at, USER
    )


RENEWED = TermRenewed(
    BASE_ID, CASE_ID, R, "HZJD-2027-9", date(2027, 6, 15), date(2032, 6, 14), "2022.1"
)


# --- the unit's request ----------------------------------------------------------------------


def test_a_request_filed_in_the_window_is_recorded() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(request()).then(REQUESTED)


def test_a_redelivered_request_decides_nothing() -> None:
    spec(decider).given(*IN_THE_WINDOW).when(request()).then()


def test_a_second_request_for_the_same_term_is_an_inconsistency() -> None:
    spec(decider).given(*IN_THE_WINDOW).when(request("renewal-2")).raises(RenewalAlreadyRequested)


def test_a_request_for_another_term_is_refused() -> None:
    command = replace(request(), term_end=date(2032, 6, 14))
    spec(decider).given(REGISTERED, WINDOW).when(command).raises(RenewalForAnotherTerm)


def test_a_request_filed_after_the_term_ended_is_refused() -> None:
    command = request(on=date(2027, 6, 15))
    spec(decider).given(REGISTERED, WINDOW).when(command).raises(RenewalRequestedAfterTerm)


# --- the term end ------------------------------------------------------------------------------


def test_at_the_term_end_an_open_request_keeps_the_base_renewal_pending() -> None:
    command = ExpireBase(BASE_ID, cst(2027, 6, 15, 0, 0), "scheduler")
    spec(decider).given(*IN_THE_WINDOW).when(command).then(PENDING)


def test_a_pending_base_is_not_expired_by_the_clock() -> None:
    command = ExpireBase(BASE_ID, cst(2027, 9, 1), "scheduler")
    spec(decider).given(*PAST_THE_TERM).when(command).then()


# --- review's decision ---------------------------------------------------------------------------


def test_a_grant_after_the_term_end_gives_a_continuous_new_term() -> None:
    spec(decider).given(*PAST_THE_TERM).when(grant(date(2027, 7, 20))).then(RENEWED)


def test_a_grant_before_the_term_end_gives_the_same_continuous_term() -> None:
    spec(decider).given(*IN_THE_WINDOW).when(grant(date(2027, 5, 20))).then(RENEWED)


def test_after_a_grant_the_base_expires_at_the_new_term_s_end_only() -> None:
    history = (*PAST_THE_TERM, RENEWED)
    command = ExpireBase(BASE_ID, cst(2032, 6, 15, 0, 0), "scheduler")
    spec(decider).given(*history).when(command).then(
        BaseExpired(
            BASE_ID,
            CASE_ID,
            date(2032, 6, 15),
            date(2032, 6, 14),
            ExpiryReason.TERM_ENDED,
            "2022.1",
        )
    )


def test_a_refusal_after_the_term_end_ends_the_base_on_the_day_of_the_decision() -> None:
    spec(decider).given(*PAST_THE_TERM).when(refuse(date(2027, 7, 20))).then(
        expired(date(2027, 7, 20), ExpiryReason.RENEWAL_REFUSED)
    )


def test_a_refusal_after_the_term_end_ends_the_base_even_before_the_clock_noticed() -> None:
    spec(decider).given(*IN_THE_WINDOW).when(refuse(date(2027, 6, 20))).then(
        expired(date(2027, 6, 20), ExpiryReason.RENEWAL_REFUSED)
    )


def test_a_refusal_within_the_term_lets_the_base_live_to_its_term_end() -> None:
    refused = RenewalRefusalRecorded(BASE_ID, CASE_ID, R, date(2027, 5, 20))
    spec(decider).given(*IN_THE_WINDOW).when(refuse(date(2027, 5, 20))).then(refused)
    end = ExpireBase(BASE_ID, cst(2027, 6, 15, 0, 0), "scheduler")
    spec(decider).given(*IN_THE_WINDOW, refused).when(end).then(
        expired(date(2027, 6, 15), ExpiryReason.TERM_ENDED)
    )


def test_a_refusal_of_a_request_the_base_does_not_hold_changes_nothing() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(refuse(date(2027, 5, 20))).then()


def test_a_withdrawal_after_the_term_end_ends_the_base_that_day() -> None:
    spec(decider).given(*PAST_THE_TERM).when(withdraw(date(2027, 7, 1))).then(
        expired(date(2027, 7, 1), ExpiryReason.RENEWAL_WITHDRAWN)
    )


def test_a_withdrawal_within_the_term_lets_the_base_expire_at_its_term_end() -> None:
    withdrawn = RenewalRequestWithdrawalRecorded(BASE_ID, CASE_ID, R, date(2027, 5, 1))
    spec(decider).given(*IN_THE_WINDOW).when(withdraw(date(2027, 5, 1))).then(withdrawn)
    end = ExpireBase(BASE_ID, cst(2027, 6, 15, 0, 0), "scheduler")
    spec(decider).given(*IN_THE_WINDOW, withdrawn).when(end).then(
        expired(date(2027, 6, 15), ExpiryReason.TERM_ENDED)
    )


# --- the renewal assessment: the national department's step -------------------------------------


def open_assessment(renewal_id: str = R) -> OpenRenewalAssessment:
    return OpenRenewalAssessment(BASE_ID, renewal_id, POLICY, cst(2027, 4, 20), "consumer:review")


OPENED = RenewalAssessmentOpened(BASE_ID, CASE_ID, R, date(2027, 4, 20))


def assess(qualified: bool, *reasons: str) -> AssessRenewal:
    return AssessRenewal(BASE_ID, R, qualified, reasons, POLICY, cst(2027, 5, 10), "liaison-dept")


def assessed(qualified: bool, reasons: tuple[str, ...], *grades: TermGrade) -> RenewalAssessed:
    return RenewalAssessed(
        BASE_ID, CASE_ID, R, qualified, reasons, grades, date(2027, 5, 10), "2022.1"
    )


def test_review_s_request_opens_an_assessment_for_the_department_and_answers_nothing_yet() -> None:
    spec(decider).given(*IN_THE_WINDOW).when(open_assessment()).then(OPENED)


def test_a_redelivered_request_for_the_assessment_decides_nothing() -> None:
    spec(decider).given(*IN_THE_WINDOW, OPENED).when(open_assessment()).then()


def test_the_department_assesses_with_its_reasons_and_the_term_s_grades_as_evidence() -> None:
    history = (
        REGISTERED,
        *final_year(2022, Grade.QUALIFIED),
        *final_year(2023, Grade.EXCELLENT),
        *final_year(2024, Grade.UNQUALIFIED),
        WINDOW,
        REQUESTED,
        OPENED,
    )
    command = assess(True, "  Rectified 2024; four good years.  ")
    spec(decider).given(*history).when(command).then(
        assessed(
            True,
            ("Rectified 2024; four good years.",),
            TermGrade(2022, Grade.QUALIFIED),
            TermGrade(2023, Grade.EXCELLENT),
            TermGrade(2024, Grade.UNQUALIFIED),
        )
    )


def test_the_department_may_find_a_base_not_qualified() -> None:
    history = (*IN_THE_WINDOW, OPENED)
    spec(decider).given(*history).when(assess(False, "No annual reports.")).then(
        assessed(False, ("No annual reports.",))
    )


def test_an_assessment_states_its_reasons() -> None:
    history = (*IN_THE_WINDOW, OPENED)
    spec(decider).given(*history).when(assess(True)).raises(RenewalReasonsRequired)
    spec(decider).given(*history).when(assess(True, " ")).raises(RenewalReasonsRequired)


def test_a_renewal_review_never_asked_about_cannot_be_assessed() -> None:
    error = (
        spec(decider)
        .given(*IN_THE_WINDOW)
        .when(assess(True, "ok"))
        .raises(RenewalAssessmentNotRequested)
    )
    assert error.status == 404


def test_an_assessment_is_final_and_a_repeat_decides_nothing() -> None:
    history = (*IN_THE_WINDOW, OPENED, assessed(True, ("ok",)))
    spec(decider).given(*history).when(assess(True, "ok")).then()
    spec(decider).given(*history).when(assess(False, "no")).raises(RenewalAlreadyAssessed)


def test_a_base_pending_past_its_term_is_still_assessed() -> None:
    history = (*PAST_THE_TERM, OPENED)
    spec(decider).given(*history).when(assess(True, "ok")).then(assessed(True, ("ok",)))


def test_a_revoked_base_is_answered_at_once_not_qualified() -> None:
    revoked = BaseRevoked(BASE_ID, CASE_ID, date(2027, 4, 1), (2025, 2026), "LG-1", "2022.1")
    spec(decider).given(REGISTERED, WINDOW, revoked).when(open_assessment()).then(
        RenewalAssessed(
            BASE_ID,
            CASE_ID,
            R,
            False,
            ("基地已被撤销 / the base has been revoked",),
            (),
            date(2027, 4, 20),
            "2022.1",
        )
    )


def test_an_expired_base_is_answered_at_once_not_qualified_and_once_only() -> None:
    ended = expired(date(2027, 6, 15), ExpiryReason.TERM_ENDED)
    answer = RenewalAssessed(
        BASE_ID,
        CASE_ID,
        R,
        False,
        ("基地已终止 / the base's designation has ended",),
        (),
        date(2027, 4, 20),
        "2022.1",
    )
    spec(decider).given(REGISTERED, ended).when(open_assessment()).then(answer)
    spec(decider).given(REGISTERED, ended, answer).when(open_assessment()).then()
