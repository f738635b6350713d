"""Fairness and authorisation over HTTP: declarations before content, conflicts, separation of
duties, jurisdiction, roles, and bad input refused as problems with nothing appended."""

from __future__ import annotations

from typing import Any

from shared.testkit.service import RunningService

from .scenario import (
    AUDITOR,
    GUIZHOU,
    KUNMING,
    NATION,
    QUJING,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    Reviewer,
    act,
    declare,
    post,
    review_of,
    through_province,
)

PROBLEM = "application/problem+json"


async def opened(service: RunningService, route: str = "via_prefecture") -> Application:
    app = Application(route=route, jurisdiction="530102" if route == "via_prefecture" else "53")
    await app.submit(service)
    await review_of(service, app)
    return app


async def appended(service: RunningService) -> int:
    return len(await service.kernel.store.read_all())


async def test_a_reviewer_reads_the_content_only_after_declaring_no_conflict(
    service: RunningService,
) -> None:
    app = await opened(service)
    for what in ("dossier", "scores"):
        refused = await service.client.get(
            f"/reviews/{app.review_id}/{what}", headers=KUNMING.headers(service)
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"].endswith("/conflict-declaration-missing")
        assert "declare no conflict" in refused.json()["detail"]
    history = await service.client.get(
        f"/cases/{app.case_id}/history", headers=KUNMING.headers(service)
    )
    assert history.status_code == 403
    summary = await service.client.get(
        f"/reviews/{app.review_id}", headers=KUNMING.headers(service)
    )
    assert summary.status_code == 200  # where it stands is not content

    await declare(service, app, KUNMING)
    dossier = await service.client.get(
        f"/reviews/{app.review_id}/dossier", headers=KUNMING.headers(service)
    )
    assert dossier.status_code == 200
    assert len(dossier.json()["files"]) == 4


async def test_scores_show_each_reviewers_total_and_the_averages(service: RunningService) -> None:
    app = await opened(service, route="direct")
    second = Reviewer("province_reviewer", "lu", "cast-yn", "53")
    await declare(service, app, YUNNAN, second)
    for who, scores in ((YUNNAN, (80, 70)), (second, (90, 75))):
        body = {
            "level": "province",
            "scores": [
                {"criterion": "organisation", "score": scores[0]},
                {"criterion": "overseas_channels", "score": scores[1]},
            ],
        }
        await act(service, f"/reviews/{app.review_id}/scores", who, body)
    sheet = (
        await service.client.get(
            f"/reviews/{app.review_id}/scores", headers=YUNNAN.headers(service)
        )
    ).json()
    [province] = sheet["levels"]
    assert province["totals"] == [
        {"reviewer": "lu", "total": 165},
        {"reviewer": "mao", "total": 150},
    ]
    assert province["average_total"] == "157.50"
    assert province["criterion_averages"] == [
        {"criterion": "organisation", "average": "85.00"},
        {"criterion": "overseas_channels", "average": "72.50"},
    ]


async def test_a_reviewer_of_the_applicant_unit_is_conflicted_whatever_they_declare(
    service: RunningService,
) -> None:
    app = await opened(service)
    insider = Reviewer("prefecture_reviewer", "lin", app.unit_id, "5301")
    before = await appended(service)
    refused = await post(service, f"/reviews/{app.review_id}/declarations", insider)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/reviewer-from-applicant-unit")
    assert await appended(service) == before


async def test_a_reviewer_who_declared_a_conflict_cannot_decide(service: RunningService) -> None:
    app = await opened(service)
    no_reason = await post(
        service, f"/reviews/{app.review_id}/declarations", KUNMING, {"conflict": True}
    )
    assert no_reason.status_code == 422
    await act(
        service,
        f"/reviews/{app.review_id}/declarations",
        KUNMING,
        {"conflict": True, "reason": "曾在该校任职"},
    )
    before = await appended(service)
    refused = await post(
        service, f"/reviews/{app.review_id}/forward", KUNMING, {"level": "prefecture"}
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/reviewer-recused")
    undeclared = Reviewer("prefecture_reviewer", "xu", "cast-km", "5301")
    refused = await post(
        service, f"/reviews/{app.review_id}/forward", undeclared, {"level": "prefecture"}
    )
    assert refused.json()["type"].endswith("/conflict-declaration-missing")
    assert await appended(service) == before


async def test_whoever_decided_at_one_level_cannot_take_the_next_levels_decision(
    service: RunningService,
) -> None:
    app = await opened(service, route="direct")
    await through_province(service, app)  # YUNNAN (mao) accepted at intake
    ranking = f"/calls/{app.call_id}/ranking"
    await act(service, f"{ranking}/declarations", YUNNAN)
    refused = await post(service, ranking, YUNNAN, {"ranked": [app.application_id]})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/separation-of-duties-violated")

    both = Reviewer("province_reviewer", "zhou", "cast-yn", "CN")  # also holds a national role
    await act(service, f"{ranking}/declarations", YUNNAN_RANKER)
    await act(service, ranking, YUNNAN_RANKER, {"ranked": [app.application_id]})
    ranker_at_nation = Reviewer("national_reviewer", both.user, "cast-ild", "CN")
    await declare(service, app, ranker_at_nation)
    before = await appended(service)
    refused = await post(
        service, f"/reviews/{app.review_id}/forward", ranker_at_nation, {"level": "national"}
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/separation-of-duties-violated")
    assert await appended(service) == before
    await declare(service, app, NATION)
    await act(service, f"/reviews/{app.review_id}/forward", NATION, {"level": "national"})


async def test_a_reviewer_of_another_prefecture_or_province_sees_nothing(
    service: RunningService,
) -> None:
    app = await opened(service)
    for path in (f"/reviews/{app.review_id}", f"/cases/{app.case_id}/history"):
        hidden = await service.client.get(path, headers=QUJING.headers(service))
        assert hidden.status_code == 404, path
        assert hidden.headers["content-type"] == PROBLEM
    queue = (await service.client.get("/queue", headers=QUJING.headers(service))).json()
    assert queue == {
        "reviews": [],
        "renewals": [],
        "rankings": [],
        "next_cursors": {"reviews": None, "renewals": None, "rankings": None},
    }
    before = await appended(service)
    for path, body in (
        (f"/reviews/{app.review_id}/declarations", {}),
        (f"/reviews/{app.review_id}/forward", {"level": "prefecture"}),
    ):
        refused = await post(service, path, QUJING, body)
        assert refused.status_code == 404, path
    assert await appended(service) == before

    await through_province(service, app)
    assert (
        await service.client.get(f"/calls/{app.call_id}/ranking", headers=GUIZHOU.headers(service))
    ).status_code == 404
    queue = (await service.client.get("/queue", headers=GUIZHOU.headers(service))).json()
    assert queue["rankings"] == []


async def test_each_level_needs_its_role(service: RunningService) -> None:
    app = await opened(service)
    await declare(service, app, NATION)
    refused = await post(
        service, f"/reviews/{app.review_id}/forward", NATION, {"level": "prefecture"}
    )
    assert refused.status_code == 403
    applicant = service.auth("applicant", user="unit", org=app.unit_id, jurisdictions=["530102"])
    assert (
        await service.client.get(f"/reviews/{app.review_id}", headers=applicant)
    ).status_code == 403
    assert (await service.client.get(f"/reviews/{app.review_id}")).status_code == 401
    refused = await post(
        service, f"/reviews/{app.review_id}/approval", AUDITOR, {"approval_no": "x"}
    )
    assert refused.status_code == 403


async def test_a_decision_for_another_level_or_an_old_version_is_refused(
    service: RunningService,
) -> None:
    app = await opened(service)
    await declare(service, app, YUNNAN, KUNMING)
    before = await appended(service)
    early = await post(service, f"/reviews/{app.review_id}/accept", YUNNAN)
    assert early.status_code == 409
    assert early.json()["type"].endswith("/level-mismatch")
    stale = await service.client.post(
        f"/reviews/{app.review_id}/forward",
        json={"level": "prefecture"},
        headers={**KUNMING.headers(service), "If-Match": '"1"'},
    )
    assert stale.status_code == 409
    assert await appended(service) == before


BAD_INPUT: list[tuple[str, dict[str, Any]]] = [
    ("scores", {"level": "prefecture", "scores": [{"criterion": "x", "score": 101}]}),
    ("scores", {"level": "prefecture", "scores": []}),
    ("scores", {"level": "nowhere", "scores": [{"criterion": "x", "score": 1}]}),
    ("forward", {"level": "leading_group"}),
    ("forward", {"level": "prefecture", "surprise": True}),
    ("return", {"level": "prefecture", "reasons": []}),
    ("return", {"level": "prefecture", "reasons": ["   "]}),
    ("reject", {"level": "prefecture"}),
    ("declarations", {"conflict": "perhaps"}),
    ("declarations", {"conflict": True}),
]


async def test_bad_input_is_a_problem_and_appends_nothing(service: RunningService) -> None:
    app = await opened(service)
    await declare(service, app, KUNMING)
    before = await appended(service)
    for path, body in BAD_INPUT:
        refused = await post(service, f"/reviews/{app.review_id}/{path}", KUNMING, body)
        assert refused.status_code == 422, (path, body, refused.text)
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["status"] == 422
    malformed = await service.client.post(
        f"/reviews/{app.review_id}/forward",
        content=b"{not json",
        headers={**KUNMING.headers(service), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert await appended(service) == before
