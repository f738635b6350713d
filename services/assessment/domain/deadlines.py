"""What the clock calls for: the next scheduler command a base owes at an instant.

The scheduler asks `next_due` again after each command until it answers None, so a clock that
jumps years ahead replays every deadline in between in date order — reporting opened before
it is reminded, a window opened before the term expires. A reminder whose due day has passed
is skipped (the overdue fact says more), and so is a window whose term has already ended. A
base whose term ended while its renewal is pending owes no expiry: review's decision ends it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.assessment.domain import station
from services.assessment.domain.base_state import Active, RectificationStage, State
from services.assessment.domain.commands import (
    BaseCommand,
    ExpireBase,
    ExpireWorkstation,
    MarkRectificationOverdue,
    MarkReportOverdue,
    OpenRenewalWindow,
    OpenReporting,
    RemindReport,
    StationCommand,
)
from services.assessment.domain.policy import AssessmentPolicy
from shared.cst import cst_date

_DAY = timedelta(days=1)


def next_due(state: State, at: datetime, policy: AssessmentPolicy, by: str) -> BaseCommand | None:
    """The earliest deadline that has come and is not yet an event; None if there is none."""
    if not isinstance(state, Active):
        return None  # revoked and expired bases owe nothing
    due = sorted(_candidates(state, at, policy, by), key=lambda pair: pair[0])
    return due[0][1] if due else None


def _candidates(
    base: Active, at: datetime, policy: AssessmentPolicy, by: str
) -> list[tuple[date, BaseCommand]]:
    today, base_id = cst_date(at), base.base_id
    found: list[tuple[date, BaseCommand]] = []

    def when(day: date, command: BaseCommand) -> None:
        if day <= today:
            found.append((day, command))

    for year in range(base.first_year, today.year + 1):  # Art. 10
        if year not in base.reporting and year not in base.grades:
            when(policy.reporting_opens_on(year), OpenReporting(base_id, year, policy, at, by))
    for year, reporting in base.reporting.items():
        if reporting.filed:
            continue
        if today <= reporting.due_on:
            for days in sorted(set(reporting.reminder_days) - reporting.reminded, reverse=True):
                day = reporting.due_on - timedelta(days=days)
                when(day, RemindReport(base_id, year, days, at, by))
        if not reporting.overdue:
            when(reporting.due_on + _DAY, MarkReportOverdue(base_id, year, at, by))
    for rectification_id, order in base.rectifications.items():  # Art. 12
        if order.stage is RectificationStage.ORDERED and not order.overdue:
            overdue = MarkRectificationOverdue(base_id, rectification_id, at, by)
            when(order.deadline + _DAY, overdue)
    if base.window_opened_for != base.term_end and today <= base.term_end:  # Art. 14
        when(
            policy.renewal_window_opens_on(base.term_end),
            OpenRenewalWindow(base_id, policy, at, by),
        )
    if not base.pending_past_term:
        when(base.term_end + _DAY, ExpireBase(base_id, at, by))
    return found


def station_next_due(state: station.State, at: datetime, by: str) -> StationCommand | None:
    """A tracked work station owes its expiry after its term; nothing else is scheduled."""
    if isinstance(state, station.Tracked) and cst_date(at) > state.term_end:
        return ExpireWorkstation(state.station_id, at, by)
    return None
