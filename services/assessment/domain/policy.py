"""The versioned numbers the assessment service applies (`policies/<version>.toml`).

`main.py` reads the file and builds an `AssessmentPolicy` with `from_document`; the domain never
reads files. A command that applies the policy carries it, and every event of that decision names
`policy.version`. Scores are whole numbers and weights integers, so grading is exact: the weighted
total is a `Decimal` in hundredths, never a float.

The criteria are the Measures' (Art. 11); the weights, the 90/60 thresholds and "a missing
report suggests unqualified" are OUR defaults, not the Measures': they only suggest a grade,
which the national department proposes and the leading group decides (Art. 12). The first
reporting year of a late designation and the work-station policy are our decisions too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Criterion(StrEnum):
    """The five assessment criteria of Art. 11, in the article's order."""

    ANNUAL_PLAN = "annual_plan"
    LOCAL_ACTIVITIES = "local_activities"
    RESOURCE_LIBRARY = "resource_library"
    PROJECT_FOLLOW_UP = "project_follow_up"
    OVERSEAS_CHANNELS = "overseas_channels"


class Grade(StrEnum):
    """Art. 12: 优秀 excellent, 合格 qualified, 不合格 unqualified."""

    EXCELLENT = "excellent"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"


@dataclass(frozen=True, slots=True)
class CriterionScore:
    criterion: Criterion
    score: int  # 0..100


@dataclass(frozen=True, slots=True)
class Weight:
    criterion: Criterion
    weight: int


@dataclass(frozen=True, slots=True)
class MonthDay:
    month: int
    day: int

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)


MAX_SCORE = 100
#: The grade names of Art. 12 as the OpenAPI describes them.
GRADE_NAMES = "优秀 excellent | 合格 qualified | 不合格 unqualified (Art. 12)"


@dataclass(frozen=True, slots=True)
class AssessmentPolicy:
    version: str
    term_years: int  # [designation] Art. 14
    renewal_window_days: int  # [renewal] Art. 14
    reporting_opens: MonthDay  # [reporting] Art. 10: year end
    reporting_due: MonthDay
    reminder_days_before: tuple[int, ...]
    first_year_skip_if_designated_within_days: int  # our decision: late designations
    weights: tuple[Weight, ...]  # [assessment] Art. 11
    excellent_min: int  # Art. 12
    qualified_min: int
    missing_report_is_unqualified: bool
    revoke_after_consecutive_unqualified: int  # Art. 13
    rectification_days: int

    def __post_init__(self) -> None:
        criteria = [w.criterion for w in self.weights]
        if sorted(criteria) != sorted(Criterion):
            raise ValueError(f"policy {self.version}: weights must name each criterion once")
        if any(w.weight < 0 for w in self.weights) or sum(w.weight for w in self.weights) != 100:
            raise ValueError(f"policy {self.version}: weights must be non-negative and sum to 100")
        if not 0 <= self.qualified_min <= self.excellent_min <= MAX_SCORE:
            raise ValueError(f"policy {self.version}: need 0 <= qualified_min <= excellent_min")
        positive = (
            self.term_years,
            self.renewal_window_days,
            self.revoke_after_consecutive_unqualified,
            self.rectification_days,
        )
        if min(positive) < 1 or any(d < 0 for d in self.reminder_days_before):
            raise ValueError(f"policy {self.version}: periods must be positive")
        if not 0 <= self.first_year_skip_if_designated_within_days <= 366:
            raise ValueError(f"policy {self.version}: first-year skip must lie in 0..366 days")

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> AssessmentPolicy:
        """Build from the parsed TOML document (`tomllib.load`) of a policy version."""
        reporting, assessment = doc["reporting"], doc["assessment"]
        return cls(
            version=str(doc["version"]),
            term_years=int(doc["designation"]["term_years"]),
            renewal_window_days=int(doc["renewal"]["window_days"]),
            reporting_opens=MonthDay(int(reporting["opens_month"]), int(reporting["opens_day"])),
            reporting_due=MonthDay(int(reporting["due_month"]), int(reporting["due_day"])),
            reminder_days_before=tuple(int(d) for d in reporting["reminder_days_before"]),
            first_year_skip_if_designated_within_days=int(
                reporting.get("first_year_skip_if_designated_within_days", 0)
            ),
            weights=tuple(
                Weight(Criterion(c), int(w))
                for c, w in zip(assessment["criteria"], assessment["weights"], strict=True)
            ),
            excellent_min=int(assessment["excellent_min"]),
            qualified_min=int(assessment["qualified_min"]),
            missing_report_is_unqualified=bool(assessment["missing_report_is_unqualified"]),
            revoke_after_consecutive_unqualified=int(
                assessment["revoke_after_consecutive_unqualified"]
            ),
            rectification_days=int(assessment["rectification_days"]),
        )

    # Art. 10, our decision: a base designated in the last N days of its year first reports
    # (and is first assessed) for the next year.
    def first_reporting_year(self, designated_on: date) -> int:
        days_left = (date(designated_on.year, 12, 31) - designated_on).days + 1  # Dec 31 is 1
        late = days_left <= self.first_year_skip_if_designated_within_days
        return designated_on.year + 1 if late else designated_on.year

    # Art. 10: reporting for year Y opens and falls due at the end of Y.
    def reporting_opens_on(self, year: int) -> date:
        return self.reporting_opens.in_year(year)

    def reporting_due_on(self, year: int) -> date:
        due = self.reporting_due.in_year(year)
        # A due day earlier in the calendar than the opening day lies in the next year.
        return due if due >= self.reporting_opens_on(year) else self.reporting_due.in_year(year + 1)

    # Art. 14: the window is the last `renewal_window_days` days of the term, term_end included.
    def renewal_window_opens_on(self, term_end: date) -> date:
        return term_end - timedelta(days=self.renewal_window_days - 1)

    # Art. 12: unqualified bases rectify within a deadline counted from the list's approval.
    def rectification_deadline(self, approved_on: date) -> date:
        return approved_on + timedelta(days=self.rectification_days)


def invalid_scores(policy: AssessmentPolicy, scores: Sequence[CriterionScore]) -> str | None:
    """Why these scores cannot be graded under `policy`, or None if they can."""
    named = sorted(s.criterion for s in scores)
    if named != sorted(w.criterion for w in policy.weights):
        return "exactly one score is needed for each criterion of Art. 11"
    out_of_range = [s.criterion.value for s in scores if not 0 <= s.score <= MAX_SCORE]
    if out_of_range:
        return f"scores must lie in 0..{MAX_SCORE}: {', '.join(out_of_range)}"
    return None


def weighted_total(policy: AssessmentPolicy, scores: Sequence[CriterionScore]) -> Decimal:
    """The weighted mean of the scores, exact to the hundredth (weights sum to 100)."""
    weight_of = {w.criterion: w.weight for w in policy.weights}
    points = sum(s.score * weight_of[s.criterion] for s in scores)
    return Decimal(points) / 100


def grade_for(policy: AssessmentPolicy, total: Decimal) -> Grade:
    """Art. 12: excellent from `excellent_min`, qualified from `qualified_min`, else unqualified."""
    if total >= policy.excellent_min:
        return Grade.EXCELLENT
    if total >= policy.qualified_min:
        return Grade.QUALIFIED
    return Grade.UNQUALIFIED


@dataclass(frozen=True, slots=True)
class StationPolicy:
    """A province's own rules for its work stations (Notice §5(3)), when it has any: the
    `[workstation]` section of its provincial policy with `term_years`. Without it a station
    is recorded as not assessed, and says why."""

    version: str
    term_years: int

    def __post_init__(self) -> None:
        if self.term_years < 1:
            raise ValueError(f"policy {self.version}: a work station's term must be positive")

    @classmethod
    def from_document(cls, version: str, doc: Mapping[str, Any]) -> StationPolicy | None:
        """From a provincial policy's sections; None when it configures no station term."""
        section = doc.get("workstation")
        if not isinstance(section, Mapping) or "term_years" not in section:
            return None
        return cls(version=version, term_years=int(section["term_years"]))
