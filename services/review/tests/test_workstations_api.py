"""A provincial work station (Notice §5(3)) through the API: prefecture, provincial intake and
the provincial CAST's own decision; a certificate of the province's series, checked publicly;
never the ranking, a national level or the national plaque."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService, TestEnvironment, policy_folder, running_service

from ..main import spec
from ..messaging.contracts import registry
from ..projections import projections
from .scenario import (
    GUIZHOU,
    KUNMING,
    NATION,
    OFFICE,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    Reviewer,
    act,
    consumed,
    declare,
    post,
    published,
    review_of,
    through_province,
)

#: The provincial CAST officer who decides stations (not the one who took them in).
YUNNAN_HEAD = YUNNAN_RANKER
GUIZHOU_HEAD = Reviewer("province_reviewer", "luo", "cast-gz", "52")

STATION_FIELDS = {
    "review_id",
    "application_id",
    "case_id",
    "station_id",
    "programme",
    "call_id",
    "call_opened_on",
    "unit_id",
    "unit_name",
    "province",
    "jurisdiction",
    "certificate_no",
    "approved_on",
    "policy_version",
}


def station(**kwargs: str) -> Application:
    defaults = {"programme": "provincial_workstation", "unit_name": "昆明学院", "unit_id": "kmu"}
    return Application(**(defaults | kwargs))  # type: ignore[arg-type]


async def test_the_provincial_cast_designates_a_station_under_yunnans_series(
    service: RunningService,
) -> None:
    app = station()
    await app.submit(service)
    await through_province(service, app)  # prefecture forwards, the province takes it in
    waiting = await review_of(service, app, level="provincial_decision")
    assert waiting["programme"] == "provincial_workstation"
    rankings = await service.client.get(
        f"/calls/{app.call_id}/ranking", headers=YUNNAN.headers(service)
    )
    assert rankings.status_code == 404  # never a candidate of the national-base ranking
    queue = (await service.client.get("/queue", headers=YUNNAN_HEAD.headers(service))).json()
    assert [r["review_id"] for r in queue["reviews"]] == [app.review_id]

    # No national step, no plaque, no HZJD number: each such route is refused.
    await declare(service, app, NATION, OFFICE)
    national = await post(
        service, f"/reviews/{app.review_id}/forward", NATION, {"level": "national"}
    )
    assert (national.status_code, national.json()["code"]) == (409, "level-mismatch")
    plaque = await post(service, f"/reviews/{app.review_id}/approval", OFFICE, {"approval_no": "x"})
    assert (plaque.status_code, plaque.json()["code"]) == (409, "level-mismatch")
    decision = f"/reviews/{app.review_id}/workstation-decision"
    intake_officer = await post(service, decision, YUNNAN, {"outcome": "approve"})
    assert intake_officer.status_code == 403
    assert intake_officer.json()["code"] == "separation-of-duties-violated"
    undeclared = await post(service, decision, YUNNAN_HEAD, {"outcome": "approve"})
    assert undeclared.json()["code"] == "conflict-declaration-missing"
    await declare(service, app, YUNNAN_HEAD)
    approved = await act(service, decision, YUNNAN_HEAD, {"outcome": "approve", "opinion": "同意"})
    assert approved["certificate_no"] == "云海智站-2022-001"
    assert approved["events"] == ["WorkstationDesignated"]

    event = await published(service, app.case_id, "WorkstationDesignated")
    assert event.data.keys() >= STATION_FIELDS
    assert event.data["station_id"] == approved["station_id"]
    assert (event.data["call_id"], event.data["call_opened_on"]) == (app.call_id, "2022-04-01")
    assert (event.data["policy_version"], event.data["approved_on"]) == ("53-2022.1", "2022-08-25")
    assert event.policyversion == "53-2022.1"  # the province's own policy applied
    summary = await review_of(service, app, status="designated")
    assert (summary["station_id"], summary["base_id"]) == (approved["station_id"], None)

    check = (await service.client.get("/certificates/云海智站-2022-001")).json()
    assert check == {
        "certificate_no": "云海智站-2022-001",
        "programme": "provincial_workstation",
        "base_name": "昆明学院",
        "plaque_name": None,
        "term_start": "2022-08-25",
        "term_end": None,
        "status": "valid",
        "since": None,
        "renewal_pending": False,
        "designation_hash": event.hash,
        "province": "53",
        "policy_version": "53-2022.1",
    }

    again = await post(service, decision, YUNNAN_HEAD, {"outcome": "approve"})
    assert (again.status_code, again.json()["code"]) == (409, "review-not-in-progress")

    second = station(unit_id="ynu-ws", unit_name="云南大学", route="direct", jurisdiction="53")
    await second.submit(service)
    await through_province(service, second)
    await declare(service, second, YUNNAN_HEAD)
    numbered = await act(
        service,
        f"/reviews/{second.review_id}/workstation-decision",
        YUNNAN_HEAD,
        {"outcome": "approve"},
    )
    assert numbered["certificate_no"] == "云海智站-2022-002"
    await consumed(service, 2)
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_a_province_without_a_station_series_cannot_designate_but_may_decide_otherwise(
    service: RunningService,
) -> None:
    app = station(unit_id="gz-unit", unit_name="贵州大学", route="direct", jurisdiction="52")
    app.province = "52"
    await app.submit(service)
    await review_of(service, app, level="province")
    review = f"/reviews/{app.review_id}"
    await act(service, f"{review}/declarations", GUIZHOU)
    await act(service, f"{review}/accept", GUIZHOU)
    await act(service, f"{review}/declarations", GUIZHOU_HEAD)
    refused = await post(
        service, f"{review}/workstation-decision", GUIZHOU_HEAD, {"outcome": "approve"}
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "workstation-series-missing"
    assert (await review_of(service, app))["level"] == "provincial_decision"  # unchanged

    no_reasons = await post(
        service, f"{review}/workstation-decision", GUIZHOU_HEAD, {"outcome": "reject"}
    )
    assert no_reasons.status_code == 422
    rejected = await act(
        service,
        f"{review}/workstation-decision",
        GUIZHOU_HEAD,
        {"outcome": "reject", "reasons": ["无海外合作渠道"]},
    )
    assert rejected["events"] == ["ApplicationRejected"]
    event = await published(service, app.case_id, "ApplicationRejected")
    assert (event.data["level"], event.data["reasons"]) == (
        "provincial_decision",
        ["无海外合作渠道"],
    )


async def test_the_provincial_cast_returns_a_station_and_the_revision_starts_over(
    service: RunningService,
) -> None:
    app = station()
    await app.submit(service)
    await through_province(service, app)
    await declare(service, app, YUNNAN_HEAD)
    decision = f"/reviews/{app.review_id}/workstation-decision"
    await act(service, decision, YUNNAN_HEAD, {"outcome": "return", "reasons": ["补充合作协议"]})
    returned = await published(service, app.case_id, "ApplicationReturned")
    assert returned.data["level"] == "provincial_decision"
    await app.submit(service)  # the revision
    reopened = await review_of(service, app, revision=2)
    assert (reopened["level"], reopened["status"]) == ("prefecture", "in_review")
    await consumed(service, 2)


async def test_a_prefecture_reviewer_may_not_decide_a_station_typed_403(
    service: RunningService,
) -> None:
    app = station()
    await app.submit(service)
    await through_province(service, app)
    refused = await post(
        service, f"/reviews/{app.review_id}/workstation-decision", KUNMING, {"outcome": "approve"}
    )
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "role-required"
    assert problem["type"].endswith("/role-required")


#: Yunnan's newer version, in force from 2023, numbers its stations in another series.
YUNNAN_2023 = """
version = "53-2023.1"
effective_from = 2023-01-01
province = "53"

[workstation]
certificate_series = "滇海智站"
"""


@pytest.fixture
async def under_yunnan_2023(
    test_env: TestEnvironment, nats_client: NatsClient, tmp_path: Path
) -> AsyncIterator[RunningService]:
    """The service under the repository's policies plus Yunnan's 53-2023.1, on 2023-03-01."""
    await set_clock(nats_client.jetstream(), datetime(2023, 3, 1, 2, 0, tzinfo=UTC))
    policies = policy_folder(tmp_path / "policies", YUNNAN_2023)
    async with running_service(spec(), test_env, policies) as svc:
        yield svc


async def test_a_station_is_numbered_under_the_policy_of_its_call_s_day_not_the_approval_s(
    under_yunnan_2023: RunningService,
) -> None:
    service = under_yunnan_2023
    calls = [("call-2022", "2022-04-01"), ("call-2023", "2023-02-01"), ("call-old", None)]
    numbered: list[tuple[str, str | None, str]] = []
    for n, (call_id, opened_on) in enumerate(calls):
        app = station(unit_id=f"unit-{n}", route="direct", jurisdiction="53", call_id=call_id)
        app.call_opened_on = opened_on  # None: a review opened before the day was carried
        await app.submit(service)
        await through_province(service, app)
        await declare(service, app, YUNNAN_HEAD)
        approved = await act(
            service,
            f"/reviews/{app.review_id}/workstation-decision",
            YUNNAN_HEAD,
            {"outcome": "approve"},
        )
        event = await published(service, app.case_id, "WorkstationDesignated")
        assert approved["certificate_no"] == event.data["certificate_no"]
        assert (event.data["call_opened_on"], event.data["approved_on"]) == (
            opened_on,
            "2023-03-01",
        )
        assert event.policyversion == event.data["policy_version"]
        numbered.append((event.data["certificate_no"], opened_on, event.data["policy_version"]))

    # The call of 2022 keeps the series of 53-2022.1, approved in 2023 or not; the number's
    # year is the approval's. A review without its call's day falls back to the approval day.
    assert numbered == [
        ("云海智站-2023-001", "2022-04-01", "53-2022.1"),
        ("滇海智站-2023-002", "2023-02-01", "53-2023.1"),
        ("滇海智站-2023-003", None, "53-2023.1"),
    ]
    check = (await service.client.get("/certificates/云海智站-2023-001")).json()
    assert (check["status"], check["policy_version"]) == ("valid", "53-2022.1")
    await consumed(service, 3)
