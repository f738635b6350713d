"""Authorisation and bad input, as in the other services: a role that may never act is 403, a
base outside the caller's reach is 404, bad input is a 4xx problem — and nothing is appended."""

from __future__ import annotations

import copy
from typing import Any

from .world import REPORT, World, scores

PROBLEM = "application/problem+json"


async def _refused(world: World, response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


async def test_each_caller_sees_only_the_bases_in_their_reach(world: World) -> None:
    await world.designate("b1")  # Kunming (5301)
    await world.designate("b2", unit="unit-dali", jurisdiction="5329")
    await world.designate("b3", unit="unit-guiyang", jurisdiction="5201")

    async def listed(headers: dict[str, str], query: str = "") -> list[str]:
        response = await world.client.get(f"/bases{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [b["base_id"] for b in response.json()["items"]]

    assert await listed(world.unit()) == ["b1"]
    assert await listed(world.local_cast("5301")) == ["b1"]
    assert await listed(world.local_cast("53")) == ["b1", "b2"]
    assert await listed(world.department()) == ["b1", "b2", "b3"]
    assert await listed(world.auditor()) == ["b1", "b2", "b3"]
    assert await listed(world.auditor(), "?jurisdiction=52") == ["b3"]
    assert await listed(world.auditor(), "?status=expired") == []
    assert await listed(world.auditor(), "?limit=2") == ["b1", "b2"]
    assert await listed(world.auditor("53")) == ["b1", "b2"]  # a province's auditor
    assert await listed(world.auditor("5201")) == ["b3"]
    assert await listed(world.svc.auth("auditor", user="no-reach")) == []
    await _refused(world, await world.client.get("/bases/b3", headers=world.auditor("53")), 404)
    assert await listed(world.svc.auth("applicant", org="unit-unknown")) == []
    for path in ("/bases/b2", "/bases/b2/years"):
        await _refused(world, await world.client.get(path, headers=world.unit()), 404)
        await _refused(world, await world.client.get(path, headers=world.local_cast()), 404)
    await _refused(world, await world.client.get("/bases/b1"), 401)
    no_list = await world.client.get("/grade-lists/2030", headers=world.auditor())
    await _refused(world, no_list, 404)
    await _refused(
        world, await world.client.get("/bases?status=lost", headers=world.auditor()), 422
    )


async def test_only_the_base_s_unit_its_local_cast_and_the_department_act_on_its_year(
    world: World,
) -> None:
    await world.designate("b1")
    await world.on(2022, 12, 20)
    events = await world.event_names()
    report = "/bases/b1/years/2022/report"
    forward = "/bases/b1/years/2022/forwarding"
    score = "/bases/b1/years/2022/score"
    refusals = [
        (report, REPORT, world.unit("unit-other"), 404),  # another unit: not in its reach
        (report, REPORT, world.department(), 403),
        (report, REPORT, world.auditor(), 403),  # auditors read, never write
        (forward, None, world.local_cast("5329"), 404),  # another prefecture's CAST
        (forward, None, world.department(), 403),  # the nation is not the local CAST
        (score, scores(80), world.unit(), 403),
        (score, scores(80), world.local_cast("53"), 403),
        ("/bases/b1/revocation", {"meeting_ref": "LG-1"}, world.department(), 403),
        ("/grade-lists/2022/proposal", {}, world.leading_group(), 403),
        (
            "/grade-lists/2022/approval",
            {"meeting_ref": "x", "meeting_date": "2022-12-20"},
            world.department(),
            403,
        ),
        ("/bases/nobody/years/2022/report", REPORT, world.unit(), 404),
    ]
    for path, body, headers, status in refusals:
        response = await world.client.post(path, json=body, headers=headers)
        assert response.status_code == status, (path, headers, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert await world.event_names() == events

    await world.file_report("b1", 2022, forward=False)
    forwarded = await world.client.post(forward, headers=world.local_cast("53"))
    assert forwarded.status_code == 200, forwarded.text
    assert (await world.year("b1", 2022))["forwarded_via"] == "53"


def _report(**change: Any) -> dict[str, Any]:
    body = copy.deepcopy(REPORT)
    for dotted, value in change.items():
        *path, last = dotted.split("__")
        target = body
        for key in path:
            target = target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return body


async def test_bad_input_is_a_problem_and_appends_nothing(world: World) -> None:
    await world.designate("b1")
    events = await world.event_names()
    file_early = await world.client.post(
        "/bases/b1/years/2022/report", json=REPORT, headers=world.unit()
    )
    await _refused(world, file_early, 409)  # reporting for 2022 opens on 1 December
    assert file_early.json()["type"].endswith("reporting-not-open")

    await world.on(2022, 12, 20)
    events = await world.event_names()
    bad_reports = [
        _report(summary__difficulties=None),
        _report(summary__talent_introduced="   "),
        _report(next_year_plan=""),
        _report(resource_library__overseas_talents=-1),
        _report(resource_library__last_updated_on="last week"),
        _report(attachments=[{"name": "a.pdf", "media_type": "x", "size": 1, "sha256": "xyz"}]),
        _report(surprise=1),
        "not an object",
    ]
    for body in bad_reports:
        response = await world.client.post(
            "/bases/b1/years/2022/report", json=body, headers=world.unit()
        )
        await _refused(world, response, 422)
    future = _report(resource_library__last_updated_on="2023-01-01")
    response = await world.client.post(
        "/bases/b1/years/2022/report", json=future, headers=world.unit()
    )
    await _refused(world, response, 422)  # the domain: a library cannot be updated in future
    assert response.json()["type"].endswith("invalid-report")
    for path in ("/bases/b1/years/1999/report", "/bases/b%20b/years/2022/report"):
        response = await world.client.post(path, json=REPORT, headers=world.unit())
        await _refused(world, response, 422)
    malformed = await world.client.post(
        "/bases/b1/years/2022/report",
        content=b"{not json",
        headers={**world.unit(), "Content-Type": "application/json"},
    )
    await _refused(world, malformed, 400)
    for body in ({**scores(80), "annual_plan": 101}, {"annual_plan": 80}, {}):
        response = await world.client.post(
            "/bases/b1/years/2022/score", json=body, headers=world.department()
        )
        await _refused(world, response, 422)
    early = await world.client.post(
        "/bases/b1/years/2022/score", json=scores(80), headers=world.department()
    )
    await _refused(world, early, 409)  # no report, and not yet due
    bad_approval = await world.client.post(
        "/grade-lists/2022/approval",
        json={"meeting_ref": "LG-1", "meeting_date": "2022-12-20"},
        headers=world.leading_group(),
    )
    await _refused(world, bad_approval, 409)  # nothing proposed
    stale = await world.client.post(
        "/bases/b1/years/2022/report", json=REPORT, headers={**world.unit(), "If-Match": '"1"'}
    )
    await _refused(world, stale, 409)
    assert await world.event_names() == events


async def test_every_base_s_years_in_one_list_as_each_caller_may_read_them(world: World) -> None:
    """`GET /bases/years`: the rows of `GET /bases/{id}/years` of every base in the caller's
    reach, in one list (the console's campaign page asks it once, not once per base)."""
    await world.designate("b1")  # Kunming (5301)
    await world.designate("b2", unit="unit-dali", jurisdiction="5329")
    await world.designate("b3", unit="unit-guiyang", jurisdiction="5201")
    await world.on(2022, 12, 20)

    async def rows(headers: dict[str, str], query: str = "") -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        cursor = ""
        while True:
            url = f"/bases/years?limit=1{query}{cursor}"
            response = await world.client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            found += [(row["base_id"], row["year"]) for row in page["items"]]
            if page["next_cursor"] is None:
                return found
            cursor = f"&cursor={page['next_cursor']}"

    each = {b: [r["year"] for r in await world.years(b)] for b in ("b1", "b2", "b3")}
    assert each["b1"], "the 2022 year has opened"
    everything = [(b, y) for b in ("b1", "b2", "b3") for y in each[b]]
    assert await rows(world.auditor()) == everything
    assert await rows(world.auditor("53")) == [r for r in everything if r[0] != "b3"]
    assert await rows(world.unit()) == [r for r in everything if r[0] == "b1"]
    assert await rows(world.local_cast("5301")) == [r for r in everything if r[0] == "b1"]
    assert await rows(world.auditor(), "&year=2022") == [r for r in everything if r[1] == 2022]
    assert await rows(world.auditor(), "&status=revoked") == []
    one = await world.client.get("/bases/years?year=2022", headers=world.unit())
    assert one.json()["items"][0] == {**await world.year("b1", 2022), "base_id": "b1"}
    for bad in ("?cursor=x~b1", "?cursor=2022", "?status=lost", "?year=99999"):
        response = await world.client.get(f"/bases/years{bad}", headers=world.auditor())
        await _refused(world, response, 422)
    await _refused(world, await world.client.get("/bases/years"), 401)
