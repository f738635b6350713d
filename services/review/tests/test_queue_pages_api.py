"""The work queue comes in pages: each list at most `limit` items, with its own cursor."""

from __future__ import annotations

import pytest

from shared.testkit.service import RunningService

from .scenario import KUNMING, Application, review_of


async def test_the_queue_pages_through_its_reviews_with_a_cursor(
    service: RunningService,
) -> None:
    apps = [Application(route="via_prefecture", jurisdiction="530102") for _ in range(3)]
    for app in apps:
        await app.submit(service)
        await review_of(service, app)

    async def queue(**params: str | int) -> dict[str, object]:
        read = await service.client.get("/queue", params=params, headers=KUNMING.headers(service))
        assert read.status_code == 200, read.text
        body: dict[str, object] = read.json()
        return body

    everything = await queue()
    first = await queue(limit=2)
    cursors = first["next_cursors"]
    assert isinstance(cursors, dict)
    rest = await queue(limit=2, reviews_cursor=cursors["reviews"])

    def ids(page: dict[str, object]) -> list[str]:
        reviews = page["reviews"]
        assert isinstance(reviews, list)
        return [r["review_id"] for r in reviews]

    assert sorted(ids(everything)) == sorted(app.review_id for app in apps)
    assert ids(first) + ids(rest) == ids(everything)
    assert len(ids(first)) == 2
    assert rest["next_cursors"] == {"reviews": None, "renewals": None, "rankings": None}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=99999999999999999999",
        "reviews_cursor=a.b",
        "reviews_cursor=x",
    ],
)
async def test_out_of_range_queue_parameters_are_a_422(service: RunningService, query: str) -> None:
    read = await service.client.get(f"/queue?{query}", headers=KUNMING.headers(service))

    assert read.status_code == 422, read.text
    assert read.headers["content-type"] == "application/problem+json"
