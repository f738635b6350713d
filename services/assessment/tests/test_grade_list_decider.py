"""The year's grade list (Art. 12): proposed by the department, approved — or amended, each
amendment with its reason — by the leading group."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.assessment.domain.commands import Amendment, ApproveGradeList, ProposeGradeList
from services.assessment.domain.errors import (
    GradeListAlreadyApproved,
    GradeListNotProposed,
    InvalidAmendment,
    InvalidApproval,
    InvalidGradeList,
)
from services.assessment.domain.events import (
    GradeAmendment,
    GradeEntry,
    GradeListApproved,
    GradeListProposed,
    ProposedGrade,
)
from services.assessment.domain.grade_list import decider
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import USER, cst
from shared.testkit.spec import spec

U, Q, E = Grade.UNQUALIFIED, Grade.QUALIFIED, Grade.EXCELLENT
ENTRIES = (
    ProposedGrade("base-02", U, U, ""),
    ProposedGrade("base-01", E, Q, "An outstanding year of projects landed."),
    ProposedGrade("base-03", Q, Q, ""),
)
IN_ORDER = tuple(sorted(ENTRIES, key=lambda e: e.base_id))
FINAL = tuple(GradeEntry(e.base_id, e.grade) for e in IN_ORDER)
PROPOSE = ProposeGradeList(2023, ENTRIES, "2022.1", cst(2024, 2, 20), USER)
PROPOSED = GradeListProposed(2023, 1, IN_ORDER, "2022.1")
APPROVE = ApproveGradeList(2023, "LG-2024-1", date(2024, 3, 10), cst(2024, 3, 11), USER)
APPROVED = GradeListApproved(2023, 1, FINAL, (), "LG-2024-1", date(2024, 3, 10), "2022.1")


def test_the_department_proposes_the_year_s_grade_list() -> None:
    spec(decider).given().when(PROPOSE).then(PROPOSED)


def test_the_list_may_be_proposed_again_as_a_new_revision_until_approved() -> None:
    revised = (*ENTRIES[:2], ProposedGrade("base-03", E, Q, "Best channels of the year."))
    command = replace(PROPOSE, entries=revised)
    spec(decider).given(PROPOSED).when(command).then(
        GradeListProposed(2023, 2, tuple(sorted(revised, key=lambda e: e.base_id)), "2022.1")
    )


def test_proposing_the_same_list_again_decides_nothing() -> None:
    command = replace(PROPOSE, entries=tuple(reversed(ENTRIES)))
    spec(decider).given(PROPOSED).when(command).then()


@pytest.mark.parametrize(
    "entries",
    [(), (*ENTRIES, ProposedGrade("base-01", Q, Q, ""))],
    ids=["empty", "base-twice"],
)
def test_a_list_names_each_base_once(entries: tuple[ProposedGrade, ...]) -> None:
    spec(decider).given().when(replace(PROPOSE, entries=entries)).raises(InvalidGradeList)


def test_a_list_belongs_to_its_own_year() -> None:
    spec(decider).given(PROPOSED).when(replace(PROPOSE, year=2024)).raises(InvalidGradeList)
    spec(decider).given(PROPOSED).when(replace(APPROVE, year=2024)).raises(InvalidGradeList)


def test_the_leading_group_approves_the_proposed_list() -> None:
    spec(decider).given(PROPOSED).when(APPROVE).then(APPROVED)


def test_the_latest_revision_is_the_one_approved() -> None:
    revised = GradeListProposed(2023, 2, IN_ORDER[:2], "2022.1")
    spec(decider).given(PROPOSED, revised).when(APPROVE).then(
        replace(APPROVED, revision=2, entries=FINAL[:2])
    )


def test_nothing_can_be_approved_before_a_list_is_proposed() -> None:
    spec(decider).given().when(APPROVE).raises(GradeListNotProposed)


@pytest.mark.parametrize(
    "command",
    [replace(APPROVE, meeting_ref=" "), replace(APPROVE, meeting_date=date(2024, 3, 12))],
    ids=["no-ref", "future-meeting"],
)
def test_an_approval_names_a_meeting_already_held(command: ApproveGradeList) -> None:
    spec(decider).given(PROPOSED).when(command).raises(InvalidApproval)


def test_an_approved_list_is_final() -> None:
    spec(decider).given(PROPOSED, APPROVED).when(PROPOSE).raises(GradeListAlreadyApproved)


def test_approving_again_at_the_same_meeting_decides_nothing() -> None:
    spec(decider).given(PROPOSED, APPROVED).when(APPROVE).then()


def test_an_approved_list_cannot_be_approved_at_another_meeting() -> None:
    command = replace(APPROVE, meeting_ref="LG-2024-2")
    spec(decider).given(PROPOSED, APPROVED).when(command).raises(GradeListAlreadyApproved)


# --- the leading group's amendments (Art. 12) -------------------------------------------------


def test_the_leading_group_may_amend_a_grade_and_the_list_records_why() -> None:
    amend = Amendment("base-01", Q, "  Projects announced, none yet landed.  ")
    command = replace(APPROVE, amendments=(amend,))
    spec(decider).given(PROPOSED).when(command).then(
        replace(
            APPROVED,
            entries=(GradeEntry("base-01", Q), *FINAL[1:]),
            amendments=(GradeAmendment("base-01", E, Q, "Projects announced, none yet landed."),),
        )
    )


def test_several_amendments_are_recorded_in_base_order() -> None:
    command = replace(
        APPROVE,
        amendments=(
            Amendment("base-03", U, "Report copied."),
            Amendment("base-02", Q, "Rectified."),
        ),
    )
    spec(decider).given(PROPOSED).when(command).then(
        replace(
            APPROVED,
            entries=(FINAL[0], GradeEntry("base-02", Q), GradeEntry("base-03", U)),
            amendments=(
                GradeAmendment("base-02", U, Q, "Rectified."),
                GradeAmendment("base-03", Q, U, "Report copied."),
            ),
        )
    )


@pytest.mark.parametrize(
    "amendments",
    [
        (Amendment("base-09", Q, "Not on the list."),),
        (Amendment("base-01", Q, "Once."), Amendment("base-01", U, "Twice.")),
        (Amendment("base-01", E, "The grade proposed already."),),
        (Amendment("base-01", Q, "   "),),
    ],
    ids=["not-on-the-list", "twice", "same-grade", "no-reason"],
)
def test_an_amendment_names_a_listed_base_once_another_grade_and_its_reason(
    amendments: tuple[Amendment, ...],
) -> None:
    command = replace(APPROVE, amendments=amendments)
    spec(decider).given(PROPOSED).when(command).raises(InvalidAmendment)
