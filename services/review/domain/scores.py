"""Totals and averages of the scores given in a review, for the read models that show them.

Pure: the projection passes the review's ScoreRecorded events. A reviewer may correct a score;
the latest for a criterion counts. Only the scores of one revision are compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.review.domain.events import Level, ScoreRecorded

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LevelScores:
    level: Level
    totals: tuple[tuple[str, int], ...]  # (reviewer, sum of their criteria), by reviewer
    average_total: Decimal  # the mean of the reviewers' totals
    criterion_averages: tuple[tuple[str, Decimal], ...]  # (criterion, mean score), by criterion


def score_sheet(scores: Iterable[ScoreRecorded], revision: int) -> tuple[LevelScores, ...]:
    """Per level, in the order of the chain: each reviewer's total and the averages."""
    latest: dict[tuple[Level, str, str], int] = {}
    for s in scores:
        if s.revision == revision:
            latest[(s.level, s.reviewer, s.criterion)] = s.score
    sheets = []
    for level in Level:
        given = {(who, what): n for (at, who, what), n in latest.items() if at is level}
        if not given:
            continue
        totals: dict[str, int] = {}
        by_criterion: dict[str, list[int]] = {}
        for (who, what), n in given.items():
            totals[who] = totals.get(who, 0) + n
            by_criterion.setdefault(what, []).append(n)
        sheets.append(
            LevelScores(
                level,
                tuple(sorted(totals.items())),
                _mean(totals.values()),
                tuple((what, _mean(ns)) for what, ns in sorted(by_criterion.items())),
            )
        )
    return tuple(sheets)


def _mean(values: Iterable[int]) -> Decimal:
    numbers = list(values)
    return (Decimal(sum(numbers)) / len(numbers)).quantize(_CENT, ROUND_HALF_UP)
