"""A call for applications (申报通知): a province's call for a year, open until its deadline.

A provincial officer opens it with its terms; the scheduler closes it once the deadline has
come. Applications read it through `snapshot`, taken by the use case when they are drafted,
asked to join the work station programme, or submitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeAlias, assert_never

from shared.cst import CST, cst_date, end_of_day
from shared.decider import Decider

from .commands import CallCommand, CallSnapshot, CloseCall, OpenCall
from .errors import (
    CallAlreadyOpened,
    CallNotFound,
    DeadlineNotReached,
    InvalidCall,
    OutsideJurisdiction,
    refused,
)
from .events import MATERIAL_SLOTS, CallClosed, CallEvent, CallOpened, CallStatus, Slot


@dataclass(frozen=True, slots=True)
class NoCall:
    pass


@dataclass(frozen=True, slots=True)
class Accepting:
    opened: CallOpened


@dataclass(frozen=True, slots=True)
class Closed:
    opened: CallOpened


CallState: TypeAlias = NoCall | Accepting | Closed


def initial_state() -> CallState:
    return NoCall()


def evolve(state: CallState, event: CallEvent) -> CallState:
    match event:
        case CallOpened():
            return Accepting(event)
        case CallClosed():
            return Closed(state.opened) if isinstance(state, Accepting) else state
        case _:
            assert_never(event)


def decide(command: CallCommand, state: CallState) -> list[CallEvent]:
    match (command, state):
        case (OpenCall(), NoCall()):
            _check(command, state)
            return [_opened(command)]
        case (OpenCall(), Accepting(opened=opened) | Closed(opened=opened)) if (
            replace(_opened(command), opened_on=opened.opened_on) == opened
        ):
            return []
        case (OpenCall(), _):
            raise refused(CallAlreadyOpened, command, state, f"{command.call_id} has other terms")
        case (CloseCall(at=at), Accepting(opened=opened)):
            if at < opened.deadline:
                deadline = opened.deadline.isoformat()
                why = f"the call stays open until {deadline}"
                raise refused(DeadlineNotReached, command, state, why, deadline=deadline)
            return [CallClosed(opened.call_id, opened.province, opened.deadline, closed_at=at)]
        case (CloseCall(), Closed()):
            return []
        case (CloseCall(), _):
            raise refused(CallNotFound, command, state, f"no call {command.call_id}")
        case _:
            assert_never(command)


def snapshot(state: CallState) -> CallSnapshot:
    """The call as an application command carries it."""
    match state:
        case Accepting(opened=o) | Closed(opened=o):
            status = CallStatus.OPEN if isinstance(state, Accepting) else CallStatus.CLOSED
            return CallSnapshot(
                o.call_id, o.province, status, o.deadline, o.required_slots, o.allows_workstation,
                o.opened_on, o.additional_materials,
            )  # fmt: skip
        case NoCall():
            raise CallNotFound("no such call for applications")
        case _:
            assert_never(state)


def _check(command: OpenCall, state: CallState) -> None:
    if command.by_jurisdiction != command.province:
        raise refused(
            OutsideJurisdiction,
            command,
            state,
            f"an officer of {command.by_jurisdiction} cannot open a call for {command.province}",
        )
    problems = []
    if len(command.province) != 2 or not command.province.isdigit():
        problems.append("province must be a 2-digit division code")
    if not command.title.strip():
        problems.append("title is empty")
    slots = command.required_slots
    if len(set(slots)) < len(slots):
        problems.append("required_slots must name each material once")
    missing = [str(slot) for slot in MATERIAL_SLOTS if slot not in slots]
    if missing:  # Art. 7: a call may ask for more, never for less
        problems.append(f"required_slots must include the Art. 7 materials: {', '.join(missing)}")
    if Slot.EXTRA in slots:
        problems.append("required_slots cannot require 'extra': name additional_materials")
    names = [name.strip() for name in command.additional_materials]
    if any(not name or len(name) > 100 for name in names) or len(set(names)) < len(names):
        problems.append("additional_materials must be distinct names of 1 to 100 characters")
    for n, c in enumerate(command.contacts, start=1):
        if not (c.name.strip() and c.phone.strip() and _EMAIL.match(c.email)):
            problems.append(f"contact {n} needs a name, a phone and an email address")
    where = command.submission_address
    if where is not None and not (
        where.address.strip() and where.recipient.strip() and re.fullmatch(r"\d{6}", where.postcode)
    ):
        problems.append("submission_address needs an address, a 6-digit postcode, a recipient")
    if command.paper_copies < 0:
        problems.append("paper_copies cannot be negative")
    if command.deadline_time is not None and command.deadline_time.tzinfo is not None:
        problems.append("deadline_time is a Beijing wall-clock time, without a zone")
    elif _deadline(command) <= command.at:
        problems.append("the deadline has already passed")
    if problems:
        raise refused(InvalidCall, command, state, "; ".join(problems), problems=problems)


def _opened(command: OpenCall) -> CallOpened:
    return CallOpened(
        call_id=command.call_id,
        province=command.province,
        year=command.year,
        title=command.title,
        deadline=_deadline(command),
        required_slots=command.required_slots,
        allows_workstation=command.allows_workstation,
        paper_copies=command.paper_copies,
        opened_on=cst_date(command.at),
        additional_materials=tuple(name.strip() for name in command.additional_materials),
        contacts=command.contacts,
        submission_address=command.submission_address,
    )


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _deadline(command: OpenCall) -> datetime:
    """Notice §5(2) names a day (2022-04-30): by default the call stays open all that day."""
    if command.deadline_time is None:
        return end_of_day(command.deadline_on)
    wall = command.deadline_time.replace(tzinfo=None)
    return datetime.combine(command.deadline_on, wall, CST).astimezone(UTC)


decider = Decider(decide=decide, evolve=evolve, initial_state=initial_state)
