"""Path parameters are checked against their format: 422 when malformed, 404 when unknown."""

from __future__ import annotations

import pytest

from shared.testkit.service import RunningService

from .support import applicant, submitted


@pytest.mark.parametrize("sha", ["abc", "G" * 64, "A" * 64, "0" * 65])
async def test_a_malformed_file_digest_is_a_422(service: RunningService, sha: str) -> None:
    application_id = await submitted(service)

    read = await service.client.get(
        f"/applications/{application_id}/files/{sha}", headers=applicant(service)
    )

    assert read.status_code == 422, read.text


async def test_a_well_formed_unknown_digest_is_a_404(service: RunningService) -> None:
    application_id = await submitted(service)

    read = await service.client.get(
        f"/applications/{application_id}/files/{'0' * 64}", headers=applicant(service)
    )

    assert read.status_code == 404, read.text


@pytest.mark.parametrize("raw", ["%3E", "a%20b", "a%00b", "a.b", "%2A"])
@pytest.mark.parametrize("route", ["/applications/{}", "/calls/{}", "/units/{}"])
async def test_a_malformed_id_is_a_422_and_a_well_formed_unknown_one_a_404(
    service: RunningService, raw: str, route: str
) -> None:
    headers = applicant(service)

    malformed = await service.client.get(route.format(raw), headers=headers)
    unknown = await service.client.get(route.format("01J0ABCDEFGHJKMNPQRSTVWXYZ"), headers=headers)

    assert malformed.status_code == 422, malformed.text
    assert malformed.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404, unknown.text


async def test_a_json_body_over_the_limit_is_a_413_and_appends_nothing(
    service: RunningService,
) -> None:
    officer = service.auth("province_reviewer", user="mao", jurisdictions=["53"])
    huge = b'{"province": "53", "title": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    refused = await service.client.post(
        "/calls", content=huge, headers={**officer, "Content-Type": "application/json"}
    )

    assert refused.status_code == 413, refused.text
    assert refused.json()["type"].endswith("/body-too-large")
    assert await service.kernel.store.read_all() == []


async def test_a_nul_in_a_query_or_a_body_is_a_422_on_every_database(
    service: RunningService,
) -> None:
    officer = service.auth("province_reviewer", user="mao", jurisdictions=["53"])
    call = {"province": "53", "year": 2022, "title": "a\x00b", "deadline_on": "2022-04-30"}

    listed = await service.client.get("/calls?cursor=a%00b", headers=applicant(service))
    opened = await service.client.post("/calls", json=call, headers=officer)

    assert listed.status_code == 422, listed.text
    assert opened.status_code == 422, opened.text
    assert await service.kernel.store.read_all() == []
