"""The funding service reacting to review's and assessment's facts on the bus, and its clock."""

from __future__ import annotations

from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select

from shared.clock import set_clock
from shared.projection import rebuild_and_compare
from shared.testkit.bus import publish
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..projections import projections
from ..usecases.parking import parked_facts
from .conftest import (
    FEN,
    Upstream,
    auditor,
    cashier,
    finance,
    funding_when,
    plan_when,
    stages,
)


async def test_a_designation_on_the_bus_makes_a_plan_of_three_instalments_the_first_due_at_once(
    service: RunningService, upstream: Upstream
) -> None:
    designated = await upstream.designate("base-km")

    plan = await plan_when(service, "base-km", lambda p: stages(p) == ["due", *["scheduled"] * 2])

    assert [(i["instalment_id"], i["amount_fen"], i["due_on"]) for i in plan["instalments"]] == [
        ("base-km-1", FEN, "2022-06-15"),
        ("base-km-2", FEN, "2023-06-15"),
        ("base-km-3", FEN, "2024-06-15"),
    ]
    assert (plan["total_fen"], plan["policy_version"]) == (3 * FEN, "53-2022.1")
    assert (plan["province"], plan["call_opened_on"]) == ("53", "2022-03-01")
    events = await service.kernel.store.read_all()
    assert [e.name for e in events] == [
        "SubsidyPlanCreated",
        *["InstalmentScheduled"] * 3,
        "PriorityApprovalRecorded",  # Yunnan's 优先立项 (Notice §4)
        "InstalmentDue",
    ]
    assert {(e.caseid, e.causationid, e.actor, e.policyversion) for e in events} == {
        ("case-base-km", designated.id, "system:funding", "53-2022.1")
    }


async def test_a_designation_delivered_again_creates_no_second_plan(
    service: RunningService, upstream: Upstream
) -> None:
    first = await upstream.designate("base-km")
    await publish(upstream.js, first, msg_id="redelivered")  # past JetStream's de-duplication
    await upstream.send("review", "BaseDesignated", first.data, "review-again")  # a new stream
    await upstream.designate("base-later")  # the consumer works in order: this one comes last

    await plan_when(service, "base-later", lambda p: bool(p["instalments"]))

    events = await service.kernel.store.read_all()
    assert [e.subject for e in events if e.name == "SubsidyPlanCreated"] == [
        "plan-base-km",
        "plan-base-later",
    ]


async def test_a_yunnan_work_station_gets_no_subsidy_plan_and_its_view_says_why(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate_station("station-km")
    await upstream.designate("base-km")

    await plan_when(service, "base-km", lambda p: bool(p["instalments"]))

    listed = await service.client.get("/plans", headers=auditor(service))
    assert [p["base_id"] for p in listed.json()["items"]] == ["base-km"]
    view = await funding_when(service, "station-km")
    assert (view["status"], view["programme"], view["plans"]) == (
        "not_planned",
        "provincial_workstation",
        [],
    )
    assert view["reason"] == (
        "云南省（53）政策 53-2022.1 未规定海智工作站补助 / "
        "province 53's policy 53-2022.1 configures no HaiZhi work-station subsidy"
    )
    assert view["priority_project_approval"] is None


async def test_hold_on_rectification_ordered_and_release_on_accepted(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-km")
    await plan_when(service, "base-km", lambda p: stages(p)[0] == "due")
    approved = await service.client.post(
        "/instalments/base-km-1/approval", headers=finance(service)
    )
    assert approved.status_code == 200, approved.text

    order = {"rectification_id": "rect-2023", "year": 2023, "deadline": "2023-09-30"}
    await upstream.assess("base-km", "RectificationOrdered", **order, policy_version="2022.1")
    held = await plan_when(service, "base-km", lambda p: stages(p)[0] == "held")
    assert (held["open_holds"], held["instalments"][0]["held_for"]) == (1, "rect-2023")
    refused = await service.client.post(
        "/instalments/base-km-1/payment",
        json={"payment_ref": "PAY-1", "paid_on": "2022-06-15", "amount_fen": FEN},
        headers=cashier(service),
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("instalment-on-hold")

    await upstream.assess(
        "base-km", "RectificationAccepted", rectification_id="rect-2023", year=2023
    )
    released = await plan_when(service, "base-km", lambda p: stages(p)[0] == "due")
    assert released["open_holds"] == 0
    assert released["instalments"][0]["prepared_by"] is None  # approve again after a hold


async def test_revocation_cancels_unpaid_instalments_only(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-km")
    await plan_when(service, "base-km", lambda p: stages(p)[0] == "due")
    await service.client.post("/instalments/base-km-1/approval", headers=finance(service))
    paid = await service.client.post(
        "/instalments/base-km-1/payment",
        json={"payment_ref": "PAY-1", "paid_on": "2022-06-15", "amount_fen": FEN},
        headers=cashier(service),
    )
    assert paid.status_code == 200, paid.text

    revoked = {"revoked_on": "2024-03-01", "years": [2022, 2023], "policy_version": "2022.1"}
    await upstream.assess("base-km", "BaseRevoked", **revoked)

    plan = await plan_when(service, "base-km", lambda p: p["status"] == "closed")
    assert stages(plan) == ["paid", "cancelled", "cancelled"]
    assert (plan["exit_reason"], plan["exited_on"]) == ("revoked", "2024-03-01")
    assert plan["instalments"][0]["payment_ref"] == "PAY-1"
    later = await service.client.post("/instalments/base-km-2/approval", headers=finance(service))
    assert later.status_code == 409


async def test_a_rectification_order_seen_before_the_designation_still_holds_the_plan(
    service: RunningService, upstream: Upstream
) -> None:
    order = {"rectification_id": "rect-early", "year": 2022, "deadline": "2022-09-30"}
    await upstream.assess("base-km", "RectificationOrdered", **order, policy_version="2022.1")
    await eventually(lambda: parked(service))  # seen, and kept: funding has no plan yet

    await upstream.designate("base-km")

    plan = await plan_when(service, "base-km", lambda p: stages(p)[0] == "held")
    assert plan["open_holds"] == 1


async def test_a_renewal_is_recorded_on_the_plan(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-km")
    await plan_when(service, "base-km", lambda p: bool(p["instalments"]))
    renewal = {
        "renewal_id": "renewal-2027",
        "case_id": "case-base-km",
        "base_id": "base-km",
        "certificate_no": "HZ-base-km-2",
        "term_start": "2027-06-15",
        "term_end": "2032-06-14",
        "policy_version": "2022.1",
    }
    await upstream.send("review", "RenewalGranted", renewal, "renewal-2027")

    plan = await plan_when(service, "base-km", lambda p: p["term_end"] == "2032-06-14")
    assert len(plan["instalments"]) == 3  # policy 2022.1: no new plan on renewal


async def test_reaching_the_anniversary_on_the_shared_clock_makes_the_next_instalment_due(
    service: RunningService, upstream: Upstream, nats_client: NatsClient
) -> None:
    await upstream.designate("base-km")
    await plan_when(service, "base-km", lambda p: stages(p)[0] == "due")

    just_before = datetime(2023, 6, 14, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Beijing
    await set_clock(nats_client.jetstream(), just_before)
    await service.app.state.usecases.tick(just_before)
    assert stages(await plan_when(service, "base-km", bool)) == ["due", "scheduled", "scheduled"]

    await set_clock(nats_client.jetstream(), datetime(2023, 6, 14, 16, 0, tzinfo=UTC))

    plan = await plan_when(service, "base-km", lambda p: stages(p)[1] == "due")
    assert stages(plan) == ["due", "due", "scheduled"]
    events = await service.kernel.store.read_all()
    (due,) = [e for e in events if e.name == "InstalmentDue" and e.data["number"] == 2]
    assert (due.name, due.actor, due.data["due_on"]) == (
        "InstalmentDue",
        "system:funding",
        "2023-06-15",
    )


async def test_the_read_models_rebuilt_from_the_log_equal_the_live_ones(
    service: RunningService, upstream: Upstream
) -> None:
    await upstream.designate("base-km")
    await upstream.designate("base-dl", unit_id="unit-dali")
    await plan_when(service, "base-dl", lambda p: stages(p)[0] == "due")
    await service.client.post("/instalments/base-km-1/approval", headers=finance(service))
    await service.client.post(
        "/instalments/base-km-1/payment",
        json={"payment_ref": "PAY-1", "paid_on": "2022-06-15", "amount_fen": FEN},
        headers=cashier(service),
    )
    await service.client.post(
        "/instalments/base-km-1/return",
        json={"payment_ref": "PAY-1", "reason": "account closed"},
        headers=cashier(service),
    )
    order = {"rectification_id": "rect-1", "year": 2022, "deadline": "2022-12-31"}
    await upstream.assess("base-dl", "RectificationOrdered", **order, policy_version="2022.1")
    await upstream.assess(
        "base-km", "BaseExpired", expired_on="2027-06-15", policy_version="2022.1"
    )
    await plan_when(service, "base-km", lambda p: p["status"] == "closed")
    await plan_when(service, "base-dl", lambda p: stages(p)[0] == "held")

    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def parked(service: RunningService) -> int:
    async with service.kernel.db.read_engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(parked_facts))).scalar_one()
        )
