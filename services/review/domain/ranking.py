"""The provincial recommendation of one call: 择优推荐 (Notice §3(3)).

One stream per call and province. Every application accepted at provincial intake becomes a
candidate; a provincial reviewer then submits one ranked list, within the quota if there is one,
giving reasons for each candidate not recommended. The list is final. Fairness is checked here,
against every candidate at once: the reviewer declares no conflict, belongs to no candidate's
unit and accepted none of them at intake. A reaction then records each outcome on its review.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import assert_never

from services.review.domain.commands import (
    AddCandidate,
    DeclareConflictForRanking,
    DeclareNoConflictForRanking,
    RankingCommand,
    SubmitRecommendationList,
    WithdrawCandidate,
)
from services.review.domain.errors import (
    CandidateFromOtherRanking,
    DuplicateCandidate,
    InvalidQuota,
    NoCandidates,
    QuotaExceeded,
    RankingNotFound,
    ReasonsRequired,
    RecommendationListFinal,
    UnknownCandidate,
)
from services.review.domain.events import (
    CandidateAdded,
    CandidateWithdrawn,
    Level,
    NotRecommendedEntry,
    RankedEntry,
    RankingConflictDeclared,
    RankingEvent,
    RankingNoConflictDeclared,
    RecommendationListSubmitted,
)
from services.review.domain.fairness import (
    Fairness,
    check_may_act,
    check_may_declare_no_conflict,
)
from shared.decider import Decider


@dataclass(frozen=True, slots=True)
class Candidate:
    application_id: str
    review_id: str
    case_id: str
    unit_id: str


@dataclass(frozen=True, slots=True)
class NoCandidateYet:
    pass


@dataclass(frozen=True, slots=True)
class Collecting:
    ranking_id: str
    call_id: str
    province: str
    candidates: tuple[Candidate, ...] = ()
    # The intake deciders are recorded at the province level: they may not rank.
    fairness: Fairness = field(default_factory=Fairness)


@dataclass(frozen=True, slots=True)
class Submitted:
    ranking_id: str
    ranked: tuple[str, ...]
    not_recommended: frozenset[str]


State = NoCandidateYet | Collecting | Submitted


def initial_state() -> State:
    return NoCandidateYet()


def evolve(state: State, event: RankingEvent) -> State:
    match event:
        case CandidateAdded():
            return _added(state, event)
        case CandidateWithdrawn():
            current = _collecting(state)
            remaining = tuple(
                c for c in current.candidates if c.application_id != event.application_id
            )
            return replace(current, candidates=remaining)
        case RankingNoConflictDeclared():
            current = _collecting(state)
            return replace(current, fairness=current.fairness.clear(event.reviewer))
        case RankingConflictDeclared():
            current = _collecting(state)
            return replace(current, fairness=current.fairness.recuse(event.reviewer))
        case RecommendationListSubmitted():
            ranked = tuple(entry.application_id for entry in event.ranked)
            others = frozenset(entry.application_id for entry in event.not_recommended)
            return Submitted(event.ranking_id, ranked, others)
        case _:
            assert_never(event)


def decide(command: RankingCommand, state: State) -> list[RankingEvent]:
    name = type(command).__name__
    match command, state:
        case AddCandidate(), NoCandidateYet():
            return [_candidate_added(command)]
        case WithdrawCandidate(), NoCandidateYet():
            return []
        case _, NoCandidateYet():
            raise RankingNotFound(f"{name}: no candidate in {command.ranking_id} yet")
        case SubmitRecommendationList(), Submitted() if _same_list(command, state):
            return []  # the same list, sent again
        case AddCandidate(), Submitted() if command.application_id in _listed(state):
            return []
        case _, Submitted():
            raise RecommendationListFinal(f"{name}: refused, the list was submitted")
        case AddCandidate(), _ if (command.call_id, command.province) != (
            state.call_id,
            state.province,
        ):
            raise CandidateFromOtherRanking(f"{name}: {command.application_id} is of another call")
        case AddCandidate(), _ if _find(state, command.application_id) is not None:
            return []
        case AddCandidate(), _:
            return [_candidate_added(command)]
        case WithdrawCandidate(), _ if _find(state, command.application_id) is not None:
            ranking_id, app = state.ranking_id, command.application_id
            return [CandidateWithdrawn(ranking_id, app, command.reason, command.at)]
        case WithdrawCandidate(), _:
            return []  # not a candidate any more
        case DeclareNoConflictForRanking(), _ if command.by in state.fairness.cleared:
            return []
        case DeclareNoConflictForRanking(), _:
            units = {c.unit_id for c in state.candidates}
            check_may_declare_no_conflict(state.fairness, command.by, command.by_org, units)
            return [
                RankingNoConflictDeclared(state.ranking_id, command.by, command.by_org, command.at)
            ]
        case DeclareConflictForRanking(), _ if command.by in state.fairness.recused:
            return []
        case DeclareConflictForRanking(), _:
            ranking_id, by, org = state.ranking_id, command.by, command.by_org
            return [RankingConflictDeclared(ranking_id, by, org, command.reason, command.at)]
        case SubmitRecommendationList(), _:
            return [_list_submitted(command, state)]
        case _:
            assert_never(command)


def _list_submitted(c: SubmitRecommendationList, state: Collecting) -> RecommendationListSubmitted:
    name = type(c).__name__
    if not state.candidates:
        raise NoCandidates(f"{name}: every candidate was withdrawn")
    units = {candidate.unit_id for candidate in state.candidates}
    check_may_act(state.fairness, c.by, c.by_org, units, previous_level=Level.PROVINCE)
    if c.quota is not None and c.quota < 1:
        raise InvalidQuota(f"{name}: quota {c.quota}")
    candidates = {candidate.application_id: candidate for candidate in state.candidates}
    named = c.ranked + tuple(n.application_id for n in c.not_recommended)
    unknown = [app for app in named if app not in candidates]
    if unknown:
        raise UnknownCandidate(f"{name}: not candidates: {', '.join(unknown)}", unknown=unknown)
    if len(set(named)) != len(named):
        raise DuplicateCandidate(f"{name}: an application is named twice")
    if c.quota is not None and len(c.ranked) > c.quota:
        raise QuotaExceeded(f"{name}: {len(c.ranked)} recommended, quota {c.quota}")
    reasons = {n.application_id: _reasons(n.reasons) for n in c.not_recommended}
    lacking = [app for app in candidates if app not in c.ranked and not reasons.get(app)]
    if lacking:
        raise ReasonsRequired(f"{name}: not recommended without reasons: {', '.join(lacking)}")
    ranked = tuple(
        RankedEntry(rank, app, candidates[app].review_id, candidates[app].case_id)
        for rank, app in enumerate(c.ranked, start=1)
    )
    not_recommended = tuple(
        NotRecommendedEntry(app, candidates[app].review_id, candidates[app].case_id, why)
        for app, why in reasons.items()
    )
    return RecommendationListSubmitted(
        state.ranking_id,
        state.call_id,
        state.province,
        c.quota,
        ranked,
        not_recommended,
        c.by,
        c.at,
    )


def _candidate_added(c: AddCandidate) -> CandidateAdded:
    return CandidateAdded(
        c.ranking_id,
        c.call_id,
        c.province,
        c.application_id,
        c.review_id,
        c.case_id,
        c.unit_id,
        c.accepted_by,
        c.at,
    )


def _added(state: State, e: CandidateAdded) -> Collecting:
    current = (
        state if isinstance(state, Collecting) else Collecting(e.ranking_id, e.call_id, e.province)
    )
    candidate = Candidate(e.application_id, e.review_id, e.case_id, e.unit_id)
    return replace(
        current,
        candidates=(*current.candidates, candidate),
        fairness=current.fairness.decided(Level.PROVINCE, e.accepted_by),
    )


def _collecting(state: State) -> Collecting:
    assert isinstance(state, Collecting), "only a ranking still collecting changes so"
    return state


def _find(state: Collecting, application_id: str) -> Candidate | None:
    return next((c for c in state.candidates if c.application_id == application_id), None)


def _reasons(reasons: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(r.strip() for r in reasons if r.strip())


def _listed(state: Submitted) -> frozenset[str]:
    return frozenset(state.ranked) | state.not_recommended


def _same_list(c: SubmitRecommendationList, state: Submitted) -> bool:
    others = frozenset(n.application_id for n in c.not_recommended)
    return c.ranked == state.ranked and others == state.not_recommended


decider: Decider[RankingCommand, State, RankingEvent] = Decider(
    decide=decide, evolve=evolve, initial_state=initial_state
)
