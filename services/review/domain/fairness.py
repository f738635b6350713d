"""Fairness of a review, shared by every decider of this service.

A reviewer declares no conflict of interest before deciding or scoring; one from the applicant's
own unit is conflicted whatever they declare; one who declared a conflict is recused. Whoever
decided at one level may not take the next level's decision on the same case.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.review.domain.errors import (
    ConflictDeclarationMissing,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
)
from services.review.domain.events import Level


@dataclass(frozen=True, slots=True)
class Fairness:
    cleared: frozenset[str] = frozenset()
    recused: frozenset[str] = frozenset()
    deciders: frozenset[tuple[Level, str]] = frozenset()

    def clear(self, reviewer: str) -> Fairness:
        return Fairness(self.cleared | {reviewer}, self.recused, self.deciders)

    def recuse(self, reviewer: str) -> Fairness:
        return Fairness(self.cleared - {reviewer}, self.recused | {reviewer}, self.deciders)

    def decided(self, level: Level, reviewer: str) -> Fairness:
        return Fairness(self.cleared, self.recused, self.deciders | {(level, reviewer)})


def check_may_declare_no_conflict(
    fairness: Fairness, by: str, by_org: str, applicant_units: Collection[str]
) -> None:
    if by_org in applicant_units:
        raise ReviewerFromApplicantUnit(f"{by} of {by_org} cannot review its own application")
    if by in fairness.recused:
        raise ReviewerRecused(f"{by} declared a conflict of interest and cannot withdraw it")


def check_may_act(
    fairness: Fairness,
    by: str,
    by_org: str,
    applicant_units: Collection[str],
    previous_level: Level | None,
) -> None:
    """Refuse a decision or a score by a conflicted, undeclared or previous-level reviewer."""
    check_may_declare_no_conflict(fairness, by, by_org, applicant_units)
    if by not in fairness.cleared:
        raise ConflictDeclarationMissing(f"{by} has not declared no conflict of interest")
    check_separation(fairness, by, previous_level)


def check_separation(fairness: Fairness, by: str, previous_level: Level | None) -> None:
    if previous_level is not None and (previous_level, by) in fairness.deciders:
        raise SeparationOfDutiesViolated(
            f"{by} decided at {previous_level} and cannot decide at the next level",
            previous_level=previous_level,
        )
