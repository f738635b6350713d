"""Example facts for the assessment decider specifications.

One base of a Kunming (5301) unit, designated 2022-06-15 for five years (term_end 2027-06-14),
under the 2022.1 policy. Instants are written as Beijing wall-clock times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.assessment.domain.events import (
    AnnualReportFiled,
    AnnualReportForwarded,
    Attachment,
    BaseEvent,
    BaseRegistered,
    GradeFinalised,
    GradeProposed,
    RectificationOrdered,
    ReportingOpened,
    ResourceLibrary,
    WorkSummary,
)
from services.assessment.domain.policy import (
    AssessmentPolicy,
    Criterion,
    CriterionScore,
    Grade,
    MonthDay,
    Weight,
)
from shared.cst import CST

POLICY = AssessmentPolicy(
    version="2022.1",
    term_years=5,
    renewal_window_days=90,
    reporting_opens=MonthDay(12, 1),
    reporting_due=MonthDay(12, 31),
    reminder_days_before=(14, 3),
    first_year_skip_if_designated_within_days=90,
    weights=(
        Weight(Criterion.ANNUAL_PLAN, 25),
        Weight(Criterion.LOCAL_ACTIVITIES, 20),
        Weight(Criterion.RESOURCE_LIBRARY, 20),
        Weight(Criterion.PROJECT_FOLLOW_UP, 15),
        Weight(Criterion.OVERSEAS_CHANNELS, 20),
    ),
    excellent_min=90,
    qualified_min=60,
    missing_report_is_unqualified=True,
    revoke_after_consecutive_unqualified=2,
    rectification_days=90,
)

BASE_ID = "base-01"
CASE_ID = "case-01"
UNIT_ID = "unit-kunming-park"
JURISDICTION = "5301"
TERM_START = date(2022, 6, 15)
TERM_END = date(2027, 6, 14)
HASH = "ab" * 32
USER = "user-1"

SUMMARY = WorkSummary(
    talent_introduced="Three overseas experts joined the park's labs.",
    projects_landed="Two battery-recycling projects landed.",
    academic_exchanges="One forum with the overseas Chinese chemists' society.",
    technical_innovation="A pilot line for sodium-ion cells.",
    difficulties="Visa delays for visiting experts.",
)
LIBRARY = ResourceLibrary(
    overseas_societies=12,
    haizhi_projects=7,
    overseas_talents=40,
    last_updated_on=date(2023, 11, 20),
)
ATTACHMENTS = (Attachment("summary.pdf", "application/pdf", 20480, HASH),)
PLAN = "Introduce five experts and land three projects in 2024."


def cst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time as the aware UTC instant commands carry."""
    return datetime(year, month, day, hour, minute, tzinfo=CST).astimezone(UTC)


def scores(*values: int) -> tuple[CriterionScore, ...]:
    """Scores in the order of Art. 11's criteria."""
    return tuple(CriterionScore(c, v) for c, v in zip(Criterion, values, strict=True))


REGISTERED = BaseRegistered(
    base_id=BASE_ID,
    case_id=CASE_ID,
    unit_id=UNIT_ID,
    unit_name="Kunming High-tech Zone",
    province="53",
    jurisdiction=JURISDICTION,
    term_start=TERM_START,
    term_end=TERM_END,
    first_report_year=2022,
    policy_version="2022.1",
)


def opened(year: int) -> ReportingOpened:
    return ReportingOpened(
        BASE_ID, CASE_ID, year, date(year, 12, 1), date(year, 12, 31), (14, 3), "2022.1"
    )


def filed(year: int, filed_on: date | None = None) -> AnnualReportFiled:
    day = filed_on or date(year, 12, 20)
    return AnnualReportFiled(
        base_id=BASE_ID,
        case_id=CASE_ID,
        year=year,
        filed_on=day,
        late=day > date(year, 12, 31),
        summary=SUMMARY,
        next_year_plan=PLAN,
        resource_library=LIBRARY,
        attachments=ATTACHMENTS,
        policy_version="2022.1",
    )


def forwarded(year: int, on: date | None = None) -> AnnualReportForwarded:
    """The local CAST (Kunming) forwards the year's report (Art. 10)."""
    return AnnualReportForwarded(
        BASE_ID, CASE_ID, year, JURISDICTION, on or date(year, 12, 22), "2022.1"
    )


def proposed(
    year: int,
    grade: Grade,
    missing_report: bool = False,
    *,
    suggested: Grade | None = None,
    reason: str = "",
) -> GradeProposed:
    """The department's proposal: the suggestion itself unless `suggested` says otherwise."""
    return GradeProposed(
        base_id=BASE_ID,
        case_id=CASE_ID,
        year=year,
        grade=grade,
        suggested_grade=suggested or grade,
        missing_report=missing_report,
        reason=reason,
        policy_version="2022.1",
    )


def finalised(year: int, grade: Grade, proposed_grade: Grade | None = None) -> GradeFinalised:
    amended = proposed_grade is not None and proposed_grade is not grade
    return GradeFinalised(
        base_id=BASE_ID,
        case_id=CASE_ID,
        year=year,
        grade=grade,
        proposed_grade=proposed_grade or grade,
        amendment_reason="amended by the leading group" if amended else "",
        approved_on=approved_on(year),
        policy_version="2022.1",
    )


def approved_on(year: int) -> date:
    """The leading group approves year Y's list in the March after it."""
    return date(year + 1, 3, 10)


def rectification_id(year: int) -> str:
    return f"rect-{year}"


def final_year(year: int, grade: Grade) -> list[BaseEvent]:
    """A year reported, graded and made final — with its rectification order if unqualified."""
    history: list[BaseEvent] = [
        opened(year),
        filed(year),
        proposed(year, grade),
        finalised(year, grade),
    ]
    if grade is Grade.UNQUALIFIED:
        history.append(ordered(year))
    return history


def ordered(year: int) -> RectificationOrdered:
    return RectificationOrdered(
        base_id=BASE_ID,
        case_id=CASE_ID,
        rectification_id=rectification_id(year),
        year=year,
        ordered_on=approved_on(year),
        deadline=date(year + 1, 6, 8),  # 2024-03-10 + 90 days = 2024-06-08
        policy_version="2022.1",
    )
