"""A base's deadlines: what its unit must do by a day, and the reminders told before it.

One stream per base, `deadlines-<base id>`, so that everything that may end a reminder — the
report filed, the request made, the base revoked — and the reminder itself are decided one
after the other on the same stream: a reminder is decided only while its deadline is open,
and two ticks (two replicas, a restart) deciding the same reminder conflict on the stream, the
second finding it told. Each (deadline, lead) is reminded once; the notice that tells it
(`remind-<deadline id>-<lead>d`) is issued in the same transaction as `DeadlineReminded`.

Which lead is due (`due_lead`): the nearest lead day (the deadline minus `REMINDER_LEADS` days,
CST dates) that has come, as long as the deadline has not passed — and only a lead day after
the day the deadline became known: the order's own notice already told it. A lead day the
clock jumped over (the service down, the development clock moved) is not told late: the nearer
one, when it comes, is the reminder that says how many days are left; and once a nearer lead
was told, no farther one is (a clock moved back).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any, assert_never

from shared.decider import Decider

from .events import (
    DeadlineMet,
    DeadlineReminded,
    DeadlineReopened,
    DeadlinesEnded,
    DeadlineSet,
    Fact,
    Obligation,
)
from .rules import REMINDER_LEADS


def deadline_id(obligation: Obligation, base_id: str, key: str) -> str:
    """`sha256(obligation, base id, key)[:32]`: the same from the event that sets the deadline
    and from those that meet it, whatever the ids hold, and short enough that its reminder's
    notice id fits a mail header's line unfolded (`X-HaiZhi-Notice`)."""
    return hashlib.sha256(f"{obligation}\n{base_id}\n{key}".encode()).hexdigest()[:32]


def reminder_id(deadline: str, lead_days: int) -> str:
    """The notice of the reminder `lead_days` before the deadline (its stream: notice-<this>)."""
    return f"remind-{deadline}-{lead_days}d"


def due_lead(
    due_on: date, known_on: date, today: date, leads: tuple[int, ...] = REMINDER_LEADS
) -> int | None:
    """The lead (days before `due_on`) whose reminder is due `today`; None when none is: the
    deadline has passed, no lead day has come, or the ones that have came before it was known."""
    if today > due_on:
        return None
    come = [
        lead for lead in leads if lead > 0 and known_on < due_on - timedelta(days=lead) <= today
    ]
    return min(come) if come else None


def still_to_remind(lead: int, reminded: Iterable[int]) -> bool:
    """Whether `lead` is yet to be told: not told, nor a nearer one (a clock moved back after
    the 3-day reminder does not bring the 14-day one)."""
    return all(lead < told for told in reminded)


@dataclass(frozen=True, slots=True)
class SetDeadline:
    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    due_on: date
    known_on: date
    upstream: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True)
class MeetDeadline:
    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    upstream: str


@dataclass(frozen=True, slots=True)
class ReopenDeadline:
    base_id: str
    case_id: str
    deadline_id: str
    obligation: Obligation
    upstream: str


@dataclass(frozen=True, slots=True)
class EndDeadlines:
    base_id: str
    case_id: str
    upstream: str


@dataclass(frozen=True, slots=True)
class Remind:
    """Remind of `deadline_id` if a lead of it is due on `today` (the service's clock, CST)."""

    base_id: str
    deadline_id: str
    today: date


Command = SetDeadline | MeetDeadline | ReopenDeadline | EndDeadlines | Remind
Event = DeadlineSet | DeadlineMet | DeadlineReopened | DeadlinesEnded | DeadlineReminded


@dataclass(frozen=True, slots=True)
class Deadline:
    #: None while only its meeting has been read (the request came through the application
    #: service's consumer before the window through the assessment's: no order holds).
    set: DeadlineSet | None
    met: bool = False
    reminded: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Owed:
    deadlines: Mapping[str, Deadline] = field(default_factory=dict)
    ended: bool = False


def _fields(command: Any) -> dict[str, Any]:
    return {f.name: getattr(command, f.name) for f in fields(command)}


def decide(command: Command, state: Owed) -> list[Event]:
    if state.ended:
        return []  # a revoked or expired base owes nothing
    match command:
        case SetDeadline():
            known = state.deadlines.get(command.deadline_id)
            return (
                []
                if known is not None and known.set is not None
                else [DeadlineSet(**_fields(command))]
            )
        case MeetDeadline():
            known = state.deadlines.get(command.deadline_id)
            return [] if known is not None and known.met else [DeadlineMet(**_fields(command))]
        case ReopenDeadline():
            known = state.deadlines.get(command.deadline_id)
            if known is None or not known.met:
                return []
            return [DeadlineReopened(**_fields(command))]
        case EndDeadlines():
            return [DeadlinesEnded(**_fields(command))] if state.deadlines else []
        case Remind():
            known = state.deadlines.get(command.deadline_id)
            if known is None or known.set is None or known.met:
                return []
            d = known.set
            lead = due_lead(d.due_on, d.known_on, command.today)
            if lead is None or not still_to_remind(lead, known.reminded):
                return []
            return [
                DeadlineReminded(
                    base_id=d.base_id,
                    case_id=d.case_id,
                    deadline_id=d.deadline_id,
                    obligation=d.obligation,
                    lead_days=lead,
                    on=command.today,
                    notice_id=reminder_id(d.deadline_id, lead),
                )
            ]
        case _:
            assert_never(command)


def evolve(state: Owed, event: Event) -> Owed:
    match event:
        case DeadlinesEnded():
            return replace(state, ended=True)
        case DeadlineSet():
            known = state.deadlines.get(event.deadline_id, Deadline(None))
            changed = replace(known, set=event)
        case DeadlineMet():
            changed = replace(state.deadlines.get(event.deadline_id, Deadline(None)), met=True)
        case DeadlineReopened():
            changed = replace(state.deadlines[event.deadline_id], met=False)
        case DeadlineReminded():
            known = state.deadlines[event.deadline_id]
            changed = replace(known, reminded=known.reminded | {event.lead_days})
        case _:
            assert_never(event)
    return replace(state, deadlines={**state.deadlines, event.deadline_id: changed})


decider: Decider[Command, Owed, Event] = Decider(decide, evolve, Owed)
