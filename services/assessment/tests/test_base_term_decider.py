"""The term (Art. 14): renewal window, renewal and expiry (renewal requests, renewal pending
and the renewal assessment: test_base_renewal_decider)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    ExpireBase,
    OpenRenewalWindow,
    RenewTerm,
)
from services.assessment.domain.errors import InvalidTerm, RenewalWindowNotYetOpen, TermNotEnded
from services.assessment.domain.events import (
    BaseExpired,
    ExpiryReason,
    RenewalWindowOpened,
    TermRenewed,
)
from services.assessment.tests.examples import (
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    cst,
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


def ended(expired_on: date, term_end: date) -> BaseExpired:
    return BaseExpired(BASE_ID, CASE_ID, expired_on, term_end, ExpiryReason.TERM_ENDED, "2022.1")


def open_window(at: datetime) -> OpenRenewalWindow:
    return OpenRenewalWindow(BASE_ID, POLICY, at, "scheduler")


def expire(at: datetime) -> ExpireBase:
    return ExpireBase(BASE_ID, at, "scheduler")


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


# --- renewal and expiry ---------------------------------------------------------------------


def test_a_granted_renewal_starts_a_new_term() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(RENEW).then(RENEWED)


def test_a_redelivered_renewal_decides_nothing() -> None:
    spec(decider).given(REGISTERED, WINDOW, RENEWED).when(RENEW).then()


def test_a_renewed_term_starts_the_day_after_the_current_one_ends() -> None:
    overlapping = replace(RENEW, term_start=date(2022, 6, 15), term_end=date(2027, 6, 14))
    spec(decider).given(REGISTERED, WINDOW).when(overlapping).raises(InvalidTerm)
    with_a_gap = replace(RENEW, term_start=date(2027, 7, 1), term_end=date(2032, 6, 30))
    spec(decider).given(REGISTERED, WINDOW).when(with_a_gap).raises(InvalidTerm)


def test_a_renewed_term_must_end_after_it_starts() -> None:
    command = replace(RENEW, term_end=date(2027, 6, 1))
    spec(decider).given(REGISTERED, WINDOW).when(command).raises(InvalidTerm)


def test_the_base_expires_only_after_its_last_day_in_beijing() -> None:
    on_last_day = expire(cst(2027, 6, 14, 23, 59))
    spec(decider).given(REGISTERED, WINDOW).when(on_last_day).raises(TermNotEnded)
    spec(decider).given(REGISTERED, WINDOW).when(expire(cst(2027, 6, 15, 0, 0))).then(
        ended(date(2027, 6, 15), date(2027, 6, 14))
    )


def test_a_late_scheduler_still_expires_the_base_on_the_day_after_the_term() -> None:
    spec(decider).given(REGISTERED, WINDOW).when(expire(cst(2027, 7, 3, 8, 0))).then(
        ended(date(2027, 6, 15), date(2027, 6, 14))
    )


def test_renewal_resets_the_term() -> None:
    history = (REGISTERED, WINDOW, RENEWED)
    spec(decider).given(*history).when(expire(cst(2027, 6, 15, 0, 0))).raises(TermNotEnded)
    spec(decider).given(*history).when(expire(cst(2032, 6, 14, 23, 59))).raises(TermNotEnded)
    spec(decider).given(*history).when(expire(cst(2032, 6, 15, 0, 0))).then(
        ended(date(2032, 6, 15), date(2032, 6, 14))
    )
