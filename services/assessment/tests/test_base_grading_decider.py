"""Final grades (Art. 12) and the revocation they may propose (Art. 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.assessment.domain.base import decider
from services.assessment.domain.commands import FinaliseGrade
from services.assessment.domain.errors import (
    GradeAlreadyFinal,
    GradeNotProposed,
    GradeProposalChanged,
    RectificationIdRequired,
)
from services.assessment.domain.events import (
    BaseCommended,
    BaseEvent,
    GradeFinalised,
    RectificationAccepted,
    RectificationReportFiled,
    RevocationProposed,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    cst,
    filed,
    final_year,
    opened,
    ordered,
    proposed,
    rectification_id,
)
from shared.testkit.spec import spec

U, Q, E = Grade.UNQUALIFIED, Grade.QUALIFIED, Grade.EXCELLENT


def finalise(
    year: int, grade: Grade, proposed: Grade | None = None, amendment_reason: str = ""
) -> FinaliseGrade:
    """What the use case issues after the leading group approved year's list on 10 March."""
    return FinaliseGrade(
        base_id=BASE_ID,
        year=year,
        grade=grade,
        proposed=proposed or grade,
        amendment_reason=amendment_reason,
        approved_on=date(year + 1, 3, 10),
        policy=POLICY,
        at=cst(year + 1, 3, 11),
        by="use-case",
        rectification_id=rectification_id(year),
    )


def finalised(
    year: int, grade: Grade, proposed: Grade | None = None, amendment_reason: str = ""
) -> GradeFinalised:
    return GradeFinalised(
        BASE_ID,
        CASE_ID,
        year,
        grade,
        proposed or grade,
        amendment_reason,
        date(year + 1, 3, 10),
        "2022.1",
    )


def scored_year(year: int, grade: Grade) -> list[BaseEvent]:
    return [opened(year), filed(year), proposed(year, grade)]


def proposal(*years: int) -> RevocationProposed:
    return RevocationProposed(BASE_ID, CASE_ID, years, date(years[-1] + 1, 3, 10), "2022.1")


def test_a_grade_is_final_only_once_the_list_is_approved() -> None:
    history = (REGISTERED, *scored_year(2023, Q))
    spec(decider).given(*history).when(finalise(2023, Q)).then(finalised(2023, Q))


def test_an_excellent_base_is_commended() -> None:
    history = (REGISTERED, *scored_year(2023, E))
    spec(decider).given(*history).when(finalise(2023, E)).then(
        finalised(2023, E), BaseCommended(BASE_ID, CASE_ID, 2023, "2022.1")
    )


def test_an_unqualified_base_is_ordered_to_rectify_within_the_policy_days() -> None:
    history = (REGISTERED, *scored_year(2023, U))
    (_, order) = (
        spec(decider)
        .given(*history)
        .when(finalise(2023, U))
        .then(finalised(2023, U), ordered(2023))
    )
    assert order.deadline == date(2024, 6, 8)  # approved 10 March 2024, + 90 days


def test_an_unqualified_grade_needs_a_rectification_id() -> None:
    command = replace(finalise(2023, U), rectification_id=None)
    history = (REGISTERED, *scored_year(2023, U))
    spec(decider).given(*history).when(command).raises(RectificationIdRequired)


def test_the_leading_group_s_amendment_prevails_over_the_proposed_grade_with_its_reason() -> None:
    history = (REGISTERED, *scored_year(2023, Q))
    command = finalise(2023, U, proposed=Q, amendment_reason="No project landed.")
    spec(decider).given(*history).when(command).then(
        finalised(2023, U, proposed=Q, amendment_reason="No project landed."), ordered(2023)
    )


def test_a_proposal_changed_after_the_list_refuses_the_list_s_grade() -> None:
    """The department proposed another grade after the list: the list must be proposed again."""
    changed = proposed(2023, E, suggested=Q, reason="Best year of the programme.")
    history = (REGISTERED, *scored_year(2023, Q), changed)
    spec(decider).given(*history).when(finalise(2023, Q)).raises(GradeProposalChanged)


def test_a_year_not_scored_cannot_be_finalised() -> None:
    spec(decider).given(REGISTERED, opened(2023)).when(finalise(2023, Q)).raises(GradeNotProposed)


def test_finalising_the_same_grade_again_decides_nothing() -> None:
    history = (REGISTERED, *final_year(2023, U))
    spec(decider).given(*history).when(finalise(2023, U)).then()


def test_a_final_grade_cannot_change() -> None:
    history = (REGISTERED, *final_year(2023, U))
    spec(decider).given(*history).when(finalise(2023, Q)).raises(GradeAlreadyFinal)


# --- Art. 13: two consecutive assessment years unqualified ----------------------------------


def test_two_unqualified_years_in_a_row_propose_revocation() -> None:
    history = (REGISTERED, *final_year(2023, U), *scored_year(2024, U))
    spec(decider).given(*history).when(finalise(2024, U)).then(
        finalised(2024, U), ordered(2024), proposal(2023, 2024)
    )


def test_unqualified_qualified_unqualified_does_not_revoke() -> None:
    history = (REGISTERED, *final_year(2023, U), *final_year(2024, Q), *scored_year(2025, U))
    spec(decider).given(*history).when(finalise(2025, U)).then(finalised(2025, U), ordered(2025))


def test_an_accepted_rectification_does_not_erase_the_unqualified_grade() -> None:
    rectified = (
        RectificationReportFiled(
            BASE_ID,
            CASE_ID,
            "rect-2023",
            2023,
            date(2024, 5, 1),
            False,
            "Done.",
            ATTACHMENTS,
            "2022.1",
        ),
        RectificationAccepted(BASE_ID, CASE_ID, "rect-2023", 2023, date(2024, 5, 20), "2022.1"),
    )
    history = (REGISTERED, *final_year(2023, U), *rectified, *scored_year(2024, U))
    spec(decider).given(*history).when(finalise(2024, U)).then(
        finalised(2024, U), ordered(2024), proposal(2023, 2024)
    )


def test_a_missing_report_year_counts_toward_revocation() -> None:
    missing = (opened(2023), proposed(2023, U, missing_report=True), finalised(2023, U))
    history = (REGISTERED, *missing, ordered(2023), *scored_year(2024, U))
    spec(decider).given(*history).when(finalise(2024, U)).then(
        finalised(2024, U), ordered(2024), proposal(2023, 2024)
    )


def test_a_year_without_a_final_grade_breaks_the_run() -> None:
    history = (REGISTERED, *final_year(2023, U), *scored_year(2025, U))
    spec(decider).given(*history).when(finalise(2025, U)).then(finalised(2025, U), ordered(2025))


def test_years_finalised_out_of_order_still_make_a_run() -> None:
    history = (REGISTERED, *final_year(2024, U), *scored_year(2023, U))
    expected = (
        finalised(2023, U),
        ordered(2023),
        replace(proposal(2023, 2024), proposed_on=date(2024, 3, 10)),
    )
    spec(decider).given(*history).when(finalise(2023, U)).then(*expected)


def test_a_revocation_already_proposed_is_not_proposed_again() -> None:
    history = (
        REGISTERED,
        *final_year(2023, U),
        *final_year(2024, U),
        proposal(2023, 2024),
        *scored_year(2025, U),
    )
    spec(decider).given(*history).when(finalise(2025, U)).then(finalised(2025, U), ordered(2025))


def test_the_policy_sets_how_many_consecutive_years_revoke() -> None:
    patient = replace(POLICY, version="2026.1", revoke_after_consecutive_unqualified=3)
    command = replace(finalise(2024, U), policy=patient)
    history = (REGISTERED, *final_year(2023, U), *scored_year(2024, U))
    spec(decider).given(*history).when(command).then(
        replace(finalised(2024, U), policy_version="2026.1"),
        replace(ordered(2024), policy_version="2026.1"),
    )
