"""The application service's lists come in pages: whole across pages, in order, no repeats;
`limit` outside 1–100 is a 422 problem detail."""

from __future__ import annotations

import pytest

from shared.testkit.pages import assert_limits_refused, every_page
from shared.testkit.service import RunningService

from .support import officer, open_call, register_unit, reviewer


async def test_the_calls_come_whole_in_pages_by_id(service: RunningService) -> None:
    opened = sorted([await open_call(service) for _ in range(5)])

    pages = await every_page(service.client, "/calls", officer(service), limit=2)

    assert [[c["call_id"] for c in page] for page in pages] == [
        opened[:2],
        opened[2:4],
        opened[4:],
    ]


async def test_the_units_come_whole_in_pages_by_id(service: RunningService) -> None:
    units = [f"unit-km-{n}" for n in range(5)]
    for unit in units:
        await register_unit(service, unit, verify=False)
    headers = reviewer(service, "prefecture_reviewer", "5301")

    pages = await every_page(service.client, "/units", headers, status="pending", limit=2)

    assert [[u["unit_id"] for u in page] for page in pages] == [units[:2], units[2:4], units[4:]]


@pytest.mark.parametrize(
    "path", ["/applications", "/calls", "/units", "/bases", "/audit/dead-letters"]
)
async def test_a_limit_out_of_bounds_is_a_422(service: RunningService, path: str) -> None:
    headers = service.auth("auditor", user="auditor", jurisdictions=["CN"])
    await assert_limits_refused(
        service.client, path, headers, cursor="cursor" if path.startswith("/audit") else None
    )
