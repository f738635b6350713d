"""The term (Art. 14): renewal window, renewal assessment, renewal and expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    AssessRenewal,
    ExpireBase,
    OpenRenewalWindow,
    RenewTerm,
)
from services.assessment.domain.errors import InvalidTerm, RenewalWindowNotYetOpen, TermNotEnded
from services.assessment.domain.events import (
    BaseEvent,
    BaseExpired,
    BaseRevoked,
    RectificationAccepted,
    RectificationReportFiled,
    RenewalAssessed,
    RenewalObstacle,
    RenewalWindowOpened,
    RevocationProposed,
    TermRenewed,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    cst,
    final_year,
)
from shared.testkit.spec import spec

WINDOW = RenewalWindowOpened(
    BASE_ID, CASE_ID, date(2027, 3, 17), date(2027, 6, 14), date(2027, 6, 14), "2022.1"
)
RENEWED = TermRenewed(
    BASE_ID, CASE_ID, "renewal-1", "HZ-2027-009", date(2027, 6, 15), date(2032, 6, 14), "2022.1"
)
RENEW = RenewTerm(
    BASE_ID,
    "renewal-1",
    "HZ-2027-009",
    date(2027, 6, 15),
    date(2032, 6, 14),
    "2022.1",
    cst(2027, 6, 1),
    "consumer:review",
)

RECTIFIED_2026 = (
    RectificationReportFiled(
        BASE_ID,
        CASE_ID,
        "rect-2026",
        2026,
        date(2027, 4, 1),
        False,
        "Done.",
        ATTACHMENTS,
        "2022.1",
    ),
    RectificationAccepted(BASE_ID, CASE_ID, "rect-2026", 2026, date(2027, 4, 10), "2022.1"),
)


def open_window(at: datetime) -> OpenRenewalWindow:
    return OpenRenewalWindow(BASE_ID, POLICY, at, "scheduler")


def expire(at: datetime) -> ExpireBase:
    return ExpireBase(BASE_ID, at, "scheduler")


def assess(renewal_id: str = "renewal-1") -> AssessRenewal:
    return AssessRenewal(BASE_ID, renewal_id, POLICY, cst(2027, 4, 20), "consumer:review")


def assessed(*reasons: RenewalObstacle) -> RenewalAssessed:
    return RenewalAssessed(BASE_ID, CASE_ID, "renewal-1", not reasons, reasons, "2022.1")


# --- the renewal window ---------------------------------------------------------------------


def test_the_renewal_window_opens_exactly_90_days_before_the_term_ends() -> None:
    # 17 March .. 14 June 2027 is 90 days, the last day of the term included.
    spec(decider).given(REGISTERED).when(open_window(cst(2027, 3, 17, 0))).then(WINDOW)


def test_the_renewal_window_is_not_open_91_days_before_the_end() -> None:
    command = open_window(cst(2027, 3, 16, 23))
    spec(decider).given(REGISTERED).when(command).raises(RenewalWindowNotYetOpen)


def test_opening_the_window_again_decides_nothing() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(open_window(cst(2027, 3, 18, 0))).then()


def test_a_renewed_term_gets_its_own_window() -> None:
    command = open_window(cst(2032, 3, 17, 9))
    spec(decider).given(REGISTERED, WINDOW, RENEWED).when(command).then(
        RenewalWindowOpened(
            BASE_ID, CASE_ID, date(2032, 3, 17), date(2032, 6, 14), date(2032, 6, 14), "2022.1"
        )
    )


# --- the renewal assessment -----------------------------------------------------------------


def test_an_active_base_in_good_standing_is_qualified_for_renewal() -> None:
    history = (REGISTERED, *final_year(2025, Grade.QUALIFIED), *final_year(2026, Grade.EXCELLENT))
    spec(decider).given(*history, WINDOW).when(assess()).then(assessed())


def test_a_base_without_any_final_grade_is_qualified_for_renewal() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(assess()).then(assessed())


def test_a_base_under_a_revocation_proposal_is_not_qualified() -> None:
    history: tuple[BaseEvent, ...] = (
        REGISTERED,
        *final_year(2025, Grade.UNQUALIFIED),
        *final_year(2026, Grade.UNQUALIFIED),
        RevocationProposed(BASE_ID, CASE_ID, (2025, 2026), date(2027, 3, 10), "2022.1"),
    )
    spec(decider).given(*history, WINDOW).when(assess()).then(
        assessed(RenewalObstacle.REVOCATION_PROPOSED, RenewalObstacle.RECTIFICATION_OUTSTANDING)
    )


def test_a_latest_unqualified_year_not_yet_rectified_is_not_qualified() -> None:
    history = (REGISTERED, *final_year(2026, Grade.UNQUALIFIED), WINDOW)
    spec(decider).given(*history).when(assess()).then(
        assessed(RenewalObstacle.RECTIFICATION_OUTSTANDING)
    )


def test_a_latest_unqualified_year_with_an_accepted_rectification_is_qualified() -> None:
    history = (REGISTERED, *final_year(2026, Grade.UNQUALIFIED), *RECTIFIED_2026, WINDOW)
    spec(decider).given(*history).when(assess()).then(assessed())


def test_an_older_unrectified_year_does_not_count_after_a_qualified_one() -> None:
    history = (
        REGISTERED,
        *final_year(2025, Grade.UNQUALIFIED),
        *final_year(2026, Grade.QUALIFIED),
        WINDOW,
    )
    spec(decider).given(*history).when(assess()).then(assessed())


def test_only_the_latest_year_s_rectification_counts() -> None:
    history = (
        REGISTERED,
        *final_year(2024, Grade.UNQUALIFIED),  # never rectified
        *final_year(2025, Grade.QUALIFIED),
        *final_year(2026, Grade.UNQUALIFIED),
        *RECTIFIED_2026,
        WINDOW,
    )
    spec(decider).given(*history).when(assess()).then(assessed())


def test_a_revoked_base_is_answered_not_qualified() -> None:
    revoked = BaseRevoked(BASE_ID, CASE_ID, date(2027, 4, 1), (2025, 2026), "LG-1", "2022.1")
    spec(decider).given(REGISTERED, WINDOW, revoked).when(assess()).then(
        assessed(RenewalObstacle.BASE_REVOKED)
    )


def test_an_expired_base_is_answered_not_qualified() -> None:
    expired = BaseExpired(BASE_ID, CASE_ID, date(2027, 6, 15), date(2027, 6, 14), "2022.1")
    spec(decider).given(REGISTERED, WINDOW, expired).when(assess()).then(
        assessed(RenewalObstacle.BASE_EXPIRED)
    )


def test_the_same_renewal_is_assessed_once() -> None:
    spec(decider).given(REGISTERED, WINDOW, assessed()).when(assess()).then()


def test_a_new_renewal_request_is_assessed_afresh() -> None:
    command = assess("renewal-2")
    spec(decider).given(REGISTERED, WINDOW, assessed()).when(command).then(
        replace(assessed(), renewal_id="renewal-2")
    )


# --- renewal and expiry ---------------------------------------------------------------------


def test_a_granted_renewal_starts_a_new_term() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(RENEW).then(RENEWED)


def test_a_redelivered_renewal_decides_nothing() -> None:
    spec(decider).given(REGISTERED, WINDOW, RENEWED).when(RENEW).then()


def test_a_renewed_term_must_end_after_the_current_one() -> None:
    command = replace(RENEW, term_start=date(2022, 6, 15), term_end=date(2027, 6, 14))
    spec(decider).given(REGISTERED, WINDOW).when(command).raises(InvalidTerm)


def test_a_renewed_term_must_end_after_it_starts() -> None:
    command = replace(RENEW, term_start=date(2033, 1, 1))
    spec(decider).given(REGISTERED, WINDOW).when(command).raises(InvalidTerm)


def test_the_base_expires_only_after_its_last_day_in_beijing() -> None:
    on_last_day = expire(cst(2027, 6, 14, 23, 59))
    spec(decider).given(REGISTERED, WINDOW).when(on_last_day).raises(TermNotEnded)
    spec(decider).given(REGISTERED, WINDOW).when(expire(cst(2027, 6, 15, 0, 0))).then(
        BaseExpired(BASE_ID, CASE_ID, date(2027, 6, 15), date(2027, 6, 14), "2022.1")
    )


def test_a_late_scheduler_still_expires_the_base_on_the_day_after_the_term() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(expire(cst(2027, 7, 3, 8, 0))).then(
        BaseExpired(BASE_ID, CASE_ID, date(2027, 6, 15), date(2027, 6, 14), "2022.1")
    )


def test_renewal_resets_the_term() -> None:
    history = (REGISTERED, WINDOW, RENEWED)
    spec(decider).given(*history).when(expire(cst(2027, 6, 15, 0, 0))).raises(TermNotEnded)
    spec(decider).given(*history).when(expire(cst(2032, 6, 14, 23, 59))).raises(TermNotEnded)
    spec(decider).given(*history).when(expire(cst(2032, 6, 15, 0, 0))).then(
        BaseExpired(BASE_ID, CASE_ID, date(2032, 6, 15), date(2032, 6, 14), "2022.1")
    )
