"""Certificates of the plaque (Art. 8, 14): their numbers, and whether they still hold.

Two small deciders. A *register* of one year hands out certificate numbers in sequence
(`HZJD-<year>-<seq:04>` for the national plaques; a province's own work-station series,
`<series>-<year>-<seq:03>` such as 云海智站-2022-001, in that province's register); the stream's
optimistic concurrency makes each number unique. The
*standing* of one base records what the assessment service decided about it — revoked
(Art. 13) or expired (Art. 14) — so the public certificate check is a projection of this
service's own events and rebuilds from its store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import assert_never

from services.review.domain.commands import (
    IssueCertificateNumber,
    RecordBaseExpiry,
    RecordBaseRevocation,
    RegisterCommand,
    StandingCommand,
)
from services.review.domain.events import (
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    CertificateNumberIssued,
    RegisterEvent,
    StandingEvent,
)
from shared.decider import Decider

CERTIFICATE_PREFIX = "HZJD"


def certificate_no(
    year: int, sequence: int, series: str = CERTIFICATE_PREFIX, width: int = 4
) -> str:
    return f"{series}-{year}-{sequence:0{width}d}"


# --- the register of one year ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Register:
    issued: int = 0


def register_initial_state() -> Register:
    return Register()


def register_evolve(state: Register, event: RegisterEvent) -> Register:
    match event:
        case CertificateNumberIssued():
            return Register(event.sequence)
        case _:
            assert_never(event)


def register_decide(command: RegisterCommand, state: Register) -> list[RegisterEvent]:
    match command:
        case IssueCertificateNumber():
            sequence = state.issued + 1
            return [
                CertificateNumberIssued(
                    command.year,
                    sequence,
                    certificate_no(command.year, sequence, command.series, command.width),
                    command.base_id,
                    command.case_id,
                    command.at,
                )
            ]
        case _:
            assert_never(command)


register: Decider[RegisterCommand, Register, RegisterEvent] = Decider(
    decide=register_decide, evolve=register_evolve, initial_state=register_initial_state
)


# --- the standing of one base ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InForce:
    """In force as far as this service knows."""


@dataclass(frozen=True, slots=True)
class Revoked:
    on: date


@dataclass(frozen=True, slots=True)
class Expired:
    on: date


StandingState = InForce | Revoked | Expired


def standing_initial_state() -> StandingState:
    return InForce()


def standing_evolve(state: StandingState, event: StandingEvent) -> StandingState:
    match event:
        case BaseRevocationRecorded():
            return Revoked(event.revoked_on)
        case BaseExpiryRecorded():
            return Expired(event.expired_on)
        case _:
            assert_never(event)


def standing_decide(command: StandingCommand, state: StandingState) -> list[StandingEvent]:
    match command, state:
        case _, Revoked() | Expired():
            # The base already ended: a redelivery, or the other ending racing in. The first
            # ending stands; the certificate's status does not change twice.
            return []
        case RecordBaseRevocation(), _:
            ids = (command.base_id, command.case_id)
            return [
                BaseRevocationRecorded(*ids, command.revoked_on, command.policy_version, command.at)
            ]
        case RecordBaseExpiry(), _:
            ids = (command.base_id, command.case_id)
            return [
                BaseExpiryRecorded(*ids, command.expired_on, command.policy_version, command.at)
            ]
        case _:
            raise AssertionError(f"unhandled {type(command).__name__}")


standing: Decider[StandingCommand, StandingState, StandingEvent] = Decider(
    decide=standing_decide, evolve=standing_evolve, initial_state=standing_initial_state
)


def ended_past_term(term_end: date, renewal: str | None, decided_on: date | None) -> date | None:
    """Art. 14 read for the certificate check once the term is over: the day the base ended,
    or None while a renewal filed in its window is undecided (the base stays designated).

    `renewal` is the state of the last request filed for this term (`in_review`, `returned`,
    `awaiting_assessment`, `granted`, `refused`, `withdrawn`; None: none filed) and
    `decided_on` the day it was refused or withdrawn. An ending decided after the term's end
    falls on its own day, one decided before it at the term's end.
    """
    if renewal in {"in_review", "returned", "awaiting_assessment"}:
        return None
    ended = date.fromordinal(term_end.toordinal() + 1)
    if renewal in {"refused", "withdrawn"} and decided_on is not None:
        return max(ended, decided_on)
    return ended
