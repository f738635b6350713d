"""Annual assessment (Art. 11–12): the policy's grading rule and scoring a base's year."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.assessment.domain.base import decider
from services.assessment.domain.commands import ScoreBase
from services.assessment.domain.errors import (
    AssessmentTooEarly,
    GradeAlreadyFinal,
    InvalidScores,
    ReportNotForwarded,
    YearBeforeDesignation,
)
from services.assessment.domain.events import BaseScored, GradeProposed
from services.assessment.domain.policy import (
    Criterion,
    CriterionScore,
    Grade,
    Weight,
    grade_for,
    invalid_scores,
    weighted_total,
)
from services.assessment.tests.examples import (
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    USER,
    cst,
    filed,
    final_year,
    forwarded,
    opened,
    proposed,
    scores,
)
from shared.testkit.spec import spec

POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "2022.1.toml"
GOOD = scores(90, 85, 80, 95, 70)  # 25·90 + 20·85 + 20·80 + 15·95 + 20·70 = 8375


def score(
    year: int, given: tuple[CriterionScore, ...] = GOOD, day: date | None = None
) -> ScoreBase:
    on = day or date(year + 1, 2, 1)
    return ScoreBase(BASE_ID, year, given, POLICY, cst(on.year, on.month, on.day), USER)


def scored(
    year: int,
    total: str,
    grade: Grade,
    filed: bool = True,
    given: tuple[CriterionScore, ...] = GOOD,
) -> tuple[BaseScored, GradeProposed]:
    return (
        BaseScored(BASE_ID, CASE_ID, year, given, Decimal(total), filed, grade, "2022.1"),
        GradeProposed(BASE_ID, CASE_ID, year, grade, grade, not filed, "", "2022.1"),
    )


# --- the policy's grading rule --------------------------------------------------------------


def test_the_policy_file_reads_as_the_policy_the_specifications_use() -> None:
    with POLICY_FILE.open("rb") as f:
        from_file = type(POLICY).from_document(tomllib.load(f))
    assert from_file == POLICY


def test_weights_must_sum_to_100() -> None:
    weights = (Weight(Criterion.ANNUAL_PLAN, 30), *POLICY.weights[1:])
    with pytest.raises(ValueError, match="sum to 100"):
        replace(POLICY, weights=weights)


def test_weights_must_name_each_criterion_once() -> None:
    weights = (Weight(Criterion.LOCAL_ACTIVITIES, 25), *POLICY.weights[1:])
    with pytest.raises(ValueError, match="each criterion once"):
        replace(POLICY, weights=weights)


def test_the_qualified_threshold_cannot_exceed_the_excellent_one() -> None:
    with pytest.raises(ValueError, match="qualified_min"):
        replace(POLICY, qualified_min=95)


def test_the_weighted_total_is_exact_to_the_hundredth() -> None:
    assert weighted_total(POLICY, GOOD) == Decimal("83.75")
    assert weighted_total(POLICY, scores(61, 60, 60, 60, 60)) == Decimal("60.25")


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", Grade.EXCELLENT),
        ("90", Grade.EXCELLENT),
        ("89.99", Grade.QUALIFIED),
        ("60", Grade.QUALIFIED),
        ("59.99", Grade.UNQUALIFIED),
        ("0", Grade.UNQUALIFIED),
    ],
)
def test_grades_follow_the_policy_thresholds(total: str, grade: Grade) -> None:
    assert grade_for(POLICY, Decimal(total)) is grade


@pytest.mark.parametrize(
    "given",
    [
        GOOD[:4],
        (*GOOD[:4], CriterionScore(Criterion.ANNUAL_PLAN, 70)),
        scores(101, 80, 80, 80, 80),
        scores(80, -1, 80, 80, 80),
    ],
    ids=["missing", "twice", "above", "below"],
)
def test_scores_need_each_criterion_once_within_0_to_100(given: tuple[CriterionScore, ...]) -> None:
    assert invalid_scores(POLICY, given) is not None
    history = (REGISTERED, opened(2023), filed(2023), forwarded(2023))
    spec(decider).given(*history).when(score(2023, given)).raises(InvalidScores)


# --- scoring a year -------------------------------------------------------------------------


def test_a_reported_year_is_scored_and_a_grade_proposed() -> None:
    history = (REGISTERED, opened(2023), filed(2023), forwarded(2023))
    spec(decider).given(*history).when(score(2023)).then(*scored(2023, "83.75", Grade.QUALIFIED))


def test_a_high_weighted_score_proposes_excellent() -> None:
    high = scores(95, 90, 90, 85, 90)  # 2375 + 1800 + 1800 + 1275 + 1800 = 9050
    history = (REGISTERED, opened(2023), filed(2023), forwarded(2023))
    expected = scored(2023, "90.5", Grade.EXCELLENT, given=high)
    spec(decider).given(*history).when(score(2023, high)).then(*expected)


def test_a_low_weighted_score_proposes_unqualified() -> None:
    low = scores(60, 60, 50, 60, 60)  # 1500 + 1200 + 1000 + 900 + 1200 = 5800
    history = (REGISTERED, opened(2023), filed(2023), forwarded(2023))
    expected = scored(2023, "58", Grade.UNQUALIFIED, given=low)
    spec(decider).given(*history).when(score(2023, low)).then(*expected)


def test_missing_report_counts_as_unqualified() -> None:
    excellent = scores(100, 100, 100, 100, 100)
    expected = scored(2023, "100", Grade.UNQUALIFIED, filed=False, given=excellent)
    spec(decider).given(REGISTERED, opened(2023)).when(score(2023, excellent)).then(*expected)


def test_a_year_whose_reporting_never_opened_has_a_missing_report() -> None:
    expected = scored(2023, "83.75", Grade.UNQUALIFIED, filed=False)
    spec(decider).given(REGISTERED).when(score(2023)).then(*expected)


def test_a_policy_may_grade_a_missing_report_by_its_score() -> None:
    lenient = replace(POLICY, version="2025.1", missing_report_is_unqualified=False)
    command = replace(score(2025), policy=lenient)
    spec(decider).given(REGISTERED, opened(2025)).when(command).then(
        BaseScored(
            BASE_ID, CASE_ID, 2025, GOOD, Decimal("83.75"), False, Grade.QUALIFIED, "2025.1"
        ),
        GradeProposed(BASE_ID, CASE_ID, 2025, Grade.QUALIFIED, Grade.QUALIFIED, True, "", "2025.1"),
    )


def test_a_late_report_is_a_report() -> None:
    history = (
        REGISTERED,
        opened(2023),
        filed(2023, filed_on=date(2024, 1, 15)),
        forwarded(2023, date(2024, 1, 16)),
    )
    spec(decider).given(*history).when(score(2023)).then(*scored(2023, "83.75", Grade.QUALIFIED))


def test_a_missing_report_cannot_be_judged_before_its_due_day_has_passed() -> None:
    command = score(2023, day=date(2023, 12, 31))
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(AssessmentTooEarly)


def test_a_filed_report_may_be_scored_before_the_due_day() -> None:
    history = (REGISTERED, opened(2023), filed(2023), forwarded(2023))
    command = score(2023, day=date(2023, 12, 28))
    spec(decider).given(*history).when(command).then(*scored(2023, "83.75", Grade.QUALIFIED))


def test_a_year_may_be_scored_again_until_its_grade_is_final() -> None:
    history = (
        REGISTERED,
        opened(2023),
        filed(2023),
        forwarded(2023),
        proposed(2023, Grade.QUALIFIED),
    )
    high = scores(95, 90, 90, 85, 90)
    expected = scored(2023, "90.5", Grade.EXCELLENT, given=high)
    spec(decider).given(*history).when(score(2023, high)).then(*expected)


def test_a_final_grade_cannot_be_scored_again() -> None:
    history = (REGISTERED, *final_year(2023, Grade.QUALIFIED))
    spec(decider).given(*history).when(score(2023)).raises(GradeAlreadyFinal)


def test_a_year_before_the_designation_cannot_be_scored() -> None:
    spec(decider).given(REGISTERED).when(score(2021)).raises(YearBeforeDesignation)


# --- Art. 10: reports reach the department through the local CAST ---------------------------


def test_a_filed_report_its_local_cast_never_forwarded_cannot_be_scored() -> None:
    history = (REGISTERED, opened(2023), filed(2023))
    error = spec(decider).given(*history).when(score(2023)).raises(ReportNotForwarded)
    assert error.status == 409


def test_a_late_report_not_yet_forwarded_cannot_be_scored_either() -> None:
    history = (REGISTERED, opened(2023), filed(2023, filed_on=date(2024, 1, 15)))
    spec(decider).given(*history).when(score(2023)).raises(ReportNotForwarded)


# --- late designation: the first reporting year is a policy rule ----------------------------


@pytest.mark.parametrize(
    ("designated_on", "first_year"),
    [
        (date(2022, 6, 15), 2022),
        (date(2022, 10, 2), 2022),  # 91 days before the year ends, 31 December included
        (date(2022, 10, 3), 2023),  # the last 90 days
        (date(2022, 12, 20), 2023),
        (date(2022, 12, 31), 2023),
        (date(2024, 10, 2), 2024),  # a leap year too: October to December do not change
        (date(2024, 10, 3), 2025),
    ],
)
def test_a_base_designated_in_the_last_90_days_of_a_year_first_reports_the_next_year(
    designated_on: date, first_year: int
) -> None:
    assert POLICY.first_reporting_year(designated_on) == first_year


def test_a_policy_without_the_skip_reports_from_the_year_of_designation() -> None:
    strict = replace(POLICY, first_year_skip_if_designated_within_days=0)
    assert strict.first_reporting_year(date(2022, 12, 31)) == 2022


def test_a_base_designated_on_20_december_is_not_scored_for_that_year() -> None:
    late = replace(
        REGISTERED,
        term_start=date(2022, 12, 20),
        term_end=date(2027, 12, 19),
        first_report_year=2023,
    )
    spec(decider).given(late).when(score(2022)).raises(YearBeforeDesignation)
    missing = scored(2023, "83.75", Grade.UNQUALIFIED, filed=False)
    spec(decider).given(late).when(score(2023)).then(*missing)
