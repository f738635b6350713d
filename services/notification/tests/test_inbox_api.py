"""The inbox and preferences over HTTP: paging, read marks, one person's inbox never
another's, and every bad input a 4xx problem that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from shared.testkit.service import RunningService

from .conftest import UNIT, Upstream, inbox_when, known, person


async def test_the_inbox_pages_newest_first_and_keeps_read_marks(
    service: RunningService, upstream: Upstream
) -> None:
    reviewer = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",))
    await known(service, reviewer)
    for n in range(5):
        await upstream.review_opened(f"case-{n}")
    await inbox_when(service, reviewer, 5)

    first = (await service.client.get("/inbox", params={"limit": 2}, headers=reviewer)).json()
    assert [i["case_id"] for i in first["items"]] == ["case-4", "case-3"]
    rest = await service.client.get(
        "/inbox", params={"limit": 10, "cursor": first["next_cursor"]}, headers=reviewer
    )
    assert [i["case_id"] for i in rest.json()["items"]] == ["case-2", "case-1", "case-0"]
    assert rest.json()["next_cursor"] is None

    item = first["items"][0]["notification_id"]
    marked = await service.client.post(f"/inbox/{item}/read", headers=reviewer)
    assert marked.status_code == 200
    assert marked.json()["read_at"] is not None
    again = await service.client.post(f"/inbox/{item}/read", headers=reviewer)
    assert again.json()["read_at"] == marked.json()["read_at"]
    unread = await service.client.get("/inbox", params={"unread": "true"}, headers=reviewer)
    assert [i["case_id"] for i in unread.json()["items"]] == [
        "case-3",
        "case-2",
        "case-1",
        "case-0",
    ]


async def test_one_person_never_sees_or_marks_anothers_inbox(
    service: RunningService, upstream: Upstream
) -> None:
    owner = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",))
    other = person(service, "wang", "prefecture_reviewer", jurisdictions=("5301",))
    await known(service, owner)
    await upstream.review_opened("case-1")
    (item,) = await inbox_when(service, owner, 1)
    assert (await service.client.get("/inbox", headers=other)).json()["items"] == []
    refused = await service.client.post(f"/inbox/{item['notification_id']}/read", headers=other)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    (still,) = await inbox_when(service, owner, 1)
    assert still["read_at"] is None
    assert (await service.client.get("/inbox")).status_code == 401
    assert (await service.client.get("/preferences")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"email_enabled": True, "language": "fr"},
        {"email_enabled": "maybe", "language": "zh"},
        {"email_enabled": 0, "language": "zh"},
        {"email_enabled": True, "language": "zh", "opt_out": ["rectification_ordered"]},
        {"email_enabled": True, "language": "zh", "opt_out": ["no_such_kind"]},
        {"email_enabled": True, "language": "zh", "digest": "daily"},  # not a reviewer
        {"email_enabled": True, "language": "zh", "digest": "weekly"},
        {"email_enabled": True, "language": "zh", "extra": 1},
        {"email_enabled": True},
        [],
    ],
)
async def test_bad_preferences_are_refused_and_change_nothing(
    service: RunningService, body: object
) -> None:
    applicant = person(service, "zhang", "applicant", org=UNIT)
    before = (await service.client.get("/preferences", headers=applicant)).json()
    refused = await service.client.put("/preferences", json=body, headers=applicant)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await service.client.get("/preferences", headers=applicant)).json() == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/inbox", {"limit": 0}),
        ("/inbox", {"limit": 101}),
        ("/inbox", {"cursor": "not-a-cursor"}),
        ("/inbox", {"unread": "perhaps"}),
    ],
)
async def test_bad_inbox_queries_are_422(
    service: RunningService, path: str, params: dict[str, Any]
) -> None:
    reader = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",))
    refused = await service.client.get(path, params=params, headers=reader)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


async def test_a_malformed_item_id_is_a_problem(service: RunningService) -> None:
    reader = person(service, "li", "prefecture_reviewer", jurisdictions=("5301",))
    for bad in ("XYZ", "a" * 65):
        refused = await service.client.post(f"/inbox/{bad}/read", headers=reader)
        assert refused.status_code in (404, 422)
        assert refused.headers["content-type"] == "application/problem+json"
