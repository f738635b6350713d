"""A call for applications: opened by its province's officer, closed by the scheduler."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from services.application.domain.call import Accepting, Closed, NoCall, decider, snapshot
from services.application.domain.commands import CallSnapshot, CloseCall, OpenCall
from services.application.domain.errors import (
    CallAlreadyOpened,
    CallNotFound,
    DeadlineNotReached,
    InvalidCall,
    OutsideJurisdiction,
)
from services.application.domain.events import (
    MATERIAL_SLOTS,
    CallClosed,
    CallOpened,
    CallStatus,
    Contact,
    Slot,
    SubmissionAddress,
)
from shared.testkit.spec import spec

NOW = datetime(2022, 3, 1, 1, 0, tzinfo=UTC)
# "于2022年4月30日前" (Notice §5(2)): the whole of 30 April in Beijing, i.e. until 16:00 UTC.
DEADLINE = datetime(2022, 4, 30, 16, 0, tzinfo=UTC)

OPEN = OpenCall(
    call_id="call-1",
    province="53",
    year=2022,
    title="关于组织申报中国科协海智计划工作基地的通知",
    deadline_on=date(2022, 4, 30),
    at=NOW,
    by="officer-1",
    by_jurisdiction="53",
    allows_workstation=True,
    paper_copies=5,
)
OPENED = CallOpened(
    call_id="call-1",
    province="53",
    year=2022,
    title="关于组织申报中国科协海智计划工作基地的通知",
    deadline=DEADLINE,
    required_slots=MATERIAL_SLOTS,
    allows_workstation=True,
    paper_copies=5,
    opened_on=date(2022, 3, 1),
)
# Notice §6: whom to ask, and where the paper copies go.
NOTICE_CONTACT = Contact("毛发强", "63103381 / 13629451779", "ynskxgjb@126.com")
PAPER_TO = SubmissionAddress("昆明市护国路26号省科协办公大楼508室", "650021", "省科协 毛发强")


def test_a_provincial_officer_opens_a_call_until_the_end_of_its_deadline_day() -> None:
    spec(decider).given().when(OPEN).then(OPENED)


def test_a_deadline_time_is_read_as_beijing_time() -> None:
    at_noon = replace(OPEN, deadline_time=time(12, 0))
    spec(decider).given().when(at_noon).then(
        replace(OPENED, deadline=datetime(2022, 4, 30, 4, 0, tzinfo=UTC))
    )


def test_the_call_records_the_day_it_opened_in_beijing() -> None:
    late_evening = datetime(2022, 3, 1, 17, 0, tzinfo=UTC)  # 2 March, 01:00 in Beijing
    (opened,) = spec(decider).given().when(replace(OPEN, at=late_evening)).decided()
    assert isinstance(opened, CallOpened)
    assert opened.opened_on == date(2022, 3, 2)


def test_the_call_may_ask_for_more_than_the_art_7_materials() -> None:
    more = (*MATERIAL_SLOTS, Slot.SIGNED_FORM)
    command = replace(OPEN, required_slots=more, additional_materials=("营业执照副本",))
    spec(decider).given().when(command).then(
        replace(OPENED, required_slots=more, additional_materials=("营业执照副本",))
    )


def test_the_call_carries_its_contacts_and_where_the_paper_copies_go() -> None:
    command = replace(OPEN, contacts=(NOTICE_CONTACT,), submission_address=PAPER_TO)
    spec(decider).given().when(command).then(
        replace(OPENED, contacts=(NOTICE_CONTACT,), submission_address=PAPER_TO)
    )


def test_a_call_never_asks_for_fewer_than_the_art_7_materials() -> None:  # Art. 7
    two = (Slot.SUPPORT_LETTER, Slot.CONSTRUCTION_PLAN)
    refusal = spec(decider).given().when(replace(OPEN, required_slots=two)).raises(InvalidCall)
    assert refusal.context["problems"] == [
        "required_slots must include the Art. 7 materials: overseas_cooperation, policy_measures"
    ]


def test_an_officer_of_another_province_cannot_open_the_call() -> None:
    spec(decider).given().when(replace(OPEN, by_jurisdiction="52")).raises(OutsideJurisdiction)


def test_a_prefecture_officer_cannot_open_a_provincial_call() -> None:
    spec(decider).given().when(replace(OPEN, by_jurisdiction="5301")).raises(OutsideJurisdiction)


@pytest.mark.parametrize(
    "terms",
    [
        {"province": "5301", "by_jurisdiction": "5301"},
        {"title": "  "},
        {"required_slots": ()},
        {"required_slots": (*MATERIAL_SLOTS, Slot.SUPPORT_LETTER)},
        {"required_slots": (*MATERIAL_SLOTS, Slot.EXTRA)},
        {"additional_materials": ("营业执照", "营业执照")},
        {"additional_materials": (" ",)},
        {"contacts": (Contact("毛发强", "63103381", "not-an-email"),)},
        {"submission_address": SubmissionAddress("昆明市护国路26号", "6500", "毛发强")},
        {"paper_copies": -1},
        {"deadline_on": date(2022, 2, 28)},
        {"deadline_time": time(12, 0, tzinfo=UTC)},
    ],
    ids=[
        "province-not-2-digits",
        "blank-title",
        "no-materials",
        "duplicate-material",
        "extra-as-required",
        "duplicate-additional-material",
        "blank-additional-material",
        "contact-without-email",
        "postcode-not-6-digits",
        "negative-paper-copies",
        "deadline-passed",
        "zoned-deadline-time",
    ],
)
def test_invalid_terms_are_refused(terms: dict[str, Any]) -> None:
    refusal = spec(decider).given().when(replace(OPEN, **terms)).raises(InvalidCall)
    assert refusal.context["problems"]


def test_every_problem_of_the_terms_is_listed_at_once() -> None:
    bad = replace(OPEN, title="", paper_copies=-5)
    refusal = spec(decider).given().when(bad).raises(InvalidCall)
    assert refusal.context["problems"] == ["title is empty", "paper_copies cannot be negative"]


def test_opening_the_same_call_again_records_nothing() -> None:
    spec(decider).given(OPENED).when(OPEN).then()


def test_opening_a_call_again_with_other_terms_is_refused() -> None:
    spec(decider).given(OPENED).when(replace(OPEN, paper_copies=3)).raises(CallAlreadyOpened)


def test_the_scheduler_closes_the_call_at_its_deadline() -> None:
    spec(decider).given(OPENED).when(CloseCall("call-1", at=DEADLINE, by="scheduler")).then(
        CallClosed("call-1", "53", DEADLINE, closed_at=DEADLINE)
    )


def test_a_late_scheduler_still_closes_the_call() -> None:
    later = datetime(2022, 5, 2, tzinfo=UTC)
    spec(decider).given(OPENED).when(CloseCall("call-1", at=later, by="scheduler")).then(
        CallClosed("call-1", "53", DEADLINE, closed_at=later)
    )


def test_the_call_cannot_be_closed_before_its_deadline() -> None:
    early = datetime(2022, 4, 30, 15, 59, tzinfo=UTC)
    refusal = (
        spec(decider).given(OPENED).when(CloseCall("call-1", early, "x")).raises(DeadlineNotReached)
    )
    assert refusal.context["deadline"] == "2022-04-30T16:00:00+00:00"


def test_closing_a_closed_call_records_nothing() -> None:
    closed = CallClosed("call-1", "53", DEADLINE, closed_at=DEADLINE)
    spec(decider).given(OPENED, closed).when(CloseCall("call-1", DEADLINE, "scheduler")).then()


def test_a_call_never_opened_cannot_be_closed() -> None:
    spec(decider).given().when(CloseCall("call-9", DEADLINE, "scheduler")).raises(CallNotFound)


def test_the_snapshot_tells_an_application_whether_the_call_is_open() -> None:
    open_state = decider.fold([OPENED])
    closed_state = decider.fold([OPENED, CallClosed("call-1", "53", DEADLINE, DEADLINE)])
    assert isinstance(open_state, Accepting)
    assert isinstance(closed_state, Closed)
    expected = CallSnapshot(
        "call-1", "53", CallStatus.OPEN, DEADLINE, MATERIAL_SLOTS, True, date(2022, 3, 1)
    )
    assert snapshot(open_state) == expected
    assert snapshot(closed_state) == replace(expected, status=CallStatus.CLOSED)


def test_there_is_no_snapshot_of_a_call_never_opened() -> None:
    with pytest.raises(CallNotFound):
        snapshot(NoCall())
