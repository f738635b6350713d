"""What the clock calls for (`next_due`): each deadline on its day, in date order, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    BaseCommand,
    ExpireBase,
    MarkRectificationOverdue,
    MarkReportOverdue,
    OpenRenewalWindow,
    OpenReporting,
    RemindReport,
)
from services.assessment.domain.deadlines import next_due
from services.assessment.domain.events import (
    BaseEvent,
    BaseRevoked,
    RectificationReportFiled,
    RenewalPendingPastTerm,
    RenewalRequestRecorded,
    RenewalWindowOpened,
    ReportReminded,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    POLICY,
    REGISTERED,
    TERM_END,
    cst,
    filed,
    final_year,
    opened,
)

BY = "system:scheduler"


def due(at: datetime, *history: BaseEvent) -> BaseCommand | None:
    return next_due(decider.fold([REGISTERED, *history]), at, POLICY, BY)


def reminded(year: int, days: int) -> ReportReminded:
    return ReportReminded(BASE_ID, CASE_ID, year, days, date(year, 12, 31), "2022.1")


def test_nothing_is_due_before_reporting_opens() -> None:
    assert due(cst(2022, 11, 30, 23, 59)) is None


def test_reporting_opens_on_its_day_in_beijing() -> None:
    at = cst(2022, 12, 1, 0, 1)
    assert due(at) == OpenReporting(BASE_ID, 2022, POLICY, at, BY)


def test_reminders_come_on_their_days_before_the_due_day() -> None:
    assert due(cst(2022, 12, 16), opened(2022)) is None
    at = cst(2022, 12, 17)
    assert due(at, opened(2022)) == RemindReport(BASE_ID, 2022, 14, at, BY)
    assert due(at, opened(2022), reminded(2022, 14)) is None
    later = cst(2022, 12, 28)
    assert due(later, opened(2022), reminded(2022, 14)) == RemindReport(BASE_ID, 2022, 3, later, BY)


def test_an_unfiled_report_is_overdue_the_day_after_it_is_due() -> None:
    history = (opened(2022), reminded(2022, 14), reminded(2022, 3))
    assert due(cst(2022, 12, 31, 23, 59), *history) is None
    at = cst(2023, 1, 1, 0, 1)
    assert due(at, *history) == MarkReportOverdue(BASE_ID, 2022, at, BY)


def test_a_filed_report_is_neither_reminded_nor_overdue() -> None:
    assert due(cst(2023, 1, 5), opened(2022), filed(2022)) is None


def test_a_jump_past_the_due_day_skips_the_reminders_and_marks_the_report_overdue() -> None:
    at = cst(2023, 2, 1)
    assert due(at, opened(2022)) == MarkReportOverdue(BASE_ID, 2022, at, BY)


def test_a_jump_of_years_takes_the_earliest_deadline_first() -> None:
    at = cst(2024, 12, 5)
    assert due(at) == OpenReporting(BASE_ID, 2022, POLICY, at, BY)


def test_the_renewal_window_opens_90_days_before_the_term_ends() -> None:
    assert due(cst(2027, 3, 16), *_graded_years()) is None
    at = cst(2027, 3, 17)
    assert due(at, *_graded_years()) == OpenRenewalWindow(BASE_ID, POLICY, at, BY)


def test_a_term_ended_without_renewal_expires_and_its_window_is_not_opened_late() -> None:
    window = RenewalWindowOpened(
        BASE_ID, CASE_ID, date(2027, 3, 17), date(2027, 6, 14), date(2027, 6, 14), "2022.1"
    )
    assert due(cst(2027, 6, 14, 23, 59), *_graded_years(), window) is None
    at = cst(2027, 6, 15)
    assert due(at, *_graded_years(), window) == ExpireBase(BASE_ID, at, BY)
    assert due(at, *_graded_years()) == ExpireBase(BASE_ID, at, BY)


def test_a_rectification_not_reported_by_its_deadline_is_overdue() -> None:
    history = (*final_year(2022, Grade.QUALIFIED), *final_year(2023, Grade.UNQUALIFIED))
    assert due(cst(2024, 6, 8, 23), *history) is None
    at = cst(2024, 6, 9)
    assert due(at, *history) == MarkRectificationOverdue(BASE_ID, "rect-2023", at, BY)
    reported = RectificationReportFiled(
        BASE_ID, CASE_ID, "rect-2023", 2023, date(2024, 6, 1), False, "done", ATTACHMENTS, "2022.1"
    )
    assert due(at, *history, reported) is None


def test_a_revoked_base_owes_nothing() -> None:
    revoked = BaseRevoked(BASE_ID, CASE_ID, date(2024, 4, 1), (2022, 2023), "LG-1", "2022.1")
    assert due(cst(2030, 1, 1), revoked) is None


def _graded_years() -> list[BaseEvent]:
    """Every year up to 2026 reported and graded qualified: no reporting deadline left."""
    history: list[BaseEvent] = []
    for year in range(2022, 2027):
        history.extend(final_year(year, Grade.QUALIFIED))
    return history


def test_a_base_designated_late_in_a_year_owes_nothing_for_that_year() -> None:
    late = replace(
        REGISTERED,
        term_start=date(2022, 12, 20),
        term_end=date(2027, 12, 19),
        first_report_year=2023,
    )
    assert next_due(decider.fold([late]), cst(2022, 12, 31, 23), POLICY, BY) is None
    assert next_due(decider.fold([late]), cst(2023, 1, 2), POLICY, BY) is None
    at = cst(2023, 12, 1, 9)
    assert next_due(decider.fold([late]), at, POLICY, BY) == OpenReporting(
        BASE_ID, 2023, POLICY, at, BY
    )


def scheduled(at: datetime, *history: BaseEvent) -> list[str]:
    """The names of the events the scheduler's commands decide at `at`, run until none is due."""
    state, names = decider.fold([REGISTERED, *history]), []
    while (command := next_due(state, at, POLICY, BY)) is not None:
        events = decider.decide(command, state)
        if not events:
            break
        for event in events:
            state = decider.evolve(state, event)
            names.append(type(event).__name__)
    return names


def test_at_the_term_end_an_open_renewal_request_keeps_the_base_pending_not_expired() -> None:
    request = RenewalRequestRecorded(BASE_ID, CASE_ID, "renewal-1", TERM_END, date(2027, 4, 1))
    after = scheduled(cst(2027, 8, 1), request)
    assert "RenewalPendingPastTerm" in after
    assert "BaseExpired" not in after
    assert "BaseExpired" in scheduled(cst(2027, 8, 1))  # without a request, it expires


def test_a_base_whose_renewal_is_pending_past_its_term_owes_no_expiry() -> None:
    request = RenewalRequestRecorded(BASE_ID, CASE_ID, "renewal-1", TERM_END, date(2027, 4, 1))
    pending = RenewalPendingPastTerm(BASE_ID, CASE_ID, "renewal-1", TERM_END)
    after = scheduled(cst(2028, 1, 5), request, pending)
    assert "ReportingOpened" in after  # still designated: it still reports
    assert not {"BaseExpired", "RenewalPendingPastTerm"} & set(after)
