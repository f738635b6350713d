"""Annual reports (Art. 10): opened, reminded, filed by the base, forwarded, overdue.

Reporting for year Y opens and falls due on the policy's days; the dates and reminder days
fixed at opening govern that year even if a later policy changes them. The scheduler's commands
are idempotent: a repeat, or a reminder or overdue mark that a filed report made pointless,
decides nothing. A report may be filed late, until the year is scored.
"""

from __future__ import annotations

from datetime import timedelta

from services.assessment.domain.base_state import Active, Reporting
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
    refused,
)
from services.assessment.domain.events import (
    AnnualReportFiled,
    AnnualReportForwarded,
    AnnualReportOverdue,
    Attachment,
    BaseEvent,
    ReportingOpened,
    ReportReminded,
)
from shared.cst import cst_date

_HEX = frozenset("0123456789abcdef")


def open_reporting(c: OpenReporting, base: Active) -> list[BaseEvent]:
    if c.year in base.reporting:
        return []
    if c.year < base.first_year:
        raise refused(YearBeforeDesignation, c, base, f"designated in {base.first_year}")
    if c.year in base.grades:
        raise refused(ReportingClosed, c, base, f"{c.year} has been scored")
    opens_on = c.policy.reporting_opens_on(c.year)
    if cst_date(c.at) < opens_on:
        raise refused(ReportingNotYetOpen, c, base, f"reporting for {c.year} opens {opens_on}")
    return [
        ReportingOpened(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            opens_on=opens_on,
            due_on=c.policy.reporting_due_on(c.year),
            reminder_days_before=c.policy.reminder_days_before,
            policy_version=c.policy.version,
        )
    ]


def remind(c: RemindReport, base: Active) -> list[BaseEvent]:
    reporting = _opened(c, base, c.year)
    if c.days_before not in reporting.reminder_days:
        raise refused(UnknownReminder, c, base, f"reminders are {reporting.reminder_days}")
    if c.days_before in reporting.reminded or reporting.filed:
        return []
    if cst_date(c.at) < reporting.due_on - timedelta(days=c.days_before):
        raise refused(ReminderNotYetDue, c, base, f"{c.days_before} days before {reporting.due_on}")
    return [
        ReportReminded(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            days_before=c.days_before,
            due_on=reporting.due_on,
            policy_version=reporting.policy_version,
        )
    ]


def file_report(c: FileAnnualReport, base: Active) -> list[BaseEvent]:
    reporting = _opened(c, base, c.year)
    if c.by_unit != base.unit_id:
        raise refused(NotTheBaseUnit, c, base, f"{c.by_unit} is not the base's unit")
    if c.year in base.grades:
        raise refused(ReportingClosed, c, base, f"{c.year} has been scored")
    if reporting.filed:
        raise refused(ReportAlreadyFiled, c, base, f"the report for {c.year} is in")
    problem = _report_problem(c)
    if problem:
        raise refused(InvalidReport, c, base, problem)
    filed_on = cst_date(c.at)
    return [
        AnnualReportFiled(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            filed_on=filed_on,
            late=filed_on > reporting.due_on,
            summary=c.summary,
            next_year_plan=c.next_year_plan,
            resource_library=c.resource_library,
            attachments=c.attachments,
            policy_version=reporting.policy_version,
        )
    ]


def forward_report(c: ForwardReport, base: Active) -> list[BaseEvent]:
    reporting = base.reporting.get(c.year)
    if reporting is None or not reporting.filed:
        raise refused(ReportNotFiled, c, base, f"no report for {c.year}")
    if not covers(c.by_jurisdiction, base.jurisdiction):
        raise refused(NotLocalCast, c, base, f"{c.by_jurisdiction} is not local to the base")
    if reporting.forwarded:
        return []
    return [
        AnnualReportForwarded(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            via_jurisdiction=c.by_jurisdiction,
            forwarded_on=cst_date(c.at),
            policy_version=reporting.policy_version,
        )
    ]


def mark_overdue(c: MarkReportOverdue, base: Active) -> list[BaseEvent]:
    reporting = _opened(c, base, c.year)
    if reporting.overdue or reporting.filed:
        return []
    if cst_date(c.at) <= reporting.due_on:
        raise refused(ReportNotYetOverdue, c, base, f"due {reporting.due_on}")
    return [
        AnnualReportOverdue(
            base_id=base.base_id,
            case_id=base.case_id,
            year=c.year,
            due_on=reporting.due_on,
            policy_version=reporting.policy_version,
        )
    ]


def covers(outer: str, inner: str) -> bool:
    """Whether jurisdiction `outer` (a province or prefecture) contains `inner`.

    Division codes may be written short ("5301") or padded ("530100"): a code covers every code
    it prefixes once trailing zero pairs are dropped.
    """
    short_outer, short_inner = _short(outer), _short(inner)
    return len(short_outer) >= 2 and short_inner.startswith(short_outer)


def valid_attachments(attachments: tuple[Attachment, ...]) -> bool:
    return all(
        a.name.strip() and a.size >= 0 and len(a.sha256) == 64 and set(a.sha256) <= _HEX
        for a in attachments
    )


def _short(code: str) -> str:
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _opened(c: object, base: Active, year: int) -> Reporting:
    reporting = base.reporting.get(year)
    if reporting is None:
        raise refused(ReportingNotOpen, c, base, f"reporting for {year} has not opened")
    return reporting


def _report_problem(c: FileAnnualReport) -> str | None:
    s = c.summary
    texts = (
        s.talent_introduced,
        s.projects_landed,
        s.academic_exchanges,
        s.technical_innovation,
        s.difficulties,
        c.next_year_plan,
    )
    if not all(t.strip() for t in texts):
        return "the work summary's five parts and next year's plan are all required"
    lib = c.resource_library
    if min(lib.overseas_societies, lib.haizhi_projects, lib.overseas_talents) < 0:
        return "resource library counts cannot be negative"
    if lib.last_updated_on > cst_date(c.at):
        return "the resource library cannot have been updated in the future"
    if not valid_attachments(c.attachments):
        return "each attachment needs a name, a size and a lowercase hex SHA-256"
    return None
