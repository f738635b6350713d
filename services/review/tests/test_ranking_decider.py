"""Specifications of a call's provincial recommendation (择优推荐, Notice §3(3))."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.review.domain.commands import (
    AddCandidate,
    DeclareConflictForRanking,
    DeclareNoConflictForRanking,
    NonRecommendation,
    SubmitRecommendationList,
    WithdrawCandidate,
)
from services.review.domain.errors import (
    CandidateFromOtherRanking,
    ConflictDeclarationMissing,
    DuplicateCandidate,
    InvalidQuota,
    NoCandidates,
    QuotaExceeded,
    RankingNotFound,
    ReasonsRequired,
    RecommendationListFinal,
    ReviewerFromApplicantUnit,
    ReviewerRecused,
    SeparationOfDutiesViolated,
    UnknownCandidate,
)
from services.review.domain.events import (
    CandidateAdded,
    CandidateWithdrawn,
    NotRecommendedEntry,
    RankedEntry,
    RankingConflictDeclared,
    RankingEvent,
    RankingNoConflictDeclared,
    RecommendationListSubmitted,
)
from services.review.domain.ranking import decider
from shared.testkit.spec import spec

AT = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)
RANKING, CALL, PROVINCE = "rk-53-2022", "call-53-2022", "53"
INTAKE, RANKER, PROV_ORG = "u-prov-intake", "u-prov-ranker", "org-53-cast"


def add(app: str, accepted_by: str = INTAKE, call_id: str = CALL) -> AddCandidate:
    return AddCandidate(
        RANKING,
        call_id,
        PROVINCE,
        app,
        f"rv-{app}",
        f"case-{app}",
        f"org-{app}",
        accepted_by,
        "system",
        AT,
    )


def added(app: str, accepted_by: str = INTAKE) -> CandidateAdded:
    return CandidateAdded(
        RANKING, CALL, PROVINCE, app, f"rv-{app}", f"case-{app}", f"org-{app}", accepted_by, AT
    )


def cleared(who: str = RANKER) -> RankingNoConflictDeclared:
    return RankingNoConflictDeclared(RANKING, who, PROV_ORG, AT)


def submit(
    ranked: tuple[str, ...],
    not_recommended: tuple[NonRecommendation, ...] = (),
    quota: int | None = None,
    by: str = RANKER,
) -> SubmitRecommendationList:
    return SubmitRecommendationList(RANKING, ranked, not_recommended, quota, by, PROV_ORG, AT)


def no(app: str, *reasons: str) -> NonRecommendation:
    return NonRecommendation(app, reasons)


THREE: list[RankingEvent] = [added("a"), added("b"), added("c"), cleared()]


def test_an_application_accepted_at_intake_becomes_a_candidate() -> None:
    spec(decider).given().when(add("a")).then(added("a"))


def test_more_candidates_join_the_same_call() -> None:
    spec(decider).given(added("a")).when(add("b", accepted_by="u-prov-2")).then(
        added("b", accepted_by="u-prov-2")
    )


def test_a_candidate_added_again_changes_nothing() -> None:
    spec(decider).given(added("a")).when(add("a")).then()


def test_a_candidate_of_another_call_is_refused() -> None:
    spec(decider).given(added("a")).when(add("b", call_id="call-53-2023")).raises(
        CandidateFromOtherRanking
    )


def test_a_ranker_declares_no_conflict_with_the_candidates() -> None:
    command = DeclareNoConflictForRanking(RANKING, RANKER, PROV_ORG, AT)
    spec(decider).given(added("a")).when(command).then(cleared())


def test_a_ranker_from_a_candidate_unit_cannot_declare_no_conflict() -> None:
    command = DeclareNoConflictForRanking(RANKING, RANKER, "org-b", AT)
    spec(decider).given(added("a"), added("b")).when(command).raises(ReviewerFromApplicantUnit)


def test_a_ranker_may_recuse() -> None:
    command = DeclareConflictForRanking(RANKING, "曾任b单位顾问", RANKER, PROV_ORG, AT)
    spec(decider).given(added("a")).when(command).then(
        RankingConflictDeclared(RANKING, RANKER, PROV_ORG, "曾任b单位顾问", AT)
    )


def test_nothing_to_declare_before_the_first_candidate() -> None:
    command = DeclareNoConflictForRanking(RANKING, RANKER, PROV_ORG, AT)
    spec(decider).given().when(command).raises(RankingNotFound)


def test_a_ranked_list_within_the_quota_is_submitted_with_reasons_for_the_others() -> None:
    command = submit(("c", "a"), (no("b", "海外渠道不足"),), quota=2)
    spec(decider).given(*THREE).when(command).then(
        RecommendationListSubmitted(
            RANKING,
            CALL,
            PROVINCE,
            2,
            (RankedEntry(1, "c", "rv-c", "case-c"), RankedEntry(2, "a", "rv-a", "case-a")),
            (NotRecommendedEntry("b", "rv-b", "case-b", ("海外渠道不足",)),),
            RANKER,
            AT,
        )
    )


def test_without_a_quota_every_candidate_may_be_recommended() -> None:
    produced = spec(decider).given(*THREE).when(submit(("a", "b", "c"))).decided()
    assert [entry.rank for entry in produced[0].ranked] == [1, 2, 3]


def test_none_may_be_recommended_if_each_has_reasons() -> None:
    command = submit((), (no("a", "x"), no("b", "y"), no("c", "z")), quota=1)
    produced = spec(decider).given(*THREE).when(command).decided()
    assert produced[0].ranked == ()


def test_a_list_over_the_quota_is_refused() -> None:
    command = submit(("a", "b"), (no("c", "x"),), quota=1)
    spec(decider).given(*THREE).when(command).raises(QuotaExceeded)


@pytest.mark.parametrize("quota", [0, -1])
def test_a_quota_below_one_is_refused(quota: int) -> None:
    command = submit(("a", "b", "c"), quota=quota)
    spec(decider).given(*THREE).when(command).raises(InvalidQuota)


@pytest.mark.parametrize(
    "command",
    [submit(("a", "b", "c", "z")), submit(("a", "b", "c"), (no("z", "x"),))],
    ids=["ranked", "not-recommended"],
)
def test_a_list_naming_an_unknown_candidate_is_refused(command: SubmitRecommendationList) -> None:
    spec(decider).given(*THREE).when(command).raises(UnknownCandidate)


@pytest.mark.parametrize(
    "command",
    [submit(("a", "a", "b", "c")), submit(("a", "b", "c"), (no("a", "x"),))],
    ids=["ranked-twice", "ranked-and-not"],
)
def test_a_list_naming_a_candidate_twice_is_refused(command: SubmitRecommendationList) -> None:
    spec(decider).given(*THREE).when(command).raises(DuplicateCandidate)


@pytest.mark.parametrize(
    "command",
    [submit(("a", "b")), submit(("a", "b"), (no("c"),)), submit(("a", "b"), (no("c", " "),))],
    ids=["left-out", "no-reasons", "blank-reasons"],
)
def test_a_candidate_not_recommended_without_reasons_is_refused(
    command: SubmitRecommendationList,
) -> None:
    spec(decider).given(*THREE).when(command).raises(ReasonsRequired)


def test_the_intake_reviewer_cannot_rank_the_candidates_they_accepted() -> None:
    history = [added("a"), added("b", accepted_by=RANKER), cleared()]
    command = submit(("a", "b"))
    spec(decider).given(*history).when(command).raises(SeparationOfDutiesViolated)


def test_a_ranker_who_has_not_declared_is_refused() -> None:
    history = [added("a"), added("b")]
    spec(decider).given(*history).when(submit(("a", "b"))).raises(ConflictDeclarationMissing)


def test_a_recused_ranker_is_refused() -> None:
    history = [*THREE, RankingConflictDeclared(RANKING, RANKER, PROV_ORG, "亲属", AT)]
    spec(decider).given(*history).when(submit(("a", "b", "c"))).raises(ReviewerRecused)


def test_a_ranker_of_a_candidate_unit_added_after_the_declaration_is_refused() -> None:
    history = [added("a"), cleared(), added("b")]
    command = SubmitRecommendationList(RANKING, ("a", "b"), (), None, RANKER, "org-b", AT)
    spec(decider).given(*history).when(command).raises(ReviewerFromApplicantUnit)


def test_a_withdrawn_application_leaves_the_candidates() -> None:
    command = WithdrawCandidate(RANKING, "b", "单位撤回", "system", AT)
    spec(decider).given(*THREE).when(command).then(CandidateWithdrawn(RANKING, "b", "单位撤回", AT))


def test_withdrawing_a_non_candidate_changes_nothing() -> None:
    command = WithdrawCandidate(RANKING, "z", "单位撤回", "system", AT)
    spec(decider).given(*THREE).when(command).then()


def test_a_withdrawn_candidate_is_no_longer_ranked() -> None:
    history = [*THREE, CandidateWithdrawn(RANKING, "b", "撤回", AT)]
    spec(decider).given(*history).when(submit(("a", "b", "c"))).raises(UnknownCandidate)
    produced = spec(decider).given(*history).when(submit(("c", "a"))).decided()
    assert [entry.application_id for entry in produced[0].ranked] == ["c", "a"]


def test_nothing_to_rank_once_every_candidate_is_withdrawn() -> None:
    history = [added("a"), cleared(), CandidateWithdrawn(RANKING, "a", "撤回", AT)]
    spec(decider).given(*history).when(submit(())).raises(NoCandidates)


SUBMITTED: list[RankingEvent] = [
    *THREE,
    RecommendationListSubmitted(
        RANKING,
        CALL,
        PROVINCE,
        None,
        (RankedEntry(1, "a", "rv-a", "case-a"), RankedEntry(2, "b", "rv-b", "case-b")),
        (NotRecommendedEntry("c", "rv-c", "case-c", ("x",)),),
        RANKER,
        AT,
    ),
]


def test_the_submitted_list_is_final() -> None:
    spec(decider).given(*SUBMITTED).when(submit(("b", "a"), (no("c", "x"),))).raises(
        RecommendationListFinal
    )


def test_the_same_list_sent_again_changes_nothing() -> None:
    spec(decider).given(*SUBMITTED).when(submit(("a", "b"), (no("c", "x"),))).then()


def test_no_candidate_joins_after_the_list_is_submitted() -> None:
    spec(decider).given(*SUBMITTED).when(add("d")).raises(RecommendationListFinal)


def test_a_listed_candidate_delivered_again_changes_nothing() -> None:
    spec(decider).given(*SUBMITTED).when(add("a")).then()


def test_no_withdrawal_from_a_submitted_list() -> None:
    command = WithdrawCandidate(RANKING, "a", "撤回", "system", AT)
    spec(decider).given(*SUBMITTED).when(command).raises(RecommendationListFinal)
