"""The year's grade list (stream per year), Art. 12.

The national department proposes the list of grades — each base's proposed grade, the policy's
suggestion beside it, and the reason where they differ — and may propose it again, as a new
revision, until the leading group approves it. The leading group approves the list as it
stands or amends grades on it, each amendment with its reason. Approval makes it final; the use
case then issues `FinaliseGrade` to each base on the list with the meeting's date.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.assessment.domain.commands import (
    Amendment,
    ApproveGradeList,
    GradeListCommand,
    ProposeGradeList,
)
from services.assessment.domain.errors import (
    GradeListAlreadyApproved,
    GradeListNotProposed,
    InvalidAmendment,
    InvalidApproval,
    InvalidGradeList,
    refused,
)
from services.assessment.domain.events import (
    GradeAmendment,
    GradeEntry,
    GradeListApproved,
    GradeListEvent,
    GradeListProposed,
    ProposedGrade,
)
from services.assessment.domain.policy import Grade
from shared.cst import cst_date
from shared.decider import Decider


@dataclass(frozen=True, slots=True)
class NotProposed:
    pass


@dataclass(frozen=True, slots=True)
class Proposed:
    year: int
    revision: int
    entries: tuple[ProposedGrade, ...]
    policy_version: str


@dataclass(frozen=True, slots=True)
class Approved:
    year: int
    meeting_ref: str


State = NotProposed | Proposed | Approved


def initial_state() -> State:
    return NotProposed()


def evolve(state: State, event: GradeListEvent) -> State:
    match event:
        case GradeListProposed():
            return Proposed(event.year, event.revision, event.entries, event.policy_version)
        case GradeListApproved():
            return Approved(event.year, event.meeting_ref)


def decide(command: GradeListCommand, state: State) -> list[GradeListEvent]:
    match command, state:
        case ProposeGradeList(), NotProposed():
            return [_proposal(command, state, revision=1)]
        case ProposeGradeList(), Proposed():
            _check_year(command, state, state.year)
            same = (_sorted(command.entries), command.policy_version)
            if same == (state.entries, state.policy_version):
                return []
            return [_proposal(command, state, revision=state.revision + 1)]
        case ProposeGradeList(), Approved():  # Art. 12: approved by the leading group, final
            raise refused(GradeListAlreadyApproved, command, state, f"{state.year} is final")
        case ApproveGradeList(), NotProposed():
            raise refused(GradeListNotProposed, command, state, f"nothing for {command.year}")
        case ApproveGradeList(), Proposed():
            _check_year(command, state, state.year)
            if not command.meeting_ref.strip() or command.meeting_date > cst_date(command.at):
                raise refused(InvalidApproval, command, state, "a held meeting and its ref")
            amendments = _amendments(command, state)
            amended = {a.base_id: a.grade for a in amendments}
            return [
                GradeListApproved(
                    year=state.year,
                    revision=state.revision,
                    entries=tuple(
                        GradeEntry(e.base_id, amended.get(e.base_id, e.grade))
                        for e in state.entries
                    ),
                    amendments=amendments,
                    meeting_ref=command.meeting_ref,
                    approved_on=command.meeting_date,
                    policy_version=state.policy_version,
                )
            ]
        case ApproveGradeList(), Approved():
            if command.meeting_ref == state.meeting_ref:
                return []
            raise refused(GradeListAlreadyApproved, command, state, f"by {state.meeting_ref}")
        case _:
            raise refused(InvalidGradeList, command, state, "no such transition")


def _proposal(c: ProposeGradeList, state: State, revision: int) -> GradeListProposed:
    base_ids = [e.base_id for e in c.entries]
    if not base_ids or len(set(base_ids)) != len(base_ids):
        raise refused(InvalidGradeList, c, state, "each base once, at least one base")
    return GradeListProposed(c.year, revision, _sorted(c.entries), c.policy_version)


def _amendments(c: ApproveGradeList, state: Proposed) -> tuple[GradeAmendment, ...]:
    """Art. 12: the leading group may set another grade for a base on the list, saying why."""
    proposed = {e.base_id: e.grade for e in state.entries}
    seen: set[str] = set()
    amendments = []
    for a in sorted(c.amendments, key=lambda a: a.base_id):
        problem = _amendment_problem(a, proposed, seen)
        if problem:
            raise refused(InvalidAmendment, c, state, problem)
        seen.add(a.base_id)
        amendments.append(GradeAmendment(a.base_id, proposed[a.base_id], a.grade, a.reason.strip()))
    return tuple(amendments)


def _amendment_problem(a: Amendment, proposed: dict[str, Grade], seen: set[str]) -> str | None:
    if a.base_id not in proposed:
        return f"{a.base_id} is not on the list"
    if a.base_id in seen:
        return f"{a.base_id} is amended twice"
    if a.grade is proposed[a.base_id]:
        return f"{a.base_id} is already proposed {a.grade}"
    if not a.reason.strip():
        return f"the amendment of {a.base_id} needs its reason"
    return None


def _check_year(c: GradeListCommand, state: State, year: int) -> None:
    if c.year != year:
        raise refused(InvalidGradeList, c, state, f"this is the list of {year}")


def _sorted(entries: tuple[ProposedGrade, ...]) -> tuple[ProposedGrade, ...]:
    return tuple(sorted(entries, key=lambda e: e.base_id))


decider: Decider[GradeListCommand, State, GradeListEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
