"""Annual reports (Art. 10): opening, reminders, filing by the unit, forwarding, overdue."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    FileAnnualReport,
    ForwardReport,
    MarkReportOverdue,
    OpenReporting,
    RemindReport,
)
from services.assessment.domain.errors import (
    InvalidReport,
    NotLocalCast,
    NotTheBaseUnit,
    ReminderNotYetDue,
    ReportAlreadyFiled,
    ReportingClosed,
    ReportingNotOpen,
    ReportingNotYetOpen,
    ReportNotFiled,
    ReportNotYetOverdue,
    UnknownReminder,
    YearBeforeDesignation,
)
from services.assessment.domain.events import (
    AnnualReportForwarded,
    AnnualReportOverdue,
    Attachment,
    ReportReminded,
)
from services.assessment.domain.policy import Grade, MonthDay
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    LIBRARY,
    PLAN,
    POLICY,
    REGISTERED,
    SUMMARY,
    UNIT_ID,
    USER,
    cst,
    filed,
    opened,
    proposed,
)
from shared.testkit.spec import spec


def open_reporting(year: int) -> OpenReporting:
    return OpenReporting(BASE_ID, year, POLICY, cst(year, 12, 1, 0, 0), "scheduler")


FILE = FileAnnualReport(
    BASE_ID, 2023, UNIT_ID, SUMMARY, PLAN, LIBRARY, ATTACHMENTS, cst(2023, 12, 20), USER
)


# --- opening --------------------------------------------------------------------------------


def test_reporting_opens_on_the_policy_day_with_its_due_day_and_reminders() -> None:
    spec(decider).given(REGISTERED).when(open_reporting(2023)).then(opened(2023))


def test_reporting_cannot_open_before_its_day() -> None:
    command = OpenReporting(BASE_ID, 2023, POLICY, cst(2023, 11, 30, 23, 59), "scheduler")
    spec(decider).given(REGISTERED).when(command).raises(ReportingNotYetOpen)


def test_opening_reporting_again_decides_nothing() -> None:
    spec(decider).given(REGISTERED, opened(2023)).when(open_reporting(2023)).then()


def test_reporting_opens_from_the_year_of_designation_only() -> None:
    command = OpenReporting(BASE_ID, 2021, POLICY, cst(2022, 12, 1), "scheduler")
    spec(decider).given(REGISTERED).when(command).raises(YearBeforeDesignation)


def test_a_year_already_scored_cannot_open_reporting() -> None:
    history = (REGISTERED, proposed(2023, Grade.UNQUALIFIED, missing_report=True))
    spec(decider).given(*history).when(open_reporting(2023)).raises(ReportingClosed)


def test_a_later_policy_applies_its_own_dates_at_opening() -> None:
    policy = replace(POLICY, version="2024.1", reporting_due=MonthDay(1, 15))
    command = OpenReporting(BASE_ID, 2024, policy, cst(2024, 12, 1), "scheduler")
    spec(decider).given(REGISTERED).when(command).then(
        replace(opened(2024), due_on=date(2025, 1, 15), policy_version="2024.1")
    )


# --- reminders ------------------------------------------------------------------------------


def test_a_reminder_goes_out_on_its_day_before_the_due_day() -> None:
    command = RemindReport(BASE_ID, 2023, 14, cst(2023, 12, 17, 0, 0), "scheduler")
    spec(decider).given(REGISTERED, opened(2023)).when(command).then(
        ReportReminded(BASE_ID, CASE_ID, 2023, 14, date(2023, 12, 31), "2022.1")
    )


def test_a_reminder_cannot_go_out_early() -> None:
    command = RemindReport(BASE_ID, 2023, 3, cst(2023, 12, 27, 23, 59), "scheduler")
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(ReminderNotYetDue)


def test_a_reminder_the_policy_does_not_have_is_refused() -> None:
    command = RemindReport(BASE_ID, 2023, 7, cst(2023, 12, 28), "scheduler")
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(UnknownReminder)


def test_a_reminder_for_reporting_not_opened_is_refused() -> None:
    command = RemindReport(BASE_ID, 2023, 3, cst(2023, 12, 28), "scheduler")
    spec(decider).given(REGISTERED).when(command).raises(ReportingNotOpen)


def test_a_reminder_is_sent_once() -> None:
    sent = ReportReminded(BASE_ID, CASE_ID, 2023, 3, date(2023, 12, 31), "2022.1")
    command = RemindReport(BASE_ID, 2023, 3, cst(2023, 12, 29), "scheduler")
    spec(decider).given(REGISTERED, opened(2023), sent).when(command).then()


def test_no_reminder_once_the_report_is_in() -> None:
    command = RemindReport(BASE_ID, 2023, 3, cst(2023, 12, 28), "scheduler")
    spec(decider).given(REGISTERED, opened(2023), filed(2023)).when(command).then()


# --- filing ---------------------------------------------------------------------------------


def test_the_unit_files_its_annual_report_on_time() -> None:
    spec(decider).given(REGISTERED, opened(2023)).when(FILE).then(filed(2023))


def test_a_report_filed_on_the_due_day_in_beijing_is_on_time() -> None:
    command = replace(FILE, at=cst(2023, 12, 31, 23, 59))
    expected = filed(2023, filed_on=date(2023, 12, 31))
    spec(decider).given(REGISTERED, opened(2023)).when(command).then(expected)


def test_a_report_after_the_due_day_is_accepted_and_marked_late() -> None:
    overdue = AnnualReportOverdue(BASE_ID, CASE_ID, 2023, date(2023, 12, 31), "2022.1")
    command = replace(FILE, at=cst(2024, 1, 10))
    spec(decider).given(REGISTERED, opened(2023), overdue).when(command).then(
        replace(filed(2023), filed_on=date(2024, 1, 10), late=True)
    )


def test_a_report_cannot_be_filed_before_reporting_opens() -> None:
    spec(decider).given(REGISTERED).when(FILE).raises(ReportingNotOpen)


def test_only_the_base_unit_may_file_its_report() -> None:
    command = replace(FILE, by_unit="unit-other")
    error = spec(decider).given(REGISTERED, opened(2023)).when(command).raises(NotTheBaseUnit)
    assert error.status == 403


def test_a_report_is_filed_once() -> None:
    history = (REGISTERED, opened(2023), filed(2023))
    spec(decider).given(*history).when(FILE).raises(ReportAlreadyFiled)


def test_no_report_once_the_year_is_scored() -> None:
    history = (REGISTERED, opened(2023), proposed(2023, Grade.UNQUALIFIED, missing_report=True))
    command = replace(FILE, at=cst(2024, 2, 1))
    spec(decider).given(*history).when(command).raises(ReportingClosed)


@pytest.mark.parametrize(
    "command",
    [
        replace(FILE, summary=replace(SUMMARY, projects_landed="  ")),
        replace(FILE, summary=replace(SUMMARY, difficulties="")),
        replace(FILE, next_year_plan=""),
        replace(FILE, resource_library=replace(LIBRARY, haizhi_projects=-1)),
        replace(FILE, resource_library=replace(LIBRARY, last_updated_on=date(2023, 12, 21))),
        replace(FILE, attachments=(Attachment("a.pdf", "application/pdf", 1, "ABCD"),)),
        replace(FILE, attachments=(Attachment(" ", "application/pdf", 1, "ab" * 32),)),
    ],
    ids=["blank-part", "no-difficulties", "no-plan", "negative", "future", "hash", "name"],
)
def test_an_incomplete_or_malformed_report_is_refused(command: FileAnnualReport) -> None:
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(InvalidReport)


# --- forwarding -----------------------------------------------------------------------------


@pytest.mark.parametrize("cast", ["5301", "53", "530100", "530000"])
def test_the_local_cast_forwards_the_report(cast: str) -> None:
    command = ForwardReport(BASE_ID, 2023, cast, cst(2023, 12, 25), USER)
    spec(decider).given(REGISTERED, opened(2023), filed(2023)).when(command).then(
        AnnualReportForwarded(BASE_ID, CASE_ID, 2023, cast, date(2023, 12, 25), "2022.1")
    )


@pytest.mark.parametrize("cast", ["5302", "52", "", "5"])
def test_only_a_cast_covering_the_base_may_forward(cast: str) -> None:
    command = ForwardReport(BASE_ID, 2023, cast, cst(2023, 12, 25), USER)
    history = (REGISTERED, opened(2023), filed(2023))
    spec(decider).given(*history).when(command).raises(NotLocalCast)


def test_a_report_not_filed_cannot_be_forwarded() -> None:
    command = ForwardReport(BASE_ID, 2023, "5301", cst(2023, 12, 25), USER)
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(ReportNotFiled)


def test_forwarding_again_decides_nothing() -> None:
    forwarded = AnnualReportForwarded(BASE_ID, CASE_ID, 2023, "5301", date(2023, 12, 25), "2022.1")
    command = ForwardReport(BASE_ID, 2023, "53", cst(2023, 12, 26), USER)
    spec(decider).given(REGISTERED, opened(2023), filed(2023), forwarded).when(command).then()


# --- overdue --------------------------------------------------------------------------------


def test_a_report_missing_after_the_due_day_is_overdue() -> None:
    command = MarkReportOverdue(BASE_ID, 2023, cst(2024, 1, 1, 0, 0), "scheduler")
    spec(decider).given(REGISTERED, opened(2023)).when(command).then(
        AnnualReportOverdue(BASE_ID, CASE_ID, 2023, date(2023, 12, 31), "2022.1")
    )


def test_a_report_is_not_overdue_on_its_due_day_in_beijing() -> None:
    # 23:59 in Beijing is 15:59 UTC: still the due day.
    command = MarkReportOverdue(BASE_ID, 2023, cst(2023, 12, 31, 23, 59), "scheduler")
    spec(decider).given(REGISTERED, opened(2023)).when(command).raises(ReportNotYetOverdue)


def test_overdue_needs_reporting_opened() -> None:
    command = MarkReportOverdue(BASE_ID, 2023, cst(2024, 1, 2), "scheduler")
    spec(decider).given(REGISTERED).when(command).raises(ReportingNotOpen)


def test_a_filed_report_is_never_overdue() -> None:
    command = MarkReportOverdue(BASE_ID, 2023, cst(2024, 1, 2), "scheduler")
    spec(decider).given(REGISTERED, opened(2023), filed(2023)).when(command).then()


def test_marking_overdue_again_decides_nothing() -> None:
    overdue = AnnualReportOverdue(BASE_ID, CASE_ID, 2023, date(2023, 12, 31), "2022.1")
    command = MarkReportOverdue(BASE_ID, 2023, cst(2024, 1, 2), "scheduler")
    spec(decider).given(REGISTERED, opened(2023), overdue).when(command).then()
