"""Funding's edges: auditors read their provinces only, plans come in pages, bounded cursors."""

from __future__ import annotations

import pytest

from shared.testkit.pages import assert_limits_refused, every_page
from shared.testkit.service import RunningService

from .conftest import Upstream, auditor, finance, plan_when, stages


async def designated(service: RunningService, upstream: Upstream, *base_ids: str) -> None:
    for base_id in base_ids:  # one day: the pages follow the plan ids
        await upstream.designate(base_id)
    for base_id in base_ids:
        await plan_when(service, base_id, lambda p: stages(p)[:1] == ["due"])


async def test_an_auditor_reads_the_plans_of_their_provinces_only(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-km")

    async def listed(headers: dict[str, str]) -> list[str]:
        read = await service.client.get("/plans", headers=headers)
        assert read.status_code == 200, read.text
        return [plan["base_id"] for plan in read.json()["items"]]

    assert await listed(auditor(service)) == ["base-km"]
    assert await listed(auditor(service, "53")) == ["base-km"]
    assert await listed(auditor(service, "52")) == []
    assert await listed(auditor(service, "5301")) == []  # funding is provincial
    for path in ("/plans/base-km", "/bases/base-km/funding", "/plans?base_id=base-km"):
        assert (await service.client.get(path, headers=auditor(service, "53"))).status_code == 200
        hidden = await service.client.get(path, headers=auditor(service, "52"))
        assert hidden.status_code == 404, (path, hidden.text)
    figures = await service.client.get("/reconciliation", headers=auditor(service, "52"))
    assert figures.json()["bases"] == []


async def test_plans_come_in_pages_with_a_cursor(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-a", "base-b", "base-c")

    first = await service.client.get("/plans?limit=2", headers=finance(service))
    cursor = first.json()["next_cursor"]
    rest = await service.client.get(
        "/plans", params={"limit": 2, "cursor": cursor}, headers=finance(service)
    )

    assert [p["base_id"] for p in first.json()["items"]] == ["base-a", "base-b"]
    assert [p["base_id"] for p in rest.json()["items"]] == ["base-c"]
    assert rest.json()["next_cursor"] is None


async def test_the_reconciliation_s_bases_come_whole_in_pages_under_one_total(
    service: RunningService, upstream: Upstream
) -> None:
    await designated(service, upstream, "base-a", "base-b", "base-c")
    whole = (await service.client.get("/reconciliation", headers=finance(service))).json()

    pages = await every_page(
        service.client, "/reconciliation", finance(service), items="bases", limit=2
    )

    assert [[b["base_id"] for b in page] for page in pages] == [["base-a", "base-b"], ["base-c"]]
    assert [b for page in pages for b in page] == whole["bases"]
    first = await service.client.get("/reconciliation?limit=1", headers=finance(service))
    assert first.json()["total"] == whole["total"]
    await assert_limits_refused(service.client, "/reconciliation", finance(service), cursor=None)
    await assert_limits_refused(service.client, "/plans", finance(service))


@pytest.mark.parametrize(
    "query",
    [
        "/plans?limit=0",
        "/plans?limit=101",
        "/plans?cursor=not-a-cursor",
        "/plans?cursor=2022-06-15~a.b",
        "/feed?after=10181512119119331328",
        "/feed?after=9223372036854775808",
        "/feed?after=-1",
        "/feed?limit=99999999999999999999",
    ],
)
async def test_out_of_range_parameters_are_a_422_never_a_500(
    service: RunningService, query: str
) -> None:
    response = await service.client.get(query, headers=finance(service))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_largest_cursor_is_accepted_and_reads_nothing(service: RunningService) -> None:
    response = await service.client.get(f"/feed?after={2**63 - 1}", headers=auditor(service))

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
