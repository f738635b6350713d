"""Rectification of an unqualified year (Art. 12) and the confirmation of revocation (Art. 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.assessment.domain.base import decider
from services.assessment.domain.commands import (
    AcceptRectification,
    ConfirmRevocation,
    FileRectificationReport,
    MarkRectificationOverdue,
    RejectRectification,
)
from services.assessment.domain.errors import (
    InvalidRectificationReport,
    NoRectificationReport,
    NotTheBaseUnit,
    ReasonsRequired,
    RectificationAlreadyAccepted,
    RectificationNotFound,
    RectificationNotYetOverdue,
    RectificationReportPending,
    RevocationNotProposed,
)
from services.assessment.domain.events import (
    Attachment,
    BaseEvent,
    BaseRevoked,
    RectificationAccepted,
    RectificationOverdue,
    RectificationRejected,
    RectificationReportFiled,
    RevocationProposed,
)
from services.assessment.domain.policy import Grade
from services.assessment.tests.examples import (
    ATTACHMENTS,
    BASE_ID,
    CASE_ID,
    REGISTERED,
    UNIT_ID,
    USER,
    cst,
    final_year,
)
from shared.testkit.spec import spec

RECT = "rect-2023"  # ordered 2024-03-10, deadline 2024-06-08
ORDERED: tuple[BaseEvent, ...] = (REGISTERED, *final_year(2023, Grade.UNQUALIFIED))
FILE = FileRectificationReport(
    BASE_ID, RECT, UNIT_ID, "Resource library rebuilt.", ATTACHMENTS, cst(2024, 5, 1), USER
)
REPORTED = RectificationReportFiled(
    BASE_ID, CASE_ID, RECT, 2023, date(2024, 5, 1), False, FILE.summary, ATTACHMENTS, "2022.1"
)
ACCEPTED = RectificationAccepted(BASE_ID, CASE_ID, RECT, 2023, date(2024, 5, 20), "2022.1")
REJECTED = RectificationRejected(
    BASE_ID, CASE_ID, RECT, 2023, date(2024, 5, 20), ("No update log.",), "2022.1"
)
OVERDUE = RectificationOverdue(BASE_ID, CASE_ID, RECT, 2023, date(2024, 6, 8), "2022.1")


def accept(day: int = 20) -> AcceptRectification:
    return AcceptRectification(BASE_ID, RECT, cst(2024, 5, day), USER)


def reject(*reasons: str) -> RejectRectification:
    return RejectRectification(BASE_ID, RECT, reasons, cst(2024, 5, 20), USER)


def mark_overdue(month: int, day: int, hour: int = 10) -> MarkRectificationOverdue:
    return MarkRectificationOverdue(BASE_ID, RECT, cst(2024, month, day, hour), "scheduler")


# --- the base's rectification report --------------------------------------------------------


def test_the_unit_files_its_rectification_report() -> None:
    spec(decider).given(*ORDERED).when(FILE).then(REPORTED)


def test_a_rectification_report_after_the_deadline_is_marked_late() -> None:
    command = replace(FILE, at=cst(2024, 6, 9))
    spec(decider).given(*ORDERED, OVERDUE).when(command).then(
        replace(REPORTED, filed_on=date(2024, 6, 9), late=True)
    )


def test_only_the_base_unit_may_file_a_rectification_report() -> None:
    command = replace(FILE, by_unit="unit-other")
    spec(decider).given(*ORDERED).when(command).raises(NotTheBaseUnit)


def test_a_rectification_report_needs_an_ordered_rectification() -> None:
    command = replace(FILE, rectification_id="rect-1999")
    error = spec(decider).given(*ORDERED).when(command).raises(RectificationNotFound)
    assert error.status == 404


def test_a_second_report_waits_for_the_decision_on_the_first() -> None:
    spec(decider).given(*ORDERED, REPORTED).when(FILE).raises(RectificationReportPending)


def test_no_report_after_the_rectification_is_accepted() -> None:
    history = (*ORDERED, REPORTED, ACCEPTED)
    spec(decider).given(*history).when(FILE).raises(RectificationAlreadyAccepted)


@pytest.mark.parametrize(
    "command",
    [
        replace(FILE, summary=" "),
        replace(FILE, attachments=(Attachment("x.pdf", "application/pdf", 1, "not-a-hash"),)),
    ],
    ids=["blank-summary", "bad-hash"],
)
def test_an_empty_or_malformed_rectification_report_is_refused(
    command: FileRectificationReport,
) -> None:
    spec(decider).given(*ORDERED).when(command).raises(InvalidRectificationReport)


# --- the department's decision --------------------------------------------------------------


def test_the_department_accepts_the_rectification() -> None:
    spec(decider).given(*ORDERED, REPORTED).when(accept()).then(ACCEPTED)


def test_accepting_again_decides_nothing() -> None:
    spec(decider).given(*ORDERED, REPORTED, ACCEPTED).when(accept(21)).then()


def test_nothing_can_be_accepted_before_a_report_is_filed() -> None:
    spec(decider).given(*ORDERED).when(accept()).raises(NoRectificationReport)


def test_the_department_rejects_with_reasons_and_the_base_files_again() -> None:
    spec(decider).given(*ORDERED, REPORTED).when(reject("No update log.")).then(REJECTED)
    refiled = replace(FILE, at=cst(2024, 5, 30))
    spec(decider).given(*ORDERED, REPORTED, REJECTED).when(refiled).then(
        replace(REPORTED, filed_on=date(2024, 5, 30))
    )


@pytest.mark.parametrize("reasons", [(), ("  ",)], ids=["none", "blank"])
def test_a_rejection_needs_its_reasons(reasons: tuple[str, ...]) -> None:
    spec(decider).given(*ORDERED, REPORTED).when(reject(*reasons)).raises(ReasonsRequired)


def test_nothing_can_be_rejected_before_a_report_is_filed() -> None:
    spec(decider).given(*ORDERED).when(reject("No.")).raises(NoRectificationReport)


def test_an_accepted_rectification_cannot_be_rejected() -> None:
    history = (*ORDERED, REPORTED, ACCEPTED)
    spec(decider).given(*history).when(reject("No.")).raises(RectificationAlreadyAccepted)


# --- overdue --------------------------------------------------------------------------------


def test_a_rectification_without_a_report_after_the_deadline_is_overdue() -> None:
    spec(decider).given(*ORDERED).when(mark_overdue(6, 9, hour=0)).then(OVERDUE)


def test_a_rectification_is_not_overdue_on_its_deadline() -> None:
    command = mark_overdue(6, 8, hour=23)
    spec(decider).given(*ORDERED).when(command).raises(RectificationNotYetOverdue)


def test_marking_a_rectification_overdue_again_decides_nothing() -> None:
    spec(decider).given(*ORDERED, OVERDUE).when(mark_overdue(6, 10)).then()


def test_a_report_awaiting_the_decision_is_not_overdue() -> None:
    spec(decider).given(*ORDERED, REPORTED).when(mark_overdue(6, 9)).then()


def test_an_accepted_rectification_is_never_overdue() -> None:
    spec(decider).given(*ORDERED, REPORTED, ACCEPTED).when(mark_overdue(6, 9)).then()


def test_a_rejected_report_after_the_deadline_leaves_the_rectification_overdue() -> None:
    history = (*ORDERED, REPORTED, replace(REJECTED, rejected_on=date(2024, 6, 10)))
    spec(decider).given(*history).when(mark_overdue(6, 11)).then(OVERDUE)


def test_overdue_needs_an_ordered_rectification() -> None:
    command = replace(mark_overdue(6, 9), rectification_id="rect-1999")
    spec(decider).given(*ORDERED).when(command).raises(RectificationNotFound)


# --- Art. 13: the leading group confirms a proposed revocation -----------------------------


def test_the_leading_group_confirms_the_proposed_revocation() -> None:
    history = (
        *ORDERED,
        *final_year(2024, Grade.UNQUALIFIED),
        RevocationProposed(BASE_ID, CASE_ID, (2023, 2024), date(2025, 3, 10), "2022.1"),
    )
    command = ConfirmRevocation(BASE_ID, "LG-2025-2", cst(2025, 4, 1), USER)
    spec(decider).given(*history).when(command).then(
        BaseRevoked(BASE_ID, CASE_ID, date(2025, 4, 1), (2023, 2024), "LG-2025-2", "2022.1")
    )


def test_no_revocation_without_a_proposal() -> None:
    command = ConfirmRevocation(BASE_ID, "LG-2025-2", cst(2025, 4, 1), USER)
    spec(decider).given(*ORDERED).when(command).raises(RevocationNotProposed)
