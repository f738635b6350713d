"""Grades are decided, not only computed (Art. 12): scoring suggests a grade under our policy's
weights and thresholds; the national department proposes it, or another with a written reason."""

from __future__ import annotations

from services.assessment.domain.base import decider
from services.assessment.domain.commands import ProposeGrade
from services.assessment.domain.errors import (
    GradeAlreadyFinal,
    GradeNotProposed,
    GradeReasonRequired,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    REGISTERED,
    USER,
    cst,
    filed,
    final_year,
    forwarded,
    opened,
    proposed,
)
from shared.testkit.spec import spec

U, Q, E = Grade.UNQUALIFIED, Grade.QUALIFIED, Grade.EXCELLENT
SCORED_2023 = (REGISTERED, opened(2023), filed(2023), forwarded(2023), proposed(2023, Q))


def propose(grade: Grade, reason: str = "", year: int = 2023) -> ProposeGrade:
    return ProposeGrade("base-01", year, grade, reason, cst(2024, 2, 1), USER)


def test_the_department_may_propose_another_grade_with_a_written_reason() -> None:
    command = propose(E, "  Two overseas societies signed agreements.  ")
    spec(decider).given(*SCORED_2023).when(command).then(
        proposed(2023, E, suggested=Q, reason="Two overseas societies signed agreements.")
    )


def test_another_grade_without_a_reason_is_refused() -> None:
    error = spec(decider).given(*SCORED_2023).when(propose(U, "   ")).raises(GradeReasonRequired)
    assert error.status == 422


def test_going_back_to_the_suggestion_needs_no_reason() -> None:
    history = (*SCORED_2023, proposed(2023, E, suggested=Q, reason="Strong year."))
    spec(decider).given(*history).when(propose(Q)).then(proposed(2023, Q))


def test_proposing_the_same_grade_and_reason_again_decides_nothing() -> None:
    spec(decider).given(*SCORED_2023).when(propose(Q, "ignored: it is the suggestion")).then()


def test_a_missing_report_s_suggestion_may_be_overridden_with_a_reason() -> None:
    history = (REGISTERED, opened(2023), proposed(2023, U, missing_report=True))
    command = propose(Q, "The report was lost in the post; a copy arrived on 5 January.")
    spec(decider).given(*history).when(command).then(
        proposed(
            2023,
            Q,
            missing_report=True,
            suggested=U,
            reason="The report was lost in the post; a copy arrived on 5 January.",
        )
    )


def test_a_year_not_yet_scored_has_no_grade_to_propose() -> None:
    spec(decider).given(REGISTERED, opened(2023)).when(propose(E, "x")).raises(GradeNotProposed)


def test_a_final_grade_cannot_be_proposed_again() -> None:
    history = (REGISTERED, *final_year(2023, Q))
    spec(decider).given(*history).when(propose(E, "late")).raises(GradeAlreadyFinal)
