"""A base's years and a year's grade list come in pages: whole, in order, without repeats."""

from __future__ import annotations

from shared.testkit.pages import assert_limits_refused, every_page

from .test_workstations import designated
from .world import World


async def test_a_base_s_years_come_whole_in_pages_oldest_first(world: World) -> None:
    await world.designate("b1")
    for year in range(2022, 2027):
        await world.on(year, 12, 1)  # each year's report opens: a row per year

    pages = await every_page(world.client, "/bases/b1/years", world.auditor(), limit=2)

    assert [[row["year"] for row in page] for page in pages] == [
        [2022, 2023],
        [2024, 2025],
        [2026],
    ]
    await assert_limits_refused(world.client, "/bases/b1/years", world.auditor())


async def test_a_grade_list_s_entries_come_whole_in_pages_by_base_id(world: World) -> None:
    names = ["b1", "b2", "b3", "b4", "b5"]
    for base_id in names:
        await world.designate(base_id)
    await world.on(2023, 1, 5)
    for base_id in names:
        await world.score(base_id, 2022, 75)
    proposed = await world.client.post(
        "/grade-lists/2022/proposal", json={}, headers=world.department()
    )
    assert proposed.status_code == 200, proposed.text

    pages = await every_page(
        world.client, "/grade-lists/2022", world.auditor(), items="entries", limit=2
    )

    assert [[e["base_id"] for e in page] for page in pages] == [["b1", "b2"], ["b3", "b4"], ["b5"]]
    whole = await world.client.get("/grade-lists/2022", headers=world.auditor())
    assert (whole.json()["status"], whole.json()["next_cursor"]) == ("proposed", None)
    await assert_limits_refused(world.client, "/grade-lists/2022", world.auditor())


async def test_the_bases_and_the_work_stations_come_whole_in_pages_by_id(world: World) -> None:
    for n in range(3):
        await world.designate(f"b{n}")
        station = await world.from_review(
            "WorkstationDesignated", designated(f"ws{n}"), case_id=f"case-ws{n}"
        )
        assert await world.processed(station) == "applied"

    bases = await every_page(world.client, "/bases", world.auditor(), limit=2)
    stations = await every_page(world.client, "/workstations", world.auditor(), limit=2)

    assert [[b["base_id"] for b in page] for page in bases] == [["b0", "b1"], ["b2"]]
    assert [[s["station_id"] for s in page] for page in stations] == [["ws0", "ws1"], ["ws2"]]
    for path in ("/bases", "/workstations", "/renewal-assessments"):
        await assert_limits_refused(world.client, path, world.department(), cursor=None)


async def test_the_renewal_assessments_come_whole_in_pages_by_id(world: World) -> None:
    for n in range(3):
        await world.designate(f"b{n}", term_end="2023-06-14")
    await world.on(2023, 4, 1)
    for n in range(3):
        asked = await world.from_review(
            "RenewalAssessmentRequested",
            {"renewal_id": f"renewal-{n}", "case_id": f"case-b{n}", "base_id": f"b{n}"},
            case_id=f"case-b{n}",
        )
        assert await world.processed(asked) == "applied"

    pages = await every_page(world.client, "/renewal-assessments", world.department(), limit=2)

    assert [[r["renewal_id"] for r in page] for page in pages] == [
        ["renewal-0", "renewal-1"],
        ["renewal-2"],
    ]
