"""A base's life on the shared clock: five years of reports, grades, revocation, renewal, expiry.

Real service, real NATS, SQLite (and PostgreSQL with TEST_DATABASE_URL); review's facts are
published on the bus and the answers read back from HAIZHI.
"""

from __future__ import annotations

from shared.projection import rebuild_and_compare

from ..messaging.contracts import registry
from ..projections import projections
from .world import World


async def test_a_designated_national_base_is_registered_and_a_workstation_is_not(
    world: World,
) -> None:
    await world.designate("b1")
    await world.designate("ws1", programme="provincial_workstation")
    base = await world.base("b1")
    assert (base["status"], base["term_start"], base["term_end"]) == (
        "active",
        "2022-06-15",
        "2027-06-14",
    )
    missing = await world.client.get("/bases/ws1", headers=world.auditor())
    assert missing.status_code == 404
    assert await world.event_names() == ["BaseRegistered"]


async def test_five_years_of_reports_open_are_reminded_and_fall_overdue_then_the_base_expires(
    world: World,
) -> None:
    await world.designate("b1")
    for year in range(2022, 2027):
        await world.on(year, 11, 30)
        assert year not in {y["year"] for y in (await _years(world, "b1"))}
        await world.on(year, 12, 1)
        opened = await world.year("b1", year)
        assert (opened["report_status"], opened["due_on"]) == ("open", f"{year}-12-31")
        await world.on(year, 12, 17)
        assert (await world.year("b1", year))["reminders_sent"] == "14"
        await world.on(year, 12, 28)
        assert (await world.year("b1", year))["reminders_sent"] == "14,3"
        await world.on(year, 12, 31, 23)
        assert not (await world.year("b1", year))["report_overdue"]
        await world.on(year + 1, 1, 1, 0)
        assert (await world.year("b1", year))["report_overdue"]

    await world.on(2027, 3, 16)
    assert (await world.base("b1"))["renewal_window_opens_on"] is None
    await world.on(2027, 3, 17)  # Art. 14: 90 days before 2027-06-14, that day included
    assert (await world.base("b1"))["renewal_window_opens_on"] == "2027-03-17"
    window = await world.on_the_bus("case-b1", "RenewalWindowOpened")
    assert (window["opens_on"], window["closes_on"]) == ("2027-03-17", "2027-06-14")
    ending = await world.client.get("/bases?ending_within_days=89", headers=world.auditor())
    assert [b["base_id"] for b in ending.json()["items"]] == ["b1"]
    later = await world.client.get("/bases?ending_within_days=88", headers=world.auditor())
    assert later.json()["items"] == []

    await world.on(2027, 6, 14, 23)
    assert (await world.base("b1"))["status"] == "active"
    await world.on(2027, 6, 15, 0)
    assert (await world.base("b1"))["status"] == "expired"
    expired = await world.on_the_bus("case-b1", "BaseExpired")
    assert (expired["expired_on"], expired["policy_version"]) == ("2027-06-15", "2022.1")
    await world.on(2027, 12, 2)
    assert 2027 not in {y["year"] for y in await _years(world, "b1")}
    events = await world.svc.kernel.store.read_all()
    assert {e.actor for e in events[1:]} == {"system:scheduler"}
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


async def _years(world: World, base_id: str) -> list[dict[str, object]]:
    return await world.years(base_id)
