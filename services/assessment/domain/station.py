"""A provincial work station (省科协海智计划工作站, Notice §5(3)), stream per `station_id`.

A station is not a national base: the Measures' term, annual assessment, grade list and
revocation do not apply to it. Its province may adopt its own station policy (a `[workstation]`
section with `term_years` in its provincial policy); then the station's term is tracked and it
expires at the end. Where the province has none, the station is recorded as not assessed, with
the reason, and nothing more happens here (our decision, docs/domain.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import assert_never

from services.assessment.domain.commands import (
    ExpireWorkstation,
    RecordWorkstation,
    StationCommand,
)
from services.assessment.domain.errors import (
    InvalidTerm,
    TermNotEnded,
    WorkstationAlreadyRecorded,
    WorkstationNotFound,
    WorkstationNotTracked,
    refused,
)
from services.assessment.domain.events import (
    StationEvent,
    WorkstationExpired,
    WorkstationNotAssessed,
    WorkstationRegistered,
)
from shared.cst import cst_date, term_end
from shared.decider import Decider


def no_policy_reason(province: str) -> str:
    return f"省级工作站无考核政策 / no work-station assessment policy in province {province}"


@dataclass(frozen=True, slots=True)
class Unrecorded:
    pass


@dataclass(frozen=True, slots=True)
class NotAssessed:
    station_id: str
    case_id: str


@dataclass(frozen=True, slots=True)
class Tracked:
    station_id: str
    case_id: str
    term_end: date
    policy_version: str


@dataclass(frozen=True, slots=True)
class Ended:
    station_id: str
    case_id: str


State = Unrecorded | NotAssessed | Tracked | Ended


def initial_state() -> State:
    return Unrecorded()


def evolve(state: State, event: StationEvent) -> State:
    match event:
        case WorkstationRegistered():
            return Tracked(event.station_id, event.case_id, event.term_end, event.policy_version)
        case WorkstationNotAssessed():
            return NotAssessed(event.station_id, event.case_id)
        case WorkstationExpired():
            return Ended(event.station_id, event.case_id)
        case _:
            assert_never(event)


def decide(command: StationCommand, state: State) -> list[StationEvent]:
    match command, state:
        case RecordWorkstation(), Unrecorded():
            return _record(command, state)
        case RecordWorkstation(), NotAssessed() | Tracked() | Ended():
            if (command.station_id, command.case_id) == (state.station_id, state.case_id):
                return []  # redelivered
            raise refused(WorkstationAlreadyRecorded, command, state, f"case {state.case_id}")
        case ExpireWorkstation(), Unrecorded():
            raise refused(WorkstationNotFound, command, state, f"no station {command.station_id}")
        case ExpireWorkstation(), NotAssessed():
            raise refused(WorkstationNotTracked, command, state, "no station policy: no term")
        case ExpireWorkstation(), Tracked():
            if cst_date(command.at) <= state.term_end:
                raise refused(TermNotEnded, command, state, f"the term ends {state.term_end}")
            return [
                WorkstationExpired(
                    station_id=state.station_id,
                    case_id=state.case_id,
                    expired_on=state.term_end + timedelta(days=1),
                    term_end=state.term_end,
                    policy_version=state.policy_version,
                )
            ]
        case ExpireWorkstation(), Ended():
            return []
        case _:
            raise refused(WorkstationNotFound, command, state, "no such transition")


def _record(c: RecordWorkstation, state: State) -> list[StationEvent]:
    if c.policy is None:
        return [
            WorkstationNotAssessed(
                station_id=c.station_id,
                case_id=c.case_id,
                unit_id=c.unit_id,
                unit_name=c.unit_name,
                province=c.province,
                jurisdiction=c.jurisdiction,
                certificate_no=c.certificate_no,
                approved_on=c.approved_on,
                reason=no_policy_reason(c.province),
            )
        ]
    ends = term_end(c.approved_on, c.policy.term_years)
    if ends < c.approved_on:
        raise refused(InvalidTerm, c, state, f"{c.approved_on}..{ends}")
    return [
        WorkstationRegistered(
            station_id=c.station_id,
            case_id=c.case_id,
            unit_id=c.unit_id,
            unit_name=c.unit_name,
            province=c.province,
            jurisdiction=c.jurisdiction,
            certificate_no=c.certificate_no,
            approved_on=c.approved_on,
            term_start=c.approved_on,
            term_end=ends,
            policy_version=c.policy.version,
        )
    ]


decider: Decider[StationCommand, State, StationEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
