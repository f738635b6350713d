"""Both routes end to end inside the service: application events in over real NATS, the
reviewers through the HTTP API, BaseDesignated out on the HAIZHI stream."""

from __future__ import annotations

from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService

from ..messaging.contracts import registry
from ..projections import projections
from .scenario import (
    AUDITOR,
    GUIZHOU,
    KUNMING,
    NATION,
    OFFICE,
    QUJING,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    Reviewer,
    act,
    consumed,
    declare,
    from_national_to_plaque,
    published,
    review_of,
    through_province,
)

BASE_DESIGNATED_FIELDS = {
    "review_id",
    "application_id",
    "case_id",
    "base_id",
    "programme",
    "unit_id",
    "unit_name",
    "province",
    "jurisdiction",
    "approval_no",
    "certificate_no",
    "plaque_name",
    "approved_on",
    "term_start",
    "term_end",
    "policy_version",
}


async def test_a_unit_applying_via_its_prefecture_climbs_every_level_to_the_plaque(
    service: RunningService,
) -> None:
    app = Application(route="via_prefecture", jurisdiction="530102")
    await app.submit(service)
    opened = await review_of(service, app)
    assert (opened["level"], opened["status"]) == ("prefecture", "in_review")

    queue = (await service.client.get("/queue", headers=KUNMING.headers(service))).json()
    assert [r["review_id"] for r in queue["reviews"]] == [app.review_id]
    await declare(service, app, KUNMING)
    await act(
        service,
        f"/reviews/{app.review_id}/scores",
        KUNMING,
        {"level": "prefecture", "scores": [{"criterion": "overseas_channels", "score": 80}]},
    )
    await act(service, f"/reviews/{app.review_id}/forward", KUNMING, {"level": "prefecture"})
    queue = (await service.client.get("/queue", headers=KUNMING.headers(service))).json()
    assert queue["reviews"] == []
    queue = (await service.client.get("/queue", headers=YUNNAN.headers(service))).json()
    assert [r["review_id"] for r in queue["reviews"]] == [app.review_id]

    await declare(service, app, YUNNAN)
    await act(service, f"/reviews/{app.review_id}/accept", YUNNAN)
    queue = (await service.client.get("/queue", headers=YUNNAN_RANKER.headers(service))).json()
    assert [r["call_id"] for r in queue["rankings"]] == [app.call_id]
    await act(service, f"/calls/{app.call_id}/ranking/declarations", YUNNAN_RANKER)
    await act(
        service, f"/calls/{app.call_id}/ranking", YUNNAN_RANKER, {"ranked": [app.application_id]}
    )
    assert (await review_of(service, app))["level"] == "national"

    approved = await from_national_to_plaque(service, app)
    assert approved["events"] == ["BaseDesignated"]
    assert approved["certificate_no"] == "HZJD-2022-0001"

    designated = await published(service, app.case_id, "BaseDesignated")
    data = designated.data
    assert data.keys() >= BASE_DESIGNATED_FIELDS
    assert data["case_id"] == app.case_id
    assert data["base_id"] == approved["base_id"]
    assert data["certificate_no"] == "HZJD-2022-0001"
    assert data["plaque_name"] == "中国科协海智计划工作基地"
    assert (data["approved_on"], data["term_start"], data["term_end"]) == (
        "2022-08-25",
        "2022-08-25",
        "2027-08-24",
    )
    assert (data["jurisdiction"], data["policy_version"]) == ("530102", "2022.1")
    assert designated.policyversion == "2022.1"

    status = await review_of(service, app)
    assert (status["status"], status["level"], status["rank"]) == ("designated", None, 1)
    history = await service.client.get(
        f"/cases/{app.case_id}/history", headers=AUDITOR.headers(service)
    )
    assert [e["type"] for e in history.json()["events"]] == [
        "ReviewOpened",
        "NoConflictDeclared",
        "ScoreRecorded",
        "ForwardedToProvince",
        "NoConflictDeclared",
        "AcceptedAtProvince",
        "Recommended",
        "NoConflictDeclared",
        "NoConflictDeclared",
        "NoConflictDeclared",
        "ForwardedToLeadingGroup",
        "LeadingGroupDecided",
        "BaseDesignated",
    ]
    await consumed(service, 1)
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_direct_units_start_at_the_province_and_the_ranking_keeps_to_its_quota(
    service: RunningService,
) -> None:
    best = Application(route="direct", jurisdiction="53", unit_id="unit-ynu", unit_name="云南大学")
    other = Application(
        route="direct", jurisdiction="53", unit_id="unit-yas", unit_name="云南省农科院"
    )
    third = Application(route="via_prefecture", jurisdiction="530102")
    for app in (best, other, third):
        await app.submit(service)
    assert (await review_of(service, best))["level"] == "province"
    for app in (best, other, third):
        await through_province(service, app)

    ranking = f"/calls/{best.call_id}/ranking"
    read = (await service.client.get(ranking, headers=NATION.headers(service))).json()
    assert {c["application_id"] for c in read["candidates"]} == {
        best.application_id,
        other.application_id,
        third.application_id,
    }
    await act(service, f"{ranking}/declarations", YUNNAN_RANKER)
    over_quota = await service.client.post(
        ranking,
        json={
            "ranked": [best.application_id, third.application_id],
            "not_recommended": [{"application_id": other.application_id, "reasons": ["较弱"]}],
            "quota": 1,
        },
        headers=YUNNAN_RANKER.headers(service),
    )
    assert over_quota.status_code == 422
    assert over_quota.json()["type"].endswith("/quota-exceeded")
    await act(
        service,
        ranking,
        YUNNAN_RANKER,
        {
            "ranked": [best.application_id],
            "not_recommended": [
                {"application_id": other.application_id, "reasons": ["海外渠道较弱"]},
                {"application_id": third.application_id, "reasons": ["配套资金不足"]},
            ],
            "quota": 1,
        },
    )
    read = (await service.client.get(ranking, headers=NATION.headers(service))).json()
    assert (read["status"], read["quota"]) == ("submitted", 1)
    assert [(c["application_id"], c["rank"]) for c in read["recommended"]] == [
        (best.application_id, 1)
    ]
    outcomes = {c["application_id"]: (c["status"], c["reasons"]) for c in read["candidates"]}
    assert outcomes[other.application_id] == ("not_recommended", ["海外渠道较弱"])
    # The list and every review's outcome were written in the same transaction.
    assert (await review_of(service, best))["level"] == "national"
    for app in (other, third):
        assert (await review_of(service, app))["status"] == "rejected"
        rejected = await published(service, app.case_id, "ApplicationRejected")
        assert rejected.data["level"] == "province_recommendation"
        assert rejected.data["reasons"]

    await from_national_to_plaque(service, best)
    designated = await published(service, best.case_id, "BaseDesignated")
    assert (designated.data["unit_name"], designated.data["jurisdiction"]) == ("云南大学", "53")
    queue = (await service.client.get("/queue", headers=OFFICE.headers(service))).json()
    assert queue["reviews"] == []
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_a_review_is_found_from_its_application_or_case_id_within_the_jurisdiction(
    service: RunningService,
) -> None:
    app, other = Application(), Application(unit_id="unit-2", unit_name="云南大学")
    for each in (app, other):
        await each.submit(service)
        await review_of(service, each)

    async def found(who: Reviewer, **params: str) -> list[str]:
        answer = await service.client.get("/reviews", params=params, headers=who.headers(service))
        assert answer.status_code == 200, answer.text
        return [r["review_id"] for r in answer.json()["items"]]

    assert await found(KUNMING, application_id=app.application_id) == [app.review_id]
    assert await found(AUDITOR, case_id=other.case_id) == [other.review_id]
    assert await found(NATION, case_id=app.case_id, programme="national_base") == [app.review_id]
    assert await found(NATION, case_id=app.case_id, programme="provincial_workstation") == []
    assert sorted(await found(YUNNAN)) == sorted([app.review_id, other.review_id])
    # Outside the caller's jurisdiction a review is not listed (as a read answers 404).
    assert await found(QUJING, application_id=app.application_id) == []
    assert await found(GUIZHOU, case_id=app.case_id) == []

    first = await service.client.get(
        "/reviews", params={"limit": 1}, headers=YUNNAN.headers(service)
    )
    cursor = first.json()["next_cursor"]
    rest = await service.client.get(
        "/reviews", params={"limit": 1, "cursor": cursor}, headers=YUNNAN.headers(service)
    )
    paged = [r["review_id"] for r in (*first.json()["items"], *rest.json()["items"])]
    assert sorted(paged) == sorted([app.review_id, other.review_id])
    assert rest.json()["next_cursor"] is None


async def test_the_openapi_states_the_preconditions_and_typed_refusals(
    service: RunningService,
) -> None:
    document = (await service.client.get("/openapi.json")).json()
    dossier = document["paths"]["/reviews/{review_id}/dossier"]["get"]
    assert "declared no conflict of interest" in dossier["description"]
    refusals = dossier["responses"]["403"]
    assert "conflict-declaration-missing" in refusals["description"]
    assert "application/problem+json" in refusals["content"]
    forward = document["paths"]["/reviews/{review_id}/forward"]["post"]["responses"]
    assert {"403", "404", "409", "422"} <= forward.keys()
    assert "role-required" in forward["403"]["description"]
    assert "level-mismatch" in forward["409"]["description"]
    station = document["paths"]["/reviews/{review_id}/workstation-decision"]["post"]
    assert "workstation-series-missing" in station["responses"]["409"]["description"]
    declaration = document["components"]["schemas"]["DeclarationBody"]["properties"]
    assert declaration["conflict"]["default"] is False
    assert "default" in declaration["conflict"]["description"]
    finder = document["paths"]["/reviews"]["get"]["parameters"]
    assert {"application_id", "case_id"} <= {p["name"] for p in finder}
    assert "/renewals/{renewal_id}/return" in document["paths"]
    assert "/renewals/{renewal_id}/refuse" not in document["paths"]


async def test_a_reviewer_without_the_levels_role_gets_a_typed_403(
    service: RunningService,
) -> None:
    app = Application()
    await app.submit(service)
    await review_of(service, app)
    refused = await service.client.post(
        f"/reviews/{app.review_id}/forward",
        json={"level": "prefecture"},
        headers=YUNNAN.headers(service),
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["code"], problem["type"]) == (
        "role-required",
        "https://haizhi.example/problems/role-required",
    )
