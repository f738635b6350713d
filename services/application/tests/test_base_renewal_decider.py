"""Renewal requests of a designated base: inside the window before the term ends, one at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.application.domain.base_renewal import decider
from services.application.domain.commands import (
    RecordBaseDesignation,
    RecordBaseExpiry,
    RecordBaseRevocation,
    RecordRenewalGrant,
    RecordRenewalPendingPastTerm,
    RecordRenewalRefusal,
    RecordRenewalReturn,
    RecordRenewalWindow,
    RecordTermRenewal,
    RequestRenewal,
    ResubmitRenewalRequest,
    WithdrawRenewalRequest,
)
from services.application.domain.errors import (
    BaseAlreadyRecorded,
    BaseNoLongerDesignated,
    BaseNotFound,
    EmptyStatement,
    NoRenewalPending,
    NotBaseUnit,
    RenewalAlreadyPending,
    RenewalNotReturned,
    RenewalWindowClosed,
    RenewalWindowNotOpen,
)
from services.application.domain.events import (
    BaseDesignationRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    RenewalGrantRecorded,
    RenewalPendingPastTermRecorded,
    RenewalRefusalRecorded,
    RenewalRequested,
    RenewalRequestResubmitted,
    RenewalRequestWithdrawn,
    RenewalReturnRecorded,
    RenewalWindowRecorded,
    TermRenewalRecorded,
)
from services.application.domain.policy import RenewalPolicy
from shared.cst import start_of_day
from shared.testkit.spec import spec

POLICY = RenewalPolicy(version="2022.1", window_days=90)
TERM_START, TERM_END = date(2022, 5, 20), date(2027, 5, 19)
OPENS_ON = date(2027, 2, 19)  # the 90th day before the term ends, counting its last day
INSIDE = start_of_day(date(2027, 3, 1))
STATEMENT = "本基地申请重新授牌，附五年工作总结。"

DESIGNATE = RecordBaseDesignation(
    "base-1", "case-1", "unit-1", "昆明高新区", "53", "5301", TERM_START, TERM_END,
    at=start_of_day(TERM_START), by="review",
)  # fmt: skip
DESIGNATED = BaseDesignationRecorded(
    "base-1", "case-1", "unit-1", "昆明高新区", "53", "5301", TERM_START, TERM_END
)
REQUEST = RequestRenewal("base-1", "ren-1", STATEMENT, POLICY, INSIDE, by="user-1", by_org="unit-1")
REQUESTED = RenewalRequested(
    renewal_id="ren-1",
    case_id="case-1",
    base_id="base-1",
    unit_id="unit-1",
    unit_name="昆明高新区",
    province="53",
    jurisdiction="5301",
    term_end=TERM_END,
    statement=STATEMENT,
    policy_version="2022.1",
)
WITHDRAW = WithdrawRenewalRequest("base-1", "ren-1", "材料未齐", INSIDE, "user-1", "unit-1")
WITHDRAWN = RenewalRequestWithdrawn("ren-1", "case-1", "base-1", "材料未齐")
NEW_TERM = (date(2027, 5, 20), date(2032, 5, 19))
GRANT = RecordRenewalGrant("base-1", "ren-1", *NEW_TERM, at=INSIDE, by="review")
GRANTED = RenewalGrantRecorded("ren-1", "case-1", "base-1", *NEW_TERM)
REFUSE = RecordRenewalRefusal("base-1", "ren-1", ("考核不合格",), at=INSIDE, by="review")
REFUSED = RenewalRefusalRecorded("ren-1", "case-1", "base-1", ("考核不合格",))
ANNOUNCE = RecordRenewalWindow(
    "base-1", OPENS_ON, TERM_END, TERM_END, "2022.1", at=start_of_day(OPENS_ON), by="assessment"
)
ANNOUNCED = RenewalWindowRecorded("base-1", "case-1", OPENS_ON, TERM_END, TERM_END, "2022.1")
NEXT_OPENS_ON = "2032-02-20"  # 2032 is a leap year: 90 days before 19 May start on 20 Feb
EXPIRED = BaseExpiryRecorded("base-1", "case-1", date(2027, 5, 20))
REVOKED = BaseRevocationRecorded("base-1", "case-1", date(2024, 3, 1))


# --- learning the base ------------------------------------------------------------------------


def test_the_designation_is_learned_from_review() -> None:
    spec(decider).given().when(DESIGNATE).then(DESIGNATED)


@pytest.mark.parametrize(
    "history",
    [(DESIGNATED,), (DESIGNATED, REQUESTED), (DESIGNATED, EXPIRED)],
    ids=["serving", "renewal-pending", "expired"],
)
def test_the_same_designation_again_records_nothing(history: tuple[object, ...]) -> None:
    spec(decider).given(*history).when(DESIGNATE).then()


def test_another_designation_of_the_same_base_is_refused() -> None:
    other = replace(DESIGNATE, unit_id="unit-2")
    spec(decider).given(DESIGNATED).when(other).raises(BaseAlreadyRecorded)


@pytest.mark.parametrize(
    "command", [REQUEST, WITHDRAW, ANNOUNCE, GRANT], ids=lambda c: type(c).__name__
)
def test_a_base_never_designated_is_not_found(command: object) -> None:
    spec(decider).given().when(command).raises(BaseNotFound)


# --- the window (Art. 14) ---------------------------------------------------------------------


def test_the_unit_files_its_written_request_inside_the_window() -> None:
    spec(decider).given(DESIGNATED).when(REQUEST).then(REQUESTED)


def test_the_window_opens_at_beijing_midnight_ninety_days_before_the_term_ends() -> None:
    first_moment = start_of_day(OPENS_ON)
    spec(decider).given(DESIGNATED).when(replace(REQUEST, at=first_moment)).then(REQUESTED)
    a_moment_earlier = first_moment - timedelta(microseconds=1)
    refusal = spec(decider).given(DESIGNATED).when(replace(REQUEST, at=a_moment_earlier))
    assert refusal.raises(RenewalWindowNotOpen).context["opens_on"] == "2027-02-19"


def test_a_request_before_the_window_is_told_when_it_opens() -> None:
    early = replace(REQUEST, at=start_of_day(date(2026, 12, 1)))
    refusal = spec(decider).given(DESIGNATED).when(early).raises(RenewalWindowNotOpen)
    assert "opens on 2027-02-19" in refusal.detail
    assert refusal.context["closes_on"] == "2027-05-19"


def test_the_last_day_of_the_term_is_inside_the_window() -> None:
    last_evening = start_of_day(TERM_END + timedelta(days=1)) - timedelta(seconds=1)
    spec(decider).given(DESIGNATED).when(replace(REQUEST, at=last_evening)).then(REQUESTED)


def test_a_request_after_the_term_ended_is_told_the_window_closed() -> None:
    late = replace(REQUEST, at=start_of_day(TERM_END + timedelta(days=1)))
    refusal = spec(decider).given(DESIGNATED).when(late).raises(RenewalWindowClosed)
    assert "closed on 2027-05-19" in refusal.detail
    assert refusal.context["closed_on"] == "2027-05-19"


def test_the_policy_sets_the_window_length() -> None:
    short = replace(REQUEST, policy=RenewalPolicy("2030.1", window_days=30))
    refusal = spec(decider).given(DESIGNATED).when(short).raises(RenewalWindowNotOpen)
    assert refusal.context["opens_on"] == "2027-04-20"


def test_the_window_announced_by_assessment_prevails_and_names_its_policy() -> None:
    announced = replace(ANNOUNCED, opens_on=date(2027, 3, 15), policy_version="2026.1")
    spec(decider).given(DESIGNATED, announced).when(REQUEST).raises(RenewalWindowNotOpen)
    later = replace(REQUEST, at=start_of_day(date(2027, 3, 15)))
    spec(decider).given(DESIGNATED, announced).when(later).then(
        replace(REQUESTED, policy_version="2026.1")
    )


def test_a_window_announced_for_an_earlier_term_is_ignored() -> None:
    renewed = TermRenewalRecorded("base-1", "case-1", *NEW_TERM)
    old_window = replace(ANNOUNCED, opens_on=date(2020, 1, 1))
    refusal = spec(decider).given(DESIGNATED, renewed, old_window).when(REQUEST)
    assert refusal.raises(RenewalWindowNotOpen).context["opens_on"] == NEXT_OPENS_ON


def test_only_the_bases_own_unit_files_for_it() -> None:
    spec(decider).given(DESIGNATED).when(replace(REQUEST, by_org="unit-2")).raises(NotBaseUnit)


def test_the_request_is_written() -> None:  # Art. 14: 书面申请
    spec(decider).given(DESIGNATED).when(replace(REQUEST, statement=" ")).raises(EmptyStatement)


# --- one request in flight --------------------------------------------------------------------


def test_filing_the_same_request_again_records_nothing() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(REQUEST).then()


def test_a_second_request_is_refused_while_one_is_pending() -> None:
    second = replace(REQUEST, renewal_id="ren-2")
    refusal = spec(decider).given(DESIGNATED, REQUESTED).when(second)
    assert refusal.raises(RenewalAlreadyPending).context["renewal_id"] == "ren-1"


@pytest.mark.parametrize("settled", [WITHDRAWN, REFUSED], ids=["withdrawn", "refused"])
def test_a_new_request_may_follow_a_settled_one(settled: object) -> None:
    second = replace(REQUEST, renewal_id="ren-2")
    spec(decider).given(DESIGNATED, REQUESTED, settled).when(second).then(
        replace(REQUESTED, renewal_id="ren-2")
    )


def test_after_a_grant_the_next_request_waits_for_the_new_terms_window() -> None:
    second = replace(REQUEST, renewal_id="ren-2")
    refusal = spec(decider).given(DESIGNATED, REQUESTED, GRANTED).when(second)
    assert refusal.raises(RenewalWindowNotOpen).context["opens_on"] == NEXT_OPENS_ON


def test_the_unit_withdraws_its_pending_request() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(WITHDRAW).then(WITHDRAWN)


def test_withdrawing_again_records_nothing() -> None:
    spec(decider).given(DESIGNATED, REQUESTED, WITHDRAWN).when(WITHDRAW).then()


@pytest.mark.parametrize(
    "history",
    [(DESIGNATED,), (DESIGNATED, REQUESTED, GRANTED), (DESIGNATED, REQUESTED, REFUSED)],
    ids=["never-requested", "granted", "refused"],
)
def test_only_a_pending_request_can_be_withdrawn(history: tuple[object, ...]) -> None:
    spec(decider).given(*history).when(WITHDRAW).raises(NoRenewalPending)


def test_another_unit_cannot_withdraw_the_request() -> None:
    command = replace(WITHDRAW, by_org="unit-2")
    spec(decider).given(DESIGNATED, REQUESTED).when(command).raises(NotBaseUnit)


# --- review's answer --------------------------------------------------------------------------


def test_a_grant_settles_the_request_and_starts_the_new_term() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(GRANT).then(GRANTED)


def test_a_refusal_settles_the_request() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(REFUSE).then(REFUSED)


@pytest.mark.parametrize(
    ("settled", "command"), [(GRANTED, GRANT), (REFUSED, REFUSE)], ids=["grant", "refusal"]
)
def test_the_same_answer_again_records_nothing(settled: object, command: object) -> None:
    spec(decider).given(DESIGNATED, REQUESTED, settled).when(command).then()


@pytest.mark.parametrize("command", [GRANT, REFUSE], ids=["grant", "refusal"])
def test_an_answer_that_crossed_a_withdrawal_changes_nothing(command: object) -> None:
    spec(decider).given(DESIGNATED, REQUESTED, WITHDRAWN).when(command).then()


@pytest.mark.parametrize("command", [GRANT, REFUSE], ids=["grant", "refusal"])
def test_an_answer_to_a_request_never_made_is_refused(command: object) -> None:
    spec(decider).given(DESIGNATED).when(command).raises(NoRenewalPending)
    other_pending = replace(REQUESTED, renewal_id="ren-2")
    spec(decider).given(DESIGNATED, other_pending).when(command).raises(NoRenewalPending)


@pytest.mark.parametrize(
    ("settled", "command"), [(GRANTED, REFUSE), (REFUSED, GRANT)], ids=["grant", "refusal"]
)
def test_a_settled_answer_is_not_contradicted(settled: object, command: object) -> None:
    spec(decider).given(DESIGNATED, REQUESTED, settled).when(command).raises(NoRenewalPending)


# --- the term, as assessment tells it ---------------------------------------------------------


def test_the_announced_window_is_recorded() -> None:
    spec(decider).given(DESIGNATED).when(ANNOUNCE).then(ANNOUNCED)


def test_the_same_window_again_records_nothing() -> None:
    spec(decider).given(DESIGNATED, ANNOUNCED).when(ANNOUNCE).then()


def test_a_renewed_term_is_recorded() -> None:
    command = RecordTermRenewal("base-1", *NEW_TERM, at=INSIDE, by="assessment")
    spec(decider).given(DESIGNATED).when(command).then(
        TermRenewalRecorded("base-1", "case-1", *NEW_TERM)
    )


def test_a_term_already_known_from_the_grant_records_nothing() -> None:
    command = RecordTermRenewal("base-1", *NEW_TERM, at=INSIDE, by="assessment")
    spec(decider).given(DESIGNATED, REQUESTED, GRANTED).when(command).then()


def test_a_renewed_term_leaves_a_pending_request_pending() -> None:
    renewed = TermRenewalRecorded("base-1", "case-1", *NEW_TERM)
    spec(decider).given(DESIGNATED, REQUESTED, renewed).when(GRANT).then(GRANTED)


def test_expiry_ends_the_base_even_with_a_request_pending() -> None:
    command = RecordBaseExpiry("base-1", date(2027, 5, 20), at=INSIDE, by="assessment")
    spec(decider).given(DESIGNATED, REQUESTED).when(command).then(EXPIRED)


def test_revocation_ends_the_base() -> None:  # Art. 13
    command = RecordBaseRevocation("base-1", date(2024, 3, 1), at=INSIDE, by="assessment")
    spec(decider).given(DESIGNATED).when(command).then(REVOKED)


def test_the_same_end_again_records_nothing() -> None:
    expiry = RecordBaseExpiry("base-1", date(2027, 5, 20), at=INSIDE, by="assessment")
    revocation = RecordBaseRevocation("base-1", date(2024, 3, 1), at=INSIDE, by="assessment")
    spec(decider).given(DESIGNATED, EXPIRED).when(expiry).then()
    spec(decider).given(DESIGNATED, REVOKED).when(revocation).then()


@pytest.mark.parametrize("ended", [EXPIRED, REVOKED], ids=["expired", "revoked"])
@pytest.mark.parametrize(
    "command",
    [
        REQUEST,
        WITHDRAW,
        ANNOUNCE,
        RecordTermRenewal("base-1", *NEW_TERM, at=INSIDE, by="assessment"),
        RecordBaseExpiry("base-1", date(2030, 1, 1), at=INSIDE, by="assessment"),
        RecordBaseRevocation("base-1", date(2030, 1, 1), at=INSIDE, by="assessment"),
    ],
    ids=lambda c: type(c).__name__,
)
def test_nothing_more_happens_to_a_base_whose_life_is_over(ended: object, command: object) -> None:
    spec(decider).given(DESIGNATED, ended).when(command).raises(BaseNoLongerDesignated)


# --- returned for completion, pending past the term, decided after it ------------------------

RETURN = RecordRenewalReturn("base-1", "ren-1", ("请补充工作总结",), at=INSIDE, by="review")
RETURNED = RenewalReturnRecorded("ren-1", "case-1", "base-1", ("请补充工作总结",))
COMPLETED = "本基地申请重新授牌，附五年工作总结及近三年考核材料。"
RESUBMIT = ResubmitRenewalRequest("base-1", "ren-1", COMPLETED, INSIDE, "user-1", "unit-1")
RESUBMITTED = RenewalRequestResubmitted("ren-1", "case-1", "base-1", COMPLETED)
AFTER_TERM = start_of_day(date(2027, 6, 10))
PAST_TERM = RecordRenewalPendingPastTerm(
    "base-1", "ren-1", TERM_END, at=start_of_day(date(2027, 5, 20)), by="assessment"
)
PENDING_PAST_TERM = RenewalPendingPastTermRecorded("base-1", "case-1", "ren-1", TERM_END)
EXPIRY = RecordBaseExpiry("base-1", date(2027, 5, 20), at=INSIDE, by="assessment")


def test_the_province_returns_a_request_for_completion() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(RETURN).then(RETURNED)
    spec(decider).given(DESIGNATED, REQUESTED, RETURNED).when(RETURN).then()


def test_the_unit_resubmits_a_returned_request_even_after_the_window() -> None:
    late = replace(RESUBMIT, at=AFTER_TERM)
    spec(decider).given(DESIGNATED, REQUESTED, RETURNED).when(late).then(RESUBMITTED)
    spec(decider).given(DESIGNATED, REQUESTED, RETURNED, RESUBMITTED).when(RESUBMIT).then()


def test_a_request_not_returned_is_not_resubmitted() -> None:
    other = replace(RESUBMIT, statement="另一份")
    spec(decider).given(DESIGNATED, REQUESTED).when(other).raises(RenewalNotReturned)
    spec(decider).given(DESIGNATED).when(RESUBMIT).raises(NoRenewalPending)


def test_a_resubmission_needs_a_statement_and_the_bases_own_unit() -> None:
    given = (DESIGNATED, REQUESTED, RETURNED)
    spec(decider).given(*given).when(replace(RESUBMIT, statement=" ")).raises(EmptyStatement)
    spec(decider).given(*given).when(replace(RESUBMIT, by_org="unit-2")).raises(NotBaseUnit)


def test_a_return_that_crossed_a_withdrawal_changes_nothing() -> None:
    spec(decider).given(DESIGNATED, REQUESTED, WITHDRAWN).when(RETURN).then()


def test_a_returned_request_is_still_decided_or_withdrawn() -> None:
    spec(decider).given(DESIGNATED, REQUESTED, RETURNED).when(WITHDRAW).then(WITHDRAWN)
    spec(decider).given(DESIGNATED, REQUESTED, RETURNED).when(REFUSE).then(REFUSED)


def test_the_term_ends_with_the_request_pending_and_the_base_stays_designated() -> None:
    spec(decider).given(DESIGNATED, REQUESTED).when(PAST_TERM).then(PENDING_PAST_TERM)
    spec(decider).given(DESIGNATED, REQUESTED, PENDING_PAST_TERM).when(PAST_TERM).then()
    late_grant = replace(GRANT, at=AFTER_TERM)
    spec(decider).given(DESIGNATED, REQUESTED, PENDING_PAST_TERM).when(late_grant).then(GRANTED)


def test_pending_past_term_after_the_decision_arrived_changes_nothing() -> None:
    spec(decider).given(DESIGNATED, REQUESTED, GRANTED).when(PAST_TERM).then()


def test_a_grant_after_the_terms_end_was_recorded_gives_a_continuous_term() -> None:
    """No refusal, no dead letter: the new term starts the day after the old one ended."""
    expired = replace(EXPIRED, reason="term_ended")
    history = (DESIGNATED, REQUESTED, expired)
    spec(decider).given(*history).when(replace(GRANT, at=AFTER_TERM)).then(GRANTED)
    renewed = spec(decider).given(*history, GRANTED)
    renewed.when(replace(REQUEST, renewal_id="ren-2")).raises(RenewalWindowNotOpen)
    spec(decider).given(*history, GRANTED).when(GRANT).then()


def test_a_refusal_after_the_terms_end_was_recorded_is_recorded_and_the_base_stays_ended() -> None:
    history = (DESIGNATED, REQUESTED, EXPIRED)
    spec(decider).given(*history).when(REFUSE).then(REFUSED)
    spec(decider).given(*history, REFUSED).when(REFUSE).then()
    spec(decider).given(*history, REFUSED).when(GRANT).raises(BaseNoLongerDesignated)


@pytest.mark.parametrize("reason", ["renewal_refused", "renewal_withdrawn"])
def test_expiry_for_a_refused_or_withdrawn_renewal_ends_the_base(reason: str) -> None:
    expiry = replace(EXPIRY, reason=reason)
    ended = replace(EXPIRED, reason=reason)
    spec(decider).given(DESIGNATED, REQUESTED, REFUSED).when(expiry).then(ended)
    spec(decider).given(DESIGNATED, REQUESTED, REFUSED, ended).when(REQUEST).raises(
        BaseNoLongerDesignated
    )


# --- renewal facts that crossed the base's end on the bus: harmless races, not dead letters ---

ENDED_OTHERWISE = {
    "term-ended": (DESIGNATED, EXPIRED),
    "expired-pending": (DESIGNATED, REQUESTED, PENDING_PAST_TERM, EXPIRED),
    "renewal-withdrawn": (
        DESIGNATED, REQUESTED, PENDING_PAST_TERM, WITHDRAWN,
        replace(EXPIRED, reason="renewal_withdrawn"),
    ),
    "renewal-refused": (
        DESIGNATED, REQUESTED, REFUSED, replace(EXPIRED, reason="renewal_refused")
    ),
    "revoked": (DESIGNATED, REVOKED),
    "revoked-pending": (DESIGNATED, REQUESTED, REVOKED),
}  # fmt: skip


@pytest.mark.parametrize("history", ENDED_OTHERWISE.values(), ids=ENDED_OTHERWISE.keys())
@pytest.mark.parametrize("command", [RETURN, PAST_TERM], ids=lambda c: type(c).__name__)
def test_a_return_or_pending_past_term_reaching_an_ended_base_changes_nothing(
    history: tuple[object, ...], command: object
) -> None:
    spec(decider).given(*history).when(command).then()
    spec(decider).given(*history).when(command).then()  # and again: idempotent


@pytest.mark.parametrize(
    "history",
    [ENDED_OTHERWISE[k] for k in ("revoked", "revoked-pending", "renewal-withdrawn")],
    ids=["revoked", "revoked-pending", "renewal-withdrawn"],
)
@pytest.mark.parametrize("command", [REFUSE, GRANT], ids=lambda c: type(c).__name__)
def test_a_decision_that_crossed_a_revocation_or_withdrawal_changes_nothing(
    history: tuple[object, ...], command: object
) -> None:
    spec(decider).given(*history).when(command).then()


def test_a_refusal_repeated_after_the_refused_base_expired_changes_nothing() -> None:
    spec(decider).given(*ENDED_OTHERWISE["renewal-refused"]).when(REFUSE).then()


@pytest.mark.parametrize("ended", ["term-ended", "renewal-refused"])
def test_a_grant_contradicting_how_the_base_ended_is_still_refused(ended: str) -> None:
    spec(decider).given(*ENDED_OTHERWISE[ended]).when(GRANT).raises(BaseNoLongerDesignated)


@pytest.mark.parametrize(
    "command", [RETURN, PAST_TERM, REFUSE, GRANT], ids=lambda c: type(c).__name__
)
def test_a_renewal_fact_about_a_base_never_designated_still_raises(command: object) -> None:
    spec(decider).given().when(command).raises(BaseNotFound)
