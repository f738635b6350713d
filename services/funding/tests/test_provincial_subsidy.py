"""The subsidy is the province's promise (Notice §4): over the bus, through the real consumers.

A base is planned under its own province's `[subsidy]`, in the version in force on the day its
call opened; a province without one makes no plan and the base's funding view says why; a work
station is planned only under a `[workstation_subsidy]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from shared.clock import set_clock
from shared.projection import rebuild_and_compare
from shared.schema import inbox
from shared.testkit.service import (
    RunningService,
    TestEnvironment,
    eventually,
    policy_folder,
    running_service,
)

from ..main import spec
from ..messaging.contracts import registry
from ..projections import projections
from .conftest import (
    APPROVAL_MORNING,
    FEN,
    Upstream,
    case_of,
    finance,
    funding_when,
    plan_when,
    stages,
)
from .test_plans_over_the_bus import parked

GUIZHOU_REASON = (
    "贵州省（52）无海智基地补助政策（以征集开始日 2022-03-01 为准） / "
    "province 52 has no HaiZhi base subsidy policy (as of 2022-03-01, the day the call opened)"
)

#: A newer Yunnan version with other numbers: 2 × 300,000 CNY, no hold, no 优先立项, and a
#: work-station subsidy of 2 × 50,000 CNY.
YUNNAN_2023 = """
version = "53-2023.1"
effective_from = 2023-01-01
province = "53"

[subsidy]
instalments = 2
amount_fen = 30000000
first_due = "approval"
hold_during_rectification = false
cancel_unpaid_on_exit = true
new_plan_on_renewal = false

[workstation_subsidy]
instalments = 2
amount_fen = 5000000
first_due = "approval"
hold_during_rectification = true
cancel_unpaid_on_exit = true
new_plan_on_renewal = false
priority_project_approval = true   # for national bases only: ignored for a station
"""


@pytest.fixture
async def yunnan_2023(
    test_env: TestEnvironment, nats_client: NatsClient, tmp_path: Path
) -> AsyncIterator[RunningService]:
    """The service under the repository's policies plus Yunnan's version 53-2023.1."""
    await set_clock(nats_client.jetstream(), APPROVAL_MORNING)
    policies = policy_folder(tmp_path / "policies", YUNNAN_2023)
    async with running_service(spec(), test_env, policies) as svc:
        yield svc


async def stream(service: RunningService, plan_id: str) -> list[str]:
    return [e.name for e in await service.kernel.store.read_all() if e.subject == f"plan-{plan_id}"]


async def all_applied(service: RunningService, *event_ids: str) -> bool:
    """Every one of these upstream events was processed by its consumer (not failed, not dead)."""
    async with service.kernel.db.read_engine.connect() as conn:
        rows = await conn.execute(
            select(inbox.c.event_id, inbox.c.outcome).where(inbox.c.event_id.in_(event_ids))
        )
        outcomes = {row.event_id: row.outcome for row in rows}
    return len(outcomes) == len(event_ids) and set(outcomes.values()) == {"applied"}


async def test_a_guizhou_base_gets_no_yunnan_plan_and_its_funding_view_says_why(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-gz", unit_id="unit-guiyang", province="52")
    await upstream.designate("base-km")
    await plan_when(service, "base-km", lambda p: stages(p)[0] == "due")

    view = await funding_when(service, "base-gz")

    assert (view["status"], view["reason"], view["plans"]) == (
        "not_planned",
        GUIZHOU_REASON,
        [],
    )
    assert (view["province"], view["policy_version"], view["call_opened_on"]) == (
        "52",
        None,
        "2022-03-01",
    )
    assert view["priority_project_approval"] is None
    assert await stream(service, "base-gz") == ["SubsidyNotPlanned"]
    (event,) = [e for e in await service.kernel.store.read_all() if e.subject == "plan-base-gz"]
    assert (event.caseid, event.data["programme"], event.data["reason"]) == (
        case_of("base-gz"),
        "national_base",
        GUIZHOU_REASON,
    )
    asked = await service.client.get("/plans?base_id=base-gz", headers=finance(service))
    assert (asked.status_code, asked.json()["code"]) == (404, "subsidy-not-planned")
    assert "贵州省（52）无海智基地补助政策" in asked.json()["detail"]
    figures = (await service.client.get("/reconciliation", headers=finance(service))).json()
    assert [b["base_id"] for b in figures["bases"]] == ["base-km"]
    assert figures["total"]["planned"] == {"count": 3, "amount_fen": 3 * FEN}

    yunnan = await funding_when(service, "base-km")
    assert (yunnan["status"], yunnan["reason"], yunnan["policy_version"]) == (
        "planned",
        None,
        "53-2022.1",
    )
    assert yunnan["priority_project_approval"] == {
        "plan_id": "base-km",
        "policy_version": "53-2022.1",
    }
    assert [p["total_fen"] for p in yunnan["plans"]] == [3 * FEN]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_facts_about_a_base_not_planned_change_nothing_and_are_neither_parked_nor_lost(
    service: RunningService, upstream: Upstream
) -> None:
    early = await upstream.assess(
        "base-gz",
        "RectificationOrdered",
        rectification_id="rect-early",
        year=2022,
        deadline="2022-09-30",
        policy_version="2022.1",
    )
    await eventually(lambda: parked(service))  # before the designation: kept for it
    await upstream.designate("base-gz", unit_id="unit-guiyang", province="52")
    await funding_when(service, "base-gz")
    await eventually(lambda: no_parked(service))

    later = [
        await upstream.assess(
            "base-gz", "RectificationAccepted", rectification_id="rect-early", year=2022
        ),
        await upstream.assess(
            "base-gz",
            "RectificationOrdered",
            rectification_id="rect-2",
            year=2023,
            deadline="2024-03-31",
            policy_version="2022.1",
        ),
        await upstream.assess(
            "base-gz", "BaseRevoked", revoked_on="2024-03-01", years=[2022, 2023]
        ),
        await upstream.assess("base-gz", "BaseExpired", expired_on="2027-06-15"),
        await upstream.send(
            "review",
            "RenewalGranted",
            {
                "renewal_id": "renewal-gz",
                "case_id": case_of("base-gz"),
                "base_id": "base-gz",
                "certificate_no": "HZ-base-gz-2",
                "term_start": "2027-06-15",
                "term_end": "2032-06-14",
                "policy_version": "2022.1",
            },
            "renewal-gz",
        ),
    ]

    await eventually(lambda: all_applied(service, early.id, *(e.id for e in later)))
    assert await stream(service, "base-gz") == ["SubsidyNotPlanned"]
    assert await parked(service) == 0
    for consumer in service.kernel.consumers:
        assert await consumer.dead_letters() == []


async def no_parked(service: RunningService) -> bool:
    return await parked(service) == 0


async def test_a_unit_reads_its_own_bases_funding_view_only(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-gz", unit_id="unit-guiyang", province="52")
    await funding_when(service, "base-gz")

    own = await service.client.get(
        "/bases/base-gz/funding", headers=service.auth("applicant", org="unit-guiyang")
    )
    assert (own.status_code, own.json()["status"]) == (200, "not_planned")
    other = await service.client.get(
        "/bases/base-gz/funding", headers=service.auth("applicant", org="unit-kunming")
    )
    assert (other.status_code, other.json()["code"]) == (404, "not-found")
    unknown = await service.client.get("/bases/nowhere/funding", headers=finance(service))
    assert unknown.status_code == 404
    no_unit = await service.client.get("/bases/base-gz/funding", headers=service.auth("applicant"))
    assert (no_unit.status_code, no_unit.json()["code"]) == (403, "applicant-without-unit")
    assert no_unit.json()["type"].endswith("/applicant-without-unit")
    reviewer = await service.client.get(
        "/bases/base-gz/funding", headers=service.auth("province_reviewer", jurisdictions=["52"])
    )
    assert (reviewer.status_code, reviewer.headers["content-type"]) == (
        403,
        "application/problem+json",
    )


async def test_a_yunnan_base_is_funded_under_the_version_in_force_when_its_call_opened(
    yunnan_2023: RunningService,
) -> None:
    upstream = Upstream(yunnan_2023)
    # Approved in 2023, when 53-2023.1 (2 × 300,000 CNY) is in force; the calls opened earlier.
    await upstream.designate(
        "base-2022-call", approved_on="2023-06-15", call_opened_on="2022-11-01"
    )
    await upstream.designate(
        "base-2023-call", approved_on="2023-06-15", call_opened_on="2023-02-01"
    )
    await upstream.designate("base-no-call", approved_on="2023-06-15", call_opened_on=None)

    old = await plan_when(yunnan_2023, "base-2022-call", lambda p: bool(p["instalments"]))
    new = await plan_when(yunnan_2023, "base-2023-call", lambda p: bool(p["instalments"]))
    unknown = await plan_when(yunnan_2023, "base-no-call", lambda p: bool(p["instalments"]))

    assert [(i["amount_fen"], i["due_on"]) for i in old["instalments"]] == [
        (20_000_000, "2023-06-15"),
        (20_000_000, "2024-06-15"),
        (20_000_000, "2025-06-15"),
    ]
    assert (old["policy_version"], old["call_opened_on"]) == ("53-2022.1", "2022-11-01")
    assert [i["amount_fen"] for i in new["instalments"]] == [30_000_000] * 2
    assert (new["policy_version"], unknown["policy_version"]) == ("53-2023.1", "53-2023.1")
    assert unknown["call_opened_on"] is None  # the approval day picked the version
    assert (await funding_when(yunnan_2023, "base-2022-call"))["priority_project_approval"]
    assert (await funding_when(yunnan_2023, "base-2023-call"))["priority_project_approval"] is None

    # A later fact applies the plan's own version: 53-2022.1 holds, 53-2023.1 does not.
    ordered = [
        await upstream.assess(
            base_id,
            "RectificationOrdered",
            rectification_id=f"rect-{base_id}",
            year=2023,
            deadline="2024-03-31",
            policy_version="2022.1",
        )
        for base_id in ("base-2022-call", "base-2023-call")
    ]
    await eventually(lambda: all_applied(yunnan_2023, *(e.id for e in ordered)))
    assert (await plan_when(yunnan_2023, "base-2022-call", bool))["open_holds"] == 1
    assert (await plan_when(yunnan_2023, "base-2023-call", bool))["open_holds"] == 0

    figures = (await yunnan_2023.client.get("/reconciliation", headers=finance(yunnan_2023))).json()
    assert figures["total"]["planned"] == {"count": 7, "amount_fen": 3 * FEN + 4 * 30_000_000}
    assert await rebuild_and_compare(yunnan_2023.kernel.db, registry, projections()) == []


async def test_a_work_station_is_funded_only_under_a_workstation_subsidy(
    yunnan_2023: RunningService,
) -> None:
    upstream = Upstream(yunnan_2023)
    await upstream.designate_station("station-2023", call_opened_on="2023-02-01")
    await upstream.designate_station("station-2022", call_opened_on="2022-03-01")
    await upstream.designate_station("station-gz", province="52", call_opened_on="2023-02-01")

    funded = await funding_when(yunnan_2023, "station-2023")
    (plan,) = funded["plans"]
    assert (funded["status"], funded["programme"], plan["policy_version"]) == (
        "planned",
        "provincial_workstation",
        "53-2023.1",
    )
    assert [i["amount_fen"] for i in plan["instalments"]] == [5_000_000] * 2
    assert funded["priority_project_approval"] is None  # 优先立项 is for national bases
    before = await funding_when(yunnan_2023, "station-2022")
    assert (before["status"], before["policy_version"], before["reason"]) == (
        "not_planned",
        "53-2022.1",
        "云南省（53）政策 53-2022.1 未规定海智工作站补助 / "
        "province 53's policy 53-2022.1 configures no HaiZhi work-station subsidy",
    )
    guizhou = await funding_when(yunnan_2023, "station-gz")
    assert guizhou["reason"].startswith("贵州省（52）无海智工作站补助政策（以征集开始日 2023-02-01")
    assert "province 52 has no HaiZhi work-station subsidy policy" in guizhou["reason"]
    assert await stream(yunnan_2023, "station-2023") == [
        "SubsidyPlanCreated",
        "InstalmentScheduled",
        "InstalmentScheduled",
        "InstalmentDue",  # approved on the day of the (test's) clock: the first is due at once
    ]
